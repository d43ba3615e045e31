# private to this collection; no compatibility guarantees
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal Docker Engine API client on the standard library only (http.client over the engine's unix socket).

Every path is sent under API version 1.41, which Docker 20.10 and every newer engine accept. Shapes it relies on:
  GET  /_ping                          -> 200 "OK"
  GET  /version, /info                 -> JSON objects
  GET  /containers/json?all=1&filters= -> [container summary, ...]
  GET  /containers/NAME/json           -> the container (404 when there is none)
  POST /containers/create?name=NAME    -> 201 {"Id": ..., "Warnings": [...]}
  POST /containers/ID/start, /stop?t=N -> 204; 304 when it already runs / is already stopped
  POST /containers/ID/rename?name=NEW  -> 204
  POST /containers/ID/update           -> 200 {"Warnings": [...]} (here: a new RestartPolicy)
  POST /containers/ID/exec             -> 201 {"Id": EXEC}; POST /exec/EXEC/start {"Detach": false} -> 200 and the
                                       command's output in the 8-byte-header stream format until it ends (the engine
                                       takes the connection over, sends no length and closes it at the end);
                                       GET /exec/EXEC/json -> {"Running": ..., "ExitCode": ...}
  DELETE /containers/ID?force=1        -> 204
  GET  /containers/ID/logs?stdout=1&stderr=1&tail=N[&since=SECONDS.NANOS] -> the log, in the 8-byte-header stream
                                       format without a TTY; since keeps only lines written at or after that time
  GET  /images/NAME/json               -> the image (404 when it is not there)
