# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""gcs_store_wait (and _redis, its protocol) against a fake Redis on a real socket, which answers as a real Redis
7.0.15 does (its INFO answers are recorded in fixtures/redis-7.0.15)."""

from __future__ import annotations

import pathlib
import socketserver
import threading

import pytest

from ansible_collections.wizardsofts.ray.plugins.module_utils import _redis
from ansible_collections.wizardsofts.ray.plugins.modules import gcs_store_wait

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "redis-7.0.15"
# Stored with \n line endings (the repository's rule); Redis ends each line with \r\n.
INFO = {"server": (FIXTURES / "info_server.txt").read_bytes().replace(b"\n", b"\r\n"),
        "persistence": (FIXTURES / "info_persistence.txt").read_bytes().replace(b"\n", b"\r\n")}
PASSWORD = "s3cret-password-of-the-test-0123"


def bulk(data):
    return b"$%d\r\n%s\r\n" % (len(data), data)


class FakeRedis(object):
    """A Redis on 127.0.0.1: AUTH against `password`, PING, INFO (recorded), CONFIG GET save; every command seen."""

    def __init__(self, password=PASSWORD, appendonly=True, save="3600 1 300 100 60 10000", config_allowed=True,
                 greeting=None, port=0):
        self.password = password
        self.appendonly = appendonly
        self.save = save
        self.config_allowed = config_allowed
        self.greeting = greeting
        self.commands = []
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                if fake.greeting is not None:
                    self.wfile.write(fake.greeting)
                    return
                authenticated = not fake.password
                while True:
                    args = fake.read_command(self.rfile)
                    if args is None:
                        return
                    fake.commands.append(args)
                    self.wfile.write(fake.answer(args, authenticated))
                    if args[0].upper() == b"AUTH" and args[-1].decode() == fake.password:
                        authenticated = True

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def read_command(stream):
        header = stream.readline()
        if not header:
            return None
        args = []
        for _index in range(int(header[1:])):
            size = int(stream.readline()[1:])
            args.append(stream.read(size + 2)[:size])
        return args

    def answer(self, args, authenticated):
        name = args[0].upper()
        if name == b"AUTH":
            if not self.password:
                return b"-ERR AUTH <password> called without any password configured for the default user.\r\n"
            if args[-1].decode() == self.password:
                return b"+OK\r\n"
            return b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        if not authenticated:
            return b"-NOAUTH Authentication required.\r\n"
        if name == b"PING":
            return b"+PONG\r\n"
        if name == b"INFO":
            info = INFO[args[1].decode()]
            if not self.appendonly:
                info = info.replace(b"aof_enabled:1", b"aof_enabled:0")
            return bulk(info)
        if name == b"CONFIG":
            if not self.config_allowed:
                return b"-ERR unknown command 'CONFIG', with args beginning with: 'GET' 'save' \r\n"
            return b"*2\r\n" + bulk(b"save") + bulk(self.save.encode())
        return b"-ERR unknown command\r\n"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def redis():
    servers = []

    def start(**options):
        servers.append(FakeRedis(**options))
        return servers[-1]
    yield start
    for server in servers:
        server.close()


def args(port, **more):
    return dict(dict(host="127.0.0.1", port=port, password=PASSWORD, timeout=2, sleep=0.05), **more)


def test_a_redis_that_takes_the_password_is_ok_with_its_version_and_persistence(run_module, redis):
    server = redis()
    result = run_module(gcs_store_wait, args(server.port))
    assert "failed" not in result, result
    assert result["changed"] is False
    assert result["state"] == "ok" and result["version"] == "7.0.15" and result["attempts"] == 1
    assert result["persistent"] is True
    assert result["persistence"] == "append-only file and snapshots (save 3600 1 300 100 60 10000)"
    assert [command[0] for command in server.commands] == [b"AUTH", b"PING", b"INFO", b"INFO", b"CONFIG"]
    assert PASSWORD not in result["msg"]


def test_a_wrong_password_fails_at_once_and_is_not_shown(run_module, redis):
    server = redis()
    result = run_module(gcs_store_wait, args(server.port, password="not-the-password-0123456789", timeout=30, sleep=10))
    assert result["failed"] is True and result["state"] == "auth" and result["attempts"] == 1
    assert "WRONGPASS" in result["msg"] and "ray_cluster_gcs_ft_redis_password" in result["msg"]
    assert "not-the-password" not in str(result)


def test_no_password_against_a_redis_that_wants_one_fails_at_once(run_module, redis):
    server = redis()
    result = run_module(gcs_store_wait, args(server.port, password="", timeout=30, sleep=10))
    assert result["failed"] is True and result["state"] == "auth" and "NOAUTH" in result["msg"]


def test_a_redis_that_persists_nothing_is_warned_about_or_refused(run_module, redis):
    server = redis(appendonly=False, save="")
    warned = run_module(gcs_store_wait, args(server.port))
    assert "failed" not in warned and warned["persistent"] is False
    assert "keeps nothing across its own restart" in str(warned["warnings"])
    refused = run_module(gcs_store_wait, args(server.port, require_persistence=True))
    assert refused["failed"] is True and "appendonly yes" in refused["msg"]


def test_snapshots_alone_count_as_persistence(run_module, redis):
    server = redis(appendonly=False)
    result = run_module(gcs_store_wait, args(server.port, require_persistence=True))
    assert "failed" not in result and result["persistence"] == "snapshots (save 3600 1 300 100 60 10000)"


def test_a_managed_redis_without_config_is_judged_by_its_append_only_file(run_module, redis):
    server = redis(config_allowed=False)
    result = run_module(gcs_store_wait, args(server.port, require_persistence=True))
    assert "failed" not in result and result["persistence"] == "append-only file"


def test_nothing_listening_is_retried_until_the_deadline_and_names_the_fix(run_module, closed_port):
    result = run_module(gcs_store_wait, args(closed_port, timeout=0.5, sleep=0.1))
    assert result["failed"] is True and result["state"] == "refused" and result["attempts"] > 1
    assert "ray_redis role" in result["msg"]


def test_a_redis_that_starts_late_is_waited_for(run_module, closed_port):
    """The port is refused at first; a Redis comes up on it while the module waits."""
    started = []
    timer = threading.Timer(0.3, lambda: started.append(FakeRedis(port=closed_port)))
    timer.start()
    try:
        result = run_module(gcs_store_wait, args(closed_port, timeout=10, sleep=0.05))
    finally:
        timer.join()
        for server in started:
            server.close()
    assert "failed" not in result, result
    assert result["state"] == "ok" and result["attempts"] > 1


def test_something_that_is_not_redis_fails_at_once(run_module, redis):
    server = redis(greeting=b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
    result = run_module(gcs_store_wait, args(server.port, timeout=30, sleep=10))
    assert result["failed"] is True and result["state"] == "not_redis" and result["attempts"] == 1


def test_the_protocol_encodes_and_parses_as_redis_does():
    assert _redis.encode("AUTH", "pw") == b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n"
    assert _redis.parse_info(INFO["persistence"].decode())["aof_enabled"] == "1"
    assert _redis.persistence({}, None) == (None, "unknown: neither INFO persistence nor CONFIG GET save answered")
