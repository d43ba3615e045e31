# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Docker Engine API client against a fake engine served over a real unix socket.

FakeDockerEngine answers the Engine API v1.41 endpoints the collection uses, the way Docker 20.10+ does (statuses,
{"message": ...} errors, 304 for a start of a running or a stop of a stopped container, the multiplexed log stream
with 8-byte frame headers sent chunked, an exec's output sent without a length on a connection closed at its end),
and keeps its containers in a dict. An exec runs its command for real, on this machine, with the container's
environment (plus exec_env). test_ray_container.py loads it from this file.
"""

from __future__ import annotations

import hashlib
import http.server
import itertools
import json
import os
import re
import shutil
import socket
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from ansible_collections.wizardsofts.ray.plugins.module_utils._docker_api import (
    DockerAPI,
    DockerAPIError,
    demultiplex,
    since_value,
)

API_PREFIX = '/v1.41'
STDOUT, STDERR = 1, 2
# Marks an answer the handler writes on the bare connection (an exec's output).
RAW = b'\0raw\0'


class _UnixHTTPServer(http.server.ThreadingHTTPServer):
    address_family = socket.AF_UNIX
    daemon_threads = True

    def server_bind(self):
        # HTTPServer.server_bind wants a (host, port) address; a unix socket has a path.
        socketserver.TCPServer.server_bind(self)
        self.server_name = 'localhost'
        self.server_port = 0


class EngineAnswer(Exception):
    """An error answer of the fake engine: status and Docker's {"message": ...} body."""

    def __init__(self, status, message):
        super(EngineAnswer, self).__init__(message)
        self.status = status
        self.message = message


def frames(entries):
    """Docker's multiplexed stream: per entry an 8-byte header (stream, 0, 0, 0, big-endian size) and the bytes."""
    return b''.join(struct.pack('>BxxxL', stream, len(data)) + data for stream, data in entries)


class FakeDockerEngine(object):
    """A Docker engine on a unix socket in a temporary directory, with containers in a dict.

    requests logs (method, path without the API prefix, query dict, JSON body or None) of every request;
    writes() are the ones that are not GET. add_image(name, log=[(stream, line), ...]) makes an image known; every
    start of a container from it appends those lines to the container's log, as the process would print them.
    on_change(engine) is called after every change of a container's state. fail[(method, action)] = (status,
    message) makes that request fail, action being e.g. 'create', 'start', 'rename', 'update', 'exec'.
    execs lists (container name, argv, exit code) of every command run with exec; exec_env is added to their
    environment.
    """

    def __init__(self):
        self.directory = tempfile.mkdtemp(prefix='wsray-docker-')
        self.socket_path = os.path.join(self.directory, 'docker.sock')
        self.containers = {}
        self.images = {}
        self.requests = []
        self.bodies_content_types = []
        self.fail = {}
        self.on_change = None
        self.starts = 0
        self.execs = []
        self.exec_env = {}
        self._exec_runs = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._server = _UnixHTTPServer(self.socket_path, self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs=dict(poll_interval=0.05),
                                        daemon=True)
        self._thread.start()

    def close(self):
        self._server.shutdown()
        self._server.server_close()
        shutil.rmtree(self.directory, ignore_errors=True)

    # ------------------------------------------------------------------ test set-up and inspection

    def add_image(self, name, log=(), healthy=True, tty=False, restarts=0):
        """restarts: how often Docker's restart policy restarted a container of this image right after its start
        (a Ray that exits at once on a flag it does not know)."""
        self.images[name] = {'Id': 'sha256:' + hashlib.sha256(name.encode()).hexdigest(), 'RepoTags': [name],
                             'log': list(log), 'healthy': healthy, 'tty': tty, 'restarts': restarts}

    def add_container(self, name, image, labels=None, running=True, env=()):
        """A container as an earlier run left it (not in the request log)."""
        with self._lock:
            container = self._new_container(name, {'Image': image, 'Labels': dict(labels or {}), 'Env': list(env)})
            if running:
                container['State'].update(Status='running', Running=True, StartedAt='2026-11-26T10:00:00Z')
            else:
                container['State'].update(Status='exited', ExitCode=0)
            self._changed()
            return container['Id']

    def writes(self):
        return [(method, path) for method, path, _query, _body in self.requests if method != 'GET']

    def by_name(self, name):
        for container in self.containers.values():
            if container['Name'] == '/' + name:
                return container
        return None

    def names(self):
        return sorted(container['Name'].lstrip('/') for container in self.containers.values())

    # ------------------------------------------------------------------ the engine

    def _new_container(self, name, config):
        ident = hashlib.sha256(('container-%d' % next(self._ids)).encode()).hexdigest()
        image = self.images.get(config.get('Image'), {})
        container = {
            'Id': ident,
            'Name': '/' + name,
            'Created': '2026-11-26T10:00:00Z',
            'Image': image.get('Id'),
            'Config': {
                'Image': config.get('Image'),
                'Cmd': config.get('Cmd'),
                'Env': config.get('Env') or [],
                'Labels': config.get('Labels') or {},
                'User': config.get('User', ''),
                'Tty': bool(config.get('Tty', image.get('tty', False))),
                'StopTimeout': config.get('StopTimeout'),
            },
            'HostConfig': config.get('HostConfig') or {},
            'State': {'Status': 'created', 'Running': False, 'Paused': False, 'Restarting': False, 'ExitCode': 0,
                      'StartedAt': '0001-01-01T00:00:00Z'},
            'log': [],
        }
        self.containers[ident] = container
        return container

    def _changed(self):
        if self.on_change is not None:
            self.on_change(self)

    def _find(self, ref):
        for container in self.containers.values():
            if container['Name'] == '/' + ref or container['Id'] == ref:
                return container
        matches = [container for container in self.containers.values() if container['Id'].startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        raise EngineAnswer(404, 'No such container: %s' % ref)

    def _name_taken(self, name):
        taken = self.by_name(name)
        if taken is not None:
            raise EngineAnswer(409, 'Conflict. The container name "/%s" is already in use by container "%s". You '
                                    'have to remove (or rename) that container to be able to reuse that name.'
                               % (name, taken['Id']))

    def _check_fail(self, method, action):
        if (method, action) in self.fail:
            status, message = self.fail[(method, action)]
            raise EngineAnswer(status, message)

    def answer(self, method, raw_path, body):
        """(status, content_type, body bytes, list of chunks, or RAW + bytes) for one request."""
        parts = urlsplit(raw_path)
        if not parts.path.startswith(API_PREFIX + '/'):
            raise EngineAnswer(400, 'this fake engine only answers under %s, got %s' % (API_PREFIX, parts.path))
        path = parts.path[len(API_PREFIX):]
        query = dict((key, values[-1]) for key, values in parse_qs(parts.query).items())
        with self._lock:
            self.requests.append((method, path, query, body))
            started = re.match(r'^/exec/([^/]+)/start$', path)
            if not (started and method == 'POST'):
                return self._route(method, path, query, body)
            run = self._exec_runs.get(unquote(started.group(1)))
            if run is None:
                raise EngineAnswer(404, 'No such exec instance: %s' % started.group(1))
        # The command runs outside the lock, as long as it takes, like a real one.
        return self._exec_start(run)

    def _exec_start(self, run):
        container = self.containers[run['container']]
        env = dict(item.split('=', 1) for item in container['Config']['Env'])
        env.update(self.exec_env)
        env.setdefault('PATH', os.environ.get('PATH', '/usr/bin:/bin'))
        process = subprocess.run(run['argv'], env=env, capture_output=True, timeout=120, check=False)
        run.update(Running=False, ExitCode=process.returncode)
        self.execs.append((container['Name'].lstrip('/'), run['argv'], process.returncode))
        return 200, 'application/vnd.docker.raw-stream', RAW + frames(
            [(STDOUT, process.stdout), (STDERR, process.stderr)])

    def _route(self, method, path, query, body):
        if (method, path) == ('GET', '/_ping'):
            return 200, 'text/plain; charset=utf-8', b'OK'
        if (method, path) == ('GET', '/version'):
            return self._json({'Version': '27.3.1', 'ApiVersion': '1.47', 'MinAPIVersion': '1.24',
                               'Os': 'linux', 'Arch': 'amd64'})
        if (method, path) == ('GET', '/info'):
            return self._json({'NCPU': 4, 'MemTotal': 16 * 2 ** 30, 'CgroupDriver': 'systemd',
                               'Containers': len(self.containers)})
        if (method, path) == ('GET', '/containers/json'):
            return self._json(self._list(query))
        if (method, path) == ('POST', '/containers/create'):
            self._check_fail(method, 'create')
            return self._create(query.get('name'), body)
        match = re.match(r'^/images/(.+)/json$', path)
        if match and method == 'GET':
            name = unquote(match.group(1))
            if name not in self.images:
                raise EngineAnswer(404, 'No such image: %s' % name)
            image = self.images[name]
            return self._json({'Id': image['Id'], 'RepoTags': image['RepoTags']})
        match = re.match(r'^/exec/([^/]+)/json$', path)
        if match and method == 'GET':
            run = self._exec_runs.get(unquote(match.group(1)))
            if run is None:
                raise EngineAnswer(404, 'No such exec instance: %s' % match.group(1))
            return self._json({'ID': match.group(1), 'Running': run['Running'], 'ExitCode': run['ExitCode']})
        match = re.match(r'^/containers/([^/]+)(?:/(json|start|stop|rename|logs|update|exec))?$', path)
        if not match:
            raise EngineAnswer(404, 'page not found')
        ref, action = unquote(match.group(1)), match.group(2)
        if method == 'DELETE' and action is None:
            self._check_fail(method, 'remove')
            return self._remove(self._find(ref), query.get('force') in ('1', 'true', 'True'))
        if method == 'GET' and action == 'json':
            return self._json(self._public(self._find(ref)))
        if method == 'GET' and action == 'logs':
            return self._logs(self._find(ref), query)
        if method == 'POST' and action in ('start', 'stop', 'rename'):
            self._check_fail(method, action)
            return getattr(self, '_' + action)(self._find(ref), query)
        if method == 'POST' and action in ('update', 'exec'):
            self._check_fail(method, action)
            return getattr(self, '_' + action)(self._find(ref), body)
        raise EngineAnswer(405, 'method not allowed')

    @staticmethod
    def _json(document, status=200):
        return status, 'application/json', json.dumps(document).encode()

    @staticmethod
    def _public(container):
        return dict((key, value) for key, value in container.items() if key != 'log')

    def _list(self, query):
        wanted = json.loads(query.get('filters') or '{}').get('label') or []
        found = []
        for container in self.containers.values():
            if query.get('all') not in ('1', 'true') and not container['State']['Running']:
                continue
            labels = container['Config']['Labels']
            if not all(self._label_matches(labels, rule) for rule in wanted):
                continue
            found.append({'Id': container['Id'], 'Names': [container['Name']], 'Image': container['Config']['Image'],
                          'Labels': labels, 'State': container['State']['Status'],
                          'Status': 'Up 5 minutes' if container['State']['Running'] else 'Exited (0)'})
        return found

    @staticmethod
    def _label_matches(labels, rule):
        key, equals, value = rule.partition('=')
        return key in labels and (not equals or labels[key] == value)

    def _create(self, name, body):
        if not name:
            raise EngineAnswer(400, 'this fake engine needs ?name=')
        self._name_taken(name)
        if body is None or body.get('Image') not in self.images:
            raise EngineAnswer(404, 'No such image: %s' % (body or {}).get('Image'))
        container = self._new_container(name, body)
        self._changed()
        return self._json({'Id': container['Id'], 'Warnings': []}, status=201)

    def _start(self, container, _query):
        if container['State']['Running']:
            return 304, None, b''
        self.starts += 1
        now = time.time()
        container['State'].update(Status='running', Running=True, ExitCode=0,
                                  StartedAt=time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(now)) + '.%06dZ' % (now % 1 * 1e6))
        image = self.images.get(container['Config']['Image'], {})
        # Each line stamped with the time it was written: this run's start (logs?since= keeps only this run's).
        container['log'].extend((stream, line.encode(), now)
                                for stream, line in image.get('log', []) * (1 + image.get('restarts', 0)))
        if image.get('restarts'):
            container['RestartCount'] = image['restarts']
            container['State'].update(Restarting=True, ExitCode=2)
        self._changed()
        return 204, None, b''

    def _stop(self, container, _query):
        if not container['State']['Running']:
            return 304, None, b''
        container['State'].update(Status='exited', Running=False, ExitCode=0)
        self._changed()
        return 204, None, b''

    def _rename(self, container, query):
        self._name_taken(query['name'])
        container['Name'] = '/' + query['name']
        self._changed()
        return 204, None, b''

    def _update(self, container, body):
        if 'RestartPolicy' in body:
            container['HostConfig']['RestartPolicy'] = dict(body['RestartPolicy'])
        return self._json({'Warnings': []})

    def _exec(self, container, body):
        if not container['State']['Running']:
            raise EngineAnswer(409, 'Container %s is not running' % container['Id'])
        ident = hashlib.sha256(('exec-%d' % next(self._ids)).encode()).hexdigest()
        self._exec_runs[ident] = {'container': container['Id'], 'argv': list(body['Cmd']), 'Running': True,
                                  'ExitCode': None}
        return self._json({'Id': ident}, status=201)

    def _remove(self, container, force):
        if container['State']['Running'] and not force:
            raise EngineAnswer(409, 'You cannot remove a running container %s. Stop the container before '
                                    'attempting removal or force remove' % container['Id'])
        del self.containers[container['Id']]
        self._changed()
        return 204, None, b''

    def _logs(self, container, query):
        wanted = set(stream for stream, option in ((STDOUT, 'stdout'), (STDERR, 'stderr')) if query.get(option) == '1')
        since = float(query['since']) if 'since' in query else None
        entries = [(entry[0], entry[1]) for entry in container['log'] if entry[0] in wanted
                   and (since is None or (len(entry) > 2 and entry[2] >= since))]
        tail = query.get('tail', 'all')
        if tail != 'all':
            entries = entries[len(entries) - int(tail):] if int(tail) else []
        if container['Config']['Tty']:
            stream = b''.join(data for _stream, data in entries)
        else:
            stream = frames(entries)
        # Chunks that cut frame headers in two, as a real engine's chunked answer may.
        chunks = [stream[start:start + 5] for start in range(0, len(stream), 5)]
        return 200, 'application/vnd.docker.raw-stream', chunks

    def _handler_class(self):
        engine = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def _serve(self):
                length = int(self.headers.get('Content-Length') or 0)
                raw = self.rfile.read(length) if length else b''
                body = None
                if raw:
                    engine.bodies_content_types.append(self.headers.get('Content-Type'))
                    body = json.loads(raw)
                try:
                    status, content_type, payload = engine.answer(self.command, self.path, body)
                except EngineAnswer as exc:
                    status, content_type, payload = engine._json({'message': exc.message}, status=exc.status)
                if isinstance(payload, bytes) and payload.startswith(RAW):
                    # What the engine does for an exec: it takes the connection over, writes a status line and a
                    # content type of its own, streams the output and closes the connection.
                    self.close_connection = True
                    self.wfile.write(b'HTTP/1.1 200 OK\r\nContent-Type: %s\r\n\r\n' % content_type.encode())
                    self.wfile.write(payload[len(RAW):])
                    return
                self.send_response(status)
                if status in (204, 304):
                    self.end_headers()
                    return
                self.send_header('Content-Type', content_type)
                if isinstance(payload, list):
                    self.send_header('Transfer-Encoding', 'chunked')
                    self.end_headers()
                    for chunk in payload:
                        self.wfile.write(b'%x\r\n%s\r\n' % (len(chunk), chunk))
                    self.wfile.write(b'0\r\n\r\n')
                    return
                self.send_header('Content-Length', str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = _serve  # noqa: N815 (http.server's naming)

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def engine():
    fake = FakeDockerEngine()
    yield fake
    fake.close()


@pytest.fixture
def api(engine):
    return DockerAPI(engine.socket_path, timeout=5)


# ----------------------------------------------------------------------------- engine

def test_ping_and_version(api, engine):
    assert api.ping() is True
    assert api.version()['ApiVersion'] == '1.47'
    assert api.info()['NCPU'] == 4
    assert [(method, path) for method, path, _query, _body in engine.requests] == [
        ('GET', '/_ping'), ('GET', '/version'), ('GET', '/info')]


def test_docker_host_style_socket_address_is_accepted(engine):
    assert DockerAPI('unix://' + engine.socket_path).ping() is True


def test_ping_is_false_without_a_socket_and_never_raises(tmp_path):
    assert DockerAPI(str(tmp_path / 'missing.sock')).ping() is False


def test_ping_is_false_when_the_socket_refuses(tmp_path):
    # A bound unix socket nobody listens on refuses connections (ECONNREFUSED).
    path = str(tmp_path / 'dead.sock')
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    try:
        assert DockerAPI(path).ping() is False
        with pytest.raises(DockerAPIError) as error:
            DockerAPI(path).version()
        assert error.value.status is None
        assert 'refused the connection' in str(error.value)
    finally:
        sock.close()


def test_missing_socket_is_a_readable_error(tmp_path):
    path = str(tmp_path / 'missing.sock')
    with pytest.raises(DockerAPIError) as error:
        DockerAPI(path).version()

    assert error.value.status is None
    assert str(error.value) == 'GET /version: no Docker engine socket at %s (is Docker installed and running?)' % path


def test_engine_that_never_answers_times_out(tmp_path):
    path = str(tmp_path / 'silent.sock')
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(4)
    try:
        started = time.monotonic()
        with pytest.raises(DockerAPIError) as error:
            DockerAPI(path, timeout=0.3).version()
        assert time.monotonic() - started < 3
        assert 'did not answer in time' in str(error.value)
    finally:
        listener.close()


# ----------------------------------------------------------------------------- containers

def test_inspect_of_a_missing_container_is_none(api):
    assert api.inspect_container('ray-head') is None


def test_container_lifecycle(api, engine):
    engine.add_image('rayproject/ray:2.60.0')

    ident = api.create_container('ray-head', {'Image': 'rayproject/ray:2.60.0', 'Cmd': ['ray', 'start'],
                                              'Labels': {'io.wizardsofts.ray.config-hash': 'abc'}})
    assert api.inspect_container('ray-head')['Id'] == ident
    assert api.inspect_container(ident)['State']['Running'] is False

    api.start_container(ident)
    api.start_container(ident)  # already running: 304, not an error
    assert api.inspect_container('ray-head')['State']['Running'] is True

    api.stop_container(ident, 5)
    api.stop_container(ident, 5)  # already stopped: 304
    assert api.inspect_container('ray-head')['State']['Status'] == 'exited'

    api.rename_container(ident, 'ray-head-previous')
    assert api.inspect_container('ray-head') is None
    assert api.inspect_container('ray-head-previous')['Id'] == ident

    assert api.remove_container(ident) is True
    assert api.remove_container(ident) is False
    assert engine.containers == {}
    assert ('POST', '/containers/%s/stop' % ident, {'t': '5'}, None) in engine.requests
    assert ('DELETE', '/containers/%s' % ident, {'force': '1'}, None) in engine.requests


def test_body_dicts_are_sent_as_json(api, engine):
    engine.add_image('ray:1')

    api.create_container('n', {'Image': 'ray:1', 'Env': ['A=1']})

    method, path, query, body = engine.requests[-1]
    assert (method, path, query) == ('POST', '/containers/create', {'name': 'n'})
    assert body == {'Image': 'ray:1', 'Env': ['A=1']}
    assert engine.bodies_content_types == ['application/json']


def test_engine_errors_carry_status_and_message(api, engine):
    engine.add_image('ray:1')
    first = api.create_container('ray-head', {'Image': 'ray:1'})

    with pytest.raises(DockerAPIError) as error:
        api.create_container('ray-head', {'Image': 'ray:1'})

    assert error.value.status == 409
    assert error.value.message.startswith('Conflict. The container name "/ray-head" is already in use by container "%s"'
                                          % first)
    assert str(error.value).startswith('POST /containers/create: HTTP 409: Conflict.')


def test_missing_image_on_create_is_404_with_the_engines_message(api):
    with pytest.raises(DockerAPIError) as error:
        api.create_container('ray-head', {'Image': 'ray:missing'})

    assert error.value.status == 404
    assert error.value.message == 'No such image: ray:missing'


def test_removing_a_running_container_without_force_is_refused(api, engine):
    engine.add_image('ray:1')
    ident = engine.add_container('ray-head', 'ray:1')

    with pytest.raises(DockerAPIError) as error:
        api.remove_container(ident, force=False)

    assert error.value.status == 409
    assert 'cannot remove a running container' in error.value.message


def test_names_are_url_quoted(api, engine):
    assert api.inspect_container('odd name?x=1') is None

    _method, path, query, _body = engine.requests[-1]
    # Unquoted, the '?' would have started a query string.
    assert path == '/containers/odd%20name%3Fx%3D1/json'
    assert query == {}


def test_image_exists_keeps_repository_and_tag_readable(api, engine):
    engine.add_image('rayproject/ray:2.60.0-py311')

    assert api.image_exists('rayproject/ray:2.60.0-py311') is True
    assert api.image_exists('rayproject/ray:9.9.9') is False
    assert [path for _method, path, _query, _body in engine.requests] == [
        '/images/rayproject/ray:2.60.0-py311/json', '/images/rayproject/ray:9.9.9/json']


def test_list_containers_filters_on_a_label(api, engine):
    engine.add_image('ray:1')
    engine.add_container('ray-head', 'ray:1', labels={'io.wizardsofts.ray.config-hash': 'a'})
    engine.add_container('ray-worker', 'ray:1', labels={'io.wizardsofts.ray.config-hash': 'b'}, running=False)
    engine.add_container('other', 'ray:1')

    assert sorted(c['Names'][0] for c in api.list_containers(label='io.wizardsofts.ray.config-hash')) == [
        '/ray-head', '/ray-worker']
    assert [c['Names'][0] for c in api.list_containers(label='io.wizardsofts.ray.config-hash=b')] == ['/ray-worker']
    assert [c['Names'][0] for c in api.list_containers(all=False, label='io.wizardsofts.ray.config-hash')] == [
        '/ray-head']
    assert engine.requests[0][2] == {'all': '1', 'filters': '{"label": ["io.wizardsofts.ray.config-hash"]}'}


# ----------------------------------------------------------------------------- logs

def test_logs_of_a_container_without_tty_are_demultiplexed(api, engine):
    engine.add_image('ray:broken', log=[(STDOUT, 'Local node IP: 10.0.0.81\n'),
                                        (STDERR, 'ConnectionError: GCS at 10.0.0.84:6379 unreachable\n'),
                                        (STDOUT, 'exiting\n')])
    ident = api.create_container('ray-worker', {'Image': 'ray:broken'})
    api.start_container(ident)

    assert api.container_logs(ident) == ('Local node IP: 10.0.0.81\n'
                                         'ConnectionError: GCS at 10.0.0.84:6379 unreachable\n'
                                         'exiting\n')
    assert api.container_logs(ident, tail=1) == 'exiting\n'
    assert engine.requests[-1][2] == {'stdout': '1', 'stderr': '1', 'tail': '1'}


def test_logs_since_the_current_start_leave_out_the_earlier_runs(api, engine):
    engine.add_image('ray:1', log=[(STDOUT, 'Ray runtime started.\n')])
    ident = api.create_container('ray-worker', {'Image': 'ray:1'})
    api.start_container(ident)
    first_start = api.inspect_container(ident)['State']['StartedAt']
    api.stop_container(ident, 1)
    engine.images['ray:1']['log'] = [(STDERR, 'Failed to connect to GCS\n')]
    api.start_container(ident)
    since = since_value(api.inspect_container(ident)['State']['StartedAt'])

    assert api.container_logs(ident, tail='all') == 'Ray runtime started.\nFailed to connect to GCS\n'
    assert api.container_logs(ident, tail='all', since=since) == 'Failed to connect to GCS\n'
    assert engine.requests[-1][2] == {'stdout': '1', 'stderr': '1', 'tail': 'all', 'since': since}
    assert api.container_logs(ident, tail='all', since=since_value(first_start)) == api.container_logs(ident, tail='all')


@pytest.mark.parametrize('engine_time, since', [
    ('2026-12-02T04:40:01.123456789Z', '1796186401.123456789'),
    ('2026-12-02T04:40:01.5Z', '1796186401.500000000'),
    ('2026-12-02T04:40:01Z', '1796186401.000000000'),
    ('1970-01-01T00:00:00Z', '0.000000000'),
    # Never started, or written some other way: no since, so nothing is left out.
    ('0001-01-01T00:00:00Z', None),
    ('2026-12-02 04:40:01', None),
    ('', None),
    (None, None),
])
def test_since_value_from_the_engines_timestamps(engine_time, since):
    assert since_value(engine_time) == since


def test_logs_of_a_tty_container_are_raw(api, engine):
    engine.add_image('ray:tty', log=[(STDOUT, 'line one\n'), (STDOUT, 'line two\n')], tty=True)
    ident = api.create_container('ray-worker', {'Image': 'ray:tty'})
    api.start_container(ident)

    assert api.container_logs(ident) == 'line one\nline two\n'


def test_logs_keep_undecodable_bytes_readable(api, engine):
    engine.add_image('ray:1')
    ident = engine.add_container('ray-head', 'ray:1')
    engine.containers[ident]['log'] = [(STDERR, b'caf\xe9\n')]

    assert api.container_logs(ident, tty=False) == 'caf\ufffd\n'


def test_demultiplex_joins_frames_and_keeps_a_truncated_tail():
    stream = frames([(STDOUT, b'out\n'), (STDERR, b'err\n')])

    assert demultiplex(stream) == b'out\nerr\n'
    assert demultiplex(stream + b'\x01\x00\x00') == b'out\nerr\n\x01\x00\x00'
    assert demultiplex(b'') == b''


# ----------------------------------------------------------------------------- exec and update

def test_exec_run_returns_the_exit_code_and_both_streams(api, engine):
    engine.add_image('ray:1')
    ident = engine.add_container('ray-worker', 'ray:1', env=['RAY_AUTH_MODE=token'])
    program = 'import os, sys; print(os.environ["RAY_AUTH_MODE"]); sys.stderr.write("warned\\n"); sys.exit(3)'

    code, output = api.exec_run(ident, [sys.executable, '-c', program], timeout=30)

    assert code == 3
    # The command got the container's environment (the token settings), not one of its own.
    assert output == 'token\nwarned\n'
    exec_id = engine.requests[1][1].split('/')[2]
    assert [(method, path) for method, path, _query, _body in engine.requests] == [
        ('POST', '/containers/%s/exec' % ident), ('POST', '/exec/%s/start' % exec_id), ('GET', '/exec/%s/json' % exec_id)]
    assert engine.requests[0][3] == {'AttachStdin': False, 'AttachStdout': True, 'AttachStderr': True, 'Tty': False,
                                     'Cmd': [sys.executable, '-c', program]}
    assert engine.requests[1][3] == {'Detach': False, 'Tty': False}


def test_exec_in_a_stopped_container_is_the_engines_refusal(api, engine):
    engine.add_image('ray:1')
    ident = engine.add_container('ray-worker', 'ray:1', running=False)

    with pytest.raises(DockerAPIError) as error:
        api.exec_run(ident, ['true'], timeout=30)

    assert error.value.status == 409
    assert 'is not running' in error.value.message


def test_exec_that_outlasts_its_timeout_is_an_error_without_a_status(api, engine):
    engine.add_image('ray:1')
    ident = engine.add_container('ray-worker', 'ray:1')

    started = time.monotonic()
    with pytest.raises(DockerAPIError) as error:
        api.exec_run(ident, [sys.executable, '-c', 'import time; time.sleep(3)'], timeout=0.5)

    assert time.monotonic() - started < 2.5
    assert error.value.status is None
    assert 'did not answer in time' in str(error.value)


def test_update_restart_policy(api, engine):
    engine.add_image('ray:1')
    ident = engine.add_container('ray-worker', 'ray:1')

    api.update_restart_policy(ident, {'Name': 'on-failure', 'MaximumRetryCount': 5})

    assert engine.containers[ident]['HostConfig']['RestartPolicy'] == {'Name': 'on-failure', 'MaximumRetryCount': 5}
    assert engine.requests[-1] == ('POST', '/containers/%s/update' % ident, {},
                                   {'RestartPolicy': {'Name': 'on-failure', 'MaximumRetryCount': 5}})
