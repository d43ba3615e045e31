# private to this collection; no compatibility guarantees
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Just enough of Redis's protocol (RESP2) to tell whether a Redis can be the GCS store of a Ray head: it answers,
it takes the password, it keeps what it is given (append-only file or snapshots). Python's standard library only:
the head's node needs no Redis client installed."""

from __future__ import annotations

import socket

from ansible_collections.wizardsofts.ray.plugins.module_utils import _deadline, _tcp_probe


class RedisError(Exception):
    """Redis answered with an error (`-ERR ...`, `-WRONGPASS ...`): the text, without the leading dash."""


class ProtocolError(Exception):
    """What came back is not Redis's protocol: something else listens on the port."""


def encode(*args):
    """A command as RESP2 sends it: an array of bulk strings."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode("utf-8")
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class Connection(object):
    """One TCP connection to a Redis; every read and write bounded by `timeout` seconds."""

    def __init__(self, host, port, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _line(self):
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ProtocolError("the connection was closed in the middle of an answer")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _exactly(self, size):
        while len(self.buffer) < size + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ProtocolError("the connection was closed in the middle of an answer")
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size + 2:]
        return data

    def read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode("utf-8", "replace")
        if kind == b"-":
            raise RedisError(rest.decode("utf-8", "replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            return None if size < 0 else self._exactly(size).decode("utf-8", "replace")
        if kind == b"*":
            size = int(rest)
            return None if size < 0 else [self.read() for _index in range(size)]
        raise ProtocolError("the answer %r is not Redis's protocol" % line[:40])

    def command(self, *args):
        self.sock.sendall(encode(*args))
        return self.read()


def parse_info(text):
    """`INFO`'s answer as a dict (section headers and blank lines dropped)."""
    info = {}
    for line in (text or "").splitlines():
        if line and not line.startswith("#") and ":" in line:
            key, value = line.split(":", 1)
            info[key.strip()] = value.strip()
    return info


def persistence(info, save):
    """(persistent, how): whether Redis keeps its data across its own restart, from INFO persistence and
    `CONFIG GET save` (None when CONFIG is not allowed, as on some managed Redis services)."""
    ways = []
    if info.get("aof_enabled") == "1":
        ways.append("append-only file")
    if save:
        ways.append("snapshots (save %s)" % save)
    if ways:
        return True, " and ".join(ways)
    if save is None and info.get("aof_enabled") is None:
        return None, "unknown: neither INFO persistence nor CONFIG GET save answered"
    return False, "neither an append-only file (appendonly no) nor snapshots (save \"\")"


# Errors that no wait will fix: the password is wrong or missing.
AUTH_ERRORS = ("WRONGPASS", "NOAUTH", "ERR invalid password", "ERR AUTH", "ERR Client sent AUTH")


def _is_auth_error(text):
    return any(text.startswith(prefix) for prefix in AUTH_ERRORS)


class Report(object):
    """What one try found: state is `ok`, `auth` (refused the password: terminal), `not_redis` (terminal), or a
    `_tcp_probe` state (`refused`, `filtered`, `no_route`, `dns_error`) while Redis is not reachable yet."""

    def __init__(self, state, detail, version=None, persistent=None, persistence_detail=None):
        self.state = state
        self.detail = detail
        self.version = version
        self.persistent = persistent
        self.persistence_detail = persistence_detail

    @property
    def terminal(self):
        return self.state in ("ok", "auth", "not_redis")

    def as_dict(self):
        return {"state": self.state, "detail": self.detail, "version": self.version, "persistent": self.persistent,
                "persistence": self.persistence_detail}


def check_once(host, port, password, timeout):
    """One try: connect, AUTH, PING, then what Redis says of its version and persistence."""
    probe = _tcp_probe.probe_tcp(host, port, timeout)
    if probe.state != _tcp_probe.LISTENING:
        return Report(probe.state, probe.detail)
    try:
        with Connection(host, port, timeout) as redis:
            if password:
                try:
                    redis.command("AUTH", password)
                except RedisError as error:
                    return Report("auth", "Redis refused the password: %s" % error)
            try:
                pong = redis.command("PING")
            except RedisError as error:
                if _is_auth_error(str(error)):
                    return Report("auth", "Redis wants a password (%s)" % error)
                return Report("not_redis", "PING was answered with an error: %s" % error)
            if pong != "PONG":
                return Report("not_redis", "PING was answered with %r, not PONG" % (pong,))
            server = parse_info(redis.command("INFO", "server"))
            info = parse_info(redis.command("INFO", "persistence"))
            try:
                answer = redis.command("CONFIG", "GET", "save")
                save = answer[1] if isinstance(answer, list) and len(answer) == 2 else ""
            except RedisError:
                save = None
    except ProtocolError as error:
        return Report("not_redis", "something that is not Redis answers there: %s" % error)
    except (socket.timeout, OSError) as error:
        return Report("filtered", "no complete answer within %.1f s (%s)" % (timeout, error))
    persistent, how = persistence(info, save)
    return Report("ok", "Redis %s answers and takes the password" % server.get("redis_version", "(version unknown)"),
                  version=server.get("redis_version"), persistent=persistent, persistence_detail=how)


def wait_for(host, port, password, timeout, sleep=0.5, connect_timeout=3.0):
    """Try until Redis answers (or refuses the password) or the deadline passes: (Report, PollResult)."""
    def attempt(deadline):
        report = check_once(host, port, password, deadline.try_timeout(connect_timeout))
        return report.terminal, report
    result = _deadline.poll(attempt, timeout, sleep)
    return result.value, result