Errors come back as 4xx/5xx with {"message": "..."}.
"""

from __future__ import annotations

import calendar
import json
import re
import socket
import struct
import time
from http.client import HTTPConnection, HTTPException
from urllib.parse import quote, urlencode

DEFAULT_SOCKET = '/var/run/docker.sock'
API_PREFIX = '/v1.41'
# Seconds the engine may take beyond a stop's grace period before the HTTP request is given up.
STOP_SLACK = 30.0
_STREAM_HEADER = struct.Struct('>BxxxL')
# The engine's timestamps (State.StartedAt): RFC 3339 in UTC with up to nanoseconds.
_ENGINE_TIME = re.compile(r'^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$')


def since_value(engine_time):
    """An engine timestamp ('2026-12-02T04:40:01.123456789Z') as the logs endpoint's since ('1796186401.123456789').

    None for a time the engine did not set ('0001-01-01T00:00:00Z') or one it does not write this way.
    """
    match = _ENGINE_TIME.match(engine_time or '')
    if not match or engine_time.startswith('0001-'):
        return None
    seconds = calendar.timegm(time.strptime(match.group(1), '%Y-%m-%dT%H:%M:%S'))
    return '%d.%s' % (seconds, (match.group(2) or '').ljust(9, '0'))


class DockerAPIError(Exception):
    """A request the engine refused (status is the HTTP status) or could not be sent (status None)."""

    def __init__(self, message, status=None, method=None, path=None):
        self.status = status
        self.message = message
        self.method = method
        self.path = path
        super(DockerAPIError, self).__init__(message)

    def __str__(self):
        where = '%s %s' % (self.method, self.path) if self.method else 'Docker engine'
        if self.status is None:
            return '%s: %s' % (where, self.message)
        return '%s: HTTP %d: %s' % (where, self.status, self.message)


def _quoted(name):
    # As docker-py does: a repository path and a tag stay readable (rayproject/ray:2.60.0).
    return quote(str(name), safe='/:')


def demultiplex(data):
    """The text of Docker's multiplexed log stream: frames of an 8-byte header (stream, 0, 0, 0, size) + payload.

    stdout and stderr frames are joined in the order the engine sent them. Bytes that do not form a frame (a
    truncated tail) are kept as they are.
    """
    chunks = []
    offset = 0
    while offset + _STREAM_HEADER.size <= len(data):
        stream, size = _STREAM_HEADER.unpack_from(data, offset)
        if stream not in (0, 1, 2):
            break
        start = offset + _STREAM_HEADER.size
        chunks.append(data[start:start + size])
        offset = start + size
    chunks.append(data[offset:])
    return b''.join(chunks)


def _looks_multiplexed(data):
    return len(data) >= _STREAM_HEADER.size and data[0] in (0, 1, 2) and data[1:4] == b'\0\0\0'


class _UnixHTTPConnection(HTTPConnection):
    """HTTPConnection that connects to a unix socket instead of a TCP address."""

    def __init__(self, socket_path, timeout):
        super(_UnixHTTPConnection, self).__init__('localhost', timeout=timeout)
        self.socket_path = socket_path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except Exception:
            sock.close()
            raise
        self.sock = sock


def _unreachable_message(socket_path, exc):
    if isinstance(exc, FileNotFoundError):
        return 'no Docker engine socket at %s (is Docker installed and running?)' % socket_path
    if isinstance(exc, ConnectionRefusedError):
        return 'the Docker engine at %s refused the connection (is dockerd running?)' % socket_path
    if isinstance(exc, PermissionError):
        return ('permission denied on %s: run as root (become: true) or as a member of the docker group'
                % socket_path)
    if isinstance(exc, socket.timeout) or 'timed out' in str(exc):
        return 'the Docker engine at %s did not answer in time' % socket_path
    return 'cannot talk to the Docker engine at %s: %s' % (socket_path, exc or type(exc).__name__)


class DockerAPI(object):
    """Client for the local Docker engine. Methods raise DockerAPIError unless they say otherwise."""

    def __init__(self, socket_path=DEFAULT_SOCKET, timeout=60.0):
        if socket_path.startswith('unix://'):
            socket_path = socket_path[len('unix://'):]
        self.socket_path = socket_path
        self.timeout = timeout

    # ------------------------------------------------------------------ the one request primitive

    def request(self, method, path, query=None, body=None, timeout=None):
        """Send one request; returns (status, data bytes).

        path is below the API version ('/containers/json'); query a dict (None values are left out); a body that
        is not bytes is sent as JSON. Answers 4xx/5xx raise DockerAPIError with the engine's message, as does a
        failure to reach the engine (status None). Other statuses are returned, 304 Not Modified included (start
        of a running container, stop of a stopped one).
        """
        url = API_PREFIX + path
        if query:
            items = [(key, value) for key, value in query.items() if value is not None]
            if items:
                url += '?' + urlencode(items)
        headers = {}
        payload = None
        if body is not None:
            if isinstance(body, bytes):
                payload = body
            else:
                payload = json.dumps(body).encode('utf-8')
                headers['Content-Type'] = 'application/json'
        connection = _UnixHTTPConnection(self.socket_path, self.timeout if timeout is None else timeout)
        try:
            connection.request(method, url, body=payload, headers=headers)
            response = connection.getresponse()
            status = response.status
            data = response.read()
        except (OSError, HTTPException) as exc:
            raise DockerAPIError(_unreachable_message(self.socket_path, exc), method=method, path=path)
        finally:
            connection.close()
        if status >= 400:
            raise DockerAPIError(self._engine_message(data, status), status=status, method=method, path=path)
        return status, data

    @staticmethod
    def _engine_message(data, status):
        text = data.decode('utf-8', 'replace').strip()
        try:
            answer = json.loads(text)
        except ValueError:
            answer = None
        if isinstance(answer, dict) and answer.get('message'):
            return str(answer['message'])
        return text or 'no message (HTTP %d)' % status

    def _json(self, method, path, query=None, body=None, timeout=None):
        _status, data = self.request(method, path, query=query, body=body, timeout=timeout)
        try:
            return json.loads(data.decode('utf-8'))
        except ValueError:
            raise DockerAPIError('the answer is not JSON: %r' % data[:120], method=method, path=path)

    # ------------------------------------------------------------------ engine

    def ping(self):
        """Whether the engine answers; False when the socket is missing, refused or denied. Never raises."""
        try:
            _status, data = self.request('GET', '/_ping')
        except (DockerAPIError, OSError):
            return False
        return data.strip() == b'OK'

    def version(self):
        """GET /version: {"Version": "27.3.1", "ApiVersion": "1.47", "MinAPIVersion": "1.24", ...}."""
        return self._json('GET', '/version')

    def info(self):
        """GET /info: the engine's system information (NCPU, MemTotal, CgroupDriver, ...)."""
        return self._json('GET', '/info')

    # ------------------------------------------------------------------ containers

    def inspect_container(self, name):
        """The container's full description, or None when no container has that name or ID."""
        try:
            return self._json('GET', '/containers/%s/json' % _quoted(name))
        except DockerAPIError as exc:
            if exc.status == 404:
                return None
            raise

    def list_containers(self, all=True, label=None):  # pylint: disable=redefined-builtin
        """Container summaries; label filters on 'key' or 'key=value'."""
        query = {'all': '1' if all else '0'}
        if label:
            query['filters'] = json.dumps({'label': [label]})
        return self._json('GET', '/containers/json', query=query)

    def create_container(self, name, config):
        """Create a container (not started) from a create body (Image, Cmd, Env, Labels, HostConfig, ...); its ID."""
        answer = self._json('POST', '/containers/create', query={'name': name}, body=config)
        return answer['Id']

    def start_container(self, ident):
        """Start; a container that already runs is left as it is."""
        self.request('POST', '/containers/%s/start' % _quoted(ident))

    def stop_container(self, ident, timeout):
        """Stop, with timeout seconds between SIGTERM and SIGKILL; a stopped container is left as it is."""
        self.request('POST', '/containers/%s/stop' % _quoted(ident), query={'t': int(timeout)},
                     timeout=max(self.timeout, timeout + STOP_SLACK))

    def rename_container(self, ident, new_name):
        self.request('POST', '/containers/%s/rename' % _quoted(ident), query={'name': new_name})

    def update_restart_policy(self, ident, policy):
        """Set a container's restart policy ({"Name": "no"}, or one read from HostConfig.RestartPolicy)."""
        self._json('POST', '/containers/%s/update' % _quoted(ident), body={'RestartPolicy': dict(policy)})

    def exec_run(self, ident, argv, timeout):
        """Run argv in the running container (its user, environment and working directory), without a TTY or stdin.

        Returns (exit code, or None when the engine does not know it yet; stdout and stderr as text). timeout bounds
        the whole run: a command still running then raises DockerAPIError (status None) and is left to end with
        the container.
        """
        created = self._json('POST', '/containers/%s/exec' % _quoted(ident),
                             body={'AttachStdin': False, 'AttachStdout': True, 'AttachStderr': True, 'Tty': False,
                                   'Cmd': list(argv)})
        exec_id = created['Id']
        _status, data = self.request('POST', '/exec/%s/start' % _quoted(exec_id), body={'Detach': False, 'Tty': False},
                                     timeout=timeout)
        if _looks_multiplexed(data):
            data = demultiplex(data)
        # The output ends when the command closed its streams, which is when it exits (or just before).
        state = self._json('GET', '/exec/%s/json' % _quoted(exec_id))
        code = None if state.get('Running') else state.get('ExitCode')
        return code, data.decode('utf-8', 'replace')

    def remove_container(self, ident, force=True):
        """Remove (force: even while it runs); True when removed, False when there was no such container."""
        try:
            self.request('DELETE', '/containers/%s' % _quoted(ident), query={'force': '1' if force else '0'})
        except DockerAPIError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def container_logs(self, ident, tail=40, tty=None, since=None):
        """The last tail lines (an int, or 'all') of the container's stdout and stderr, as text.

        Without a TTY the engine multiplexes both streams with 8-byte frame headers, which are removed here; with
        a TTY it sends the raw text. tty None asks the container's configuration. since (see since_value) keeps only
        what was written from then on, for example by the container's current run.
        """
        if tty is None:
            container = self.inspect_container(ident)
            tty = bool(((container or {}).get('Config') or {}).get('Tty'))
        query = {'stdout': '1', 'stderr': '1', 'tail': str(tail)}
        if since is not None:
            query['since'] = since
        _status, data = self.request('GET', '/containers/%s/logs' % _quoted(ident), query=query)
        if not tty and _looks_multiplexed(data):
            data = demultiplex(data)
        return data.decode('utf-8', 'replace')

    # ------------------------------------------------------------------ images

    def image_exists(self, name):
        try:
            self.request('GET', '/images/%s/json' % _quoted(name))
        except DockerAPIError as exc:
            if exc.status == 404:
                return False
            raise
        return True
