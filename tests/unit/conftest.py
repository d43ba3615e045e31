# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared fixtures: real sockets, a recorded Ray dashboard on 127.0.0.1, network namespaces, module runs.

The tests fake only boundaries: the network (sockets, namespaces, an HTTP server serving bodies recorded from
a real Ray 2.60.0 head) and the module's input and output. The modules' own code always runs for real.
"""

from __future__ import annotations

import http.server
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import threading

import pytest
from ansible.module_utils import _internal as module_internal
from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args

HERE = pathlib.Path(__file__).resolve().parent
COLLECTION_ROOT = HERE.parent.parent
FIXTURES = HERE / 'fixtures' / 'ray-2.60.0'


def _collections_dir():
    """The directory that holds ansible_collections/wizardsofts/ray: a real tree (ansible-test) or our link."""
    if COLLECTION_ROOT.parent.parent.name == 'ansible_collections':
        return COLLECTION_ROOT.parent.parent.parent
    return COLLECTION_ROOT / 'collections'


COLLECTIONS_DIR = str(_collections_dir())
if COLLECTIONS_DIR not in sys.path:
    sys.path.insert(0, COLLECTIONS_DIR)


@pytest.fixture(autouse=True)
def no_proxy_environment(monkeypatch):
    """Requests to 127.0.0.1 must not detour through a proxy the machine may have configured."""
    for name in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'):
        monkeypatch.delenv(name, raising=False)


# ----------------------------------------------------------------------------- recorded responses

def _load_index():
    with open(FIXTURES / 'index.json') as index_file:
        return json.load(index_file)


RECORDED = _load_index()


def recorded(name):
    """(status, content_type, body bytes) of one recorded response."""
    meta = RECORDED[name]
    return meta['status'], meta['content_type'], (FIXTURES / name).read_bytes()


def recorded_json(name):
    return json.loads((FIXTURES / name).read_bytes())


class RecordedDashboard(object):
    """An HTTP server on 127.0.0.1 that answers like the recorded Ray 2.60.0 dashboard.

    serve(path, name, ...) answers the n-th request for path with the n-th name, then repeats the last one, so
    a test can make the head change its answer after some requests. With token set it answers like a head in
    token mode: every path but /api/gcs_healthz needs 'Authorization: Bearer <token>' (401 without, 403 wrong),
    with Ray's own recorded 401/403 bodies.
    """

    DEFAULT_ROUTES = {
        '/api/gcs_healthz': ['gcs_healthz.txt'],
        '/api/version': ['version.json'],
        '/api/v0/nodes': ['nodes-two-alive.json'],
    }
    UNAUTHENTICATED_PATHS = ('/api/gcs_healthz',)

    def __init__(self):
        self.routes = dict((path, list(names)) for path, names in self.DEFAULT_ROUTES.items())
        self.token = None
        self.requests = []
        self.query_strings = []
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), self._handler_class())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = 'http://127.0.0.1:%d' % self.port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def serve(self, path, *names):
        self.routes[path] = list(names)

    def count(self, path):
        return sum(1 for request_path, _header in self.requests if request_path == path)

    def close(self):
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, path, query, authorization):
        with self._lock:
            served_before = self.count(path)
            self.requests.append((path, authorization))
            self.query_strings.append(query)
        if self.token and path not in self.UNAUTHENTICATED_PATHS:
            if authorization is None:
                return recorded('auth-nodes-no-token.json')
            if authorization != 'Bearer %s' % self.token:
                return recorded('auth-nodes-wrong-token.json')
        names = self.routes.get(path)
        if not names:
            return recorded('not-found.txt')
        return recorded(names[min(served_before, len(names) - 1)])

    def _handler_class(self):
        dashboard = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                path, _mark, query = self.path.partition('?')
                status, content_type, body = dashboard._answer(path, query, self.headers.get('Authorization'))
                self.send_response(status)
                self.send_header('Content-Type', content_type)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def dashboard():
    server = RecordedDashboard()
    yield server
    server.close()


# ----------------------------------------------------------------------------- plain sockets

@pytest.fixture
def closed_port():
    """A port on 127.0.0.1 that nothing listens on: bound once to get a free number, then closed."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class SilentListener(object):
    """A TCP listener on 127.0.0.1 that accepts connections and never answers on them."""

    def __init__(self):
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(('127.0.0.1', 0))
        self._sock.listen(64)
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self.accepted = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept_forever, daemon=True)
        self._thread.start()

    def _accept_forever(self):
        while not self._stop.is_set():
            try:
                connection, _peer = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted.append(connection)

    def close(self):
        self._stop.set()
        self._thread.join(timeout=2)
        for connection in self.accepted:
            connection.close()
        self._sock.close()


@pytest.fixture
def silent_listener():
    listener = SilentListener()
    yield listener
    listener.close()


# ----------------------------------------------------------------------------- network namespaces

def _tool(name):
    """Full path of an admin tool: sbin directories are often missing from PATH in test runners."""
    search = os.pathsep.join([os.environ.get('PATH', ''), '/usr/sbin', '/sbin'])
    found = shutil.which(name, path=search)
    assert found, '%s is not installed (needed for the network namespace tests)' % name
    return found


def _ip(*arguments, **kwargs):
    """Runs ip(8); a failure is a test error that shows ip's own message."""
    completed = subprocess.run((_tool('ip'),) + arguments, capture_output=True, text=True, timeout=30, check=False)
    if kwargs.get('check', True):
        assert completed.returncode == 0, 'ip %s failed: %s' % (' '.join(arguments), completed.stderr.strip())
    return completed.stdout


def _netns_name(role):
    return 'wsray-%d-%s' % (os.getpid(), role)


class FilteringHead(object):
    """A namespace standing for a Ray head behind a firewall, reached from here over a veth pair.

    dropped_port is dropped by iptables inside it, like ufw's default deny; closed_port is neither dropped nor
    listened on, so it is refused. nobody_ip is on the link, but no host answers ARP for it. The addresses are
    from the benchmarking range 198.18.0.0/15 (RFC 2544), which nothing routes off this machine.
    """

    prefix = 29
    dropped_port = 46379
    closed_port = 46378

    def __init__(self):
        # pytest-xdist (ansible-test units runs with -n auto) runs workers side by side: one /29 each.
        worker = int(os.environ.get('PYTEST_XDIST_WORKER', 'gw0')[2:] or 0)
        base = 8 * (worker % 32)
        self.host_ip = '198.18.250.%d' % (base + 1)
        self.head_ip = '198.18.250.%d' % (base + 2)
        self.nobody_ip = '198.18.250.%d' % (base + 5)
        self.namespace = _netns_name('head')
        self.host_link = 'wsr%dh' % (os.getpid() % 100000)
        self.head_link = 'wsr%dn' % (os.getpid() % 100000)

    def create(self):
        routes = _ip('-o', 'route', 'show', 'to', 'match', self.head_ip)
        taken = [line for line in routes.splitlines() if not line.startswith('default')]
        assert not taken, ('test range of %s is already routed here: %s (a leftover wsray-* namespace? '
                           'ip netns list)' % (self.head_ip, taken))

        inside = ('netns', 'exec', self.namespace)
        _ip('netns', 'add', self.namespace)
        _ip('link', 'add', self.host_link, 'type', 'veth', 'peer', 'name', self.head_link)
        _ip('link', 'set', self.head_link, 'netns', self.namespace)
        _ip('addr', 'add', '%s/%d' % (self.host_ip, self.prefix), 'dev', self.host_link)
        _ip('link', 'set', self.host_link, 'up')
        _ip(*inside, _tool('ip'), 'addr', 'add', '%s/%d' % (self.head_ip, self.prefix), 'dev', self.head_link)
        _ip(*inside, _tool('ip'), 'link', 'set', self.head_link, 'up')
        _ip(*inside, _tool('ip'), 'link', 'set', 'lo', 'up')
        _ip(*inside, _tool('iptables'), '-A', 'INPUT', '-p', 'tcp', '--dport', str(self.dropped_port), '-j', 'DROP')

    def destroy(self):
        # Deleting the namespace deletes its end of the veth pair, and with it the host end.
        _ip('netns', 'del', self.namespace, check=False)
        _ip('link', 'del', self.host_link, check=False)


# Function scope on purpose: ansible-test runs every test in a forked child that exits without session teardown.
@pytest.fixture
def filtering_head():
    head = FilteringHead()
    try:
        head.create()
        yield head
    finally:
        head.destroy()


@pytest.fixture
def isolated_netns():
    """A namespace with only a loopback interface: no route anywhere, and no DNS server reachable."""
    namespace = _netns_name('lo')
    _ip('netns', 'add', namespace)
    try:
        _ip('netns', 'exec', namespace, _tool('ip'), 'link', 'set', 'lo', 'up')
        yield namespace
    finally:
        _ip('netns', 'del', namespace, check=False)


def python_in_netns(namespace, *arguments):
    """Runs this Python with arguments inside a network namespace, the collection importable; returns stdout."""
    env = dict(os.environ, PYTHONPATH=COLLECTIONS_DIR)
    completed = subprocess.run([_tool('ip'), 'netns', 'exec', namespace, sys.executable] + list(arguments),
                               capture_output=True, text=True, env=env, timeout=120, check=False)
    assert completed.stdout, completed.stderr
    return completed.stdout


@pytest.fixture
def netns_python():
    """python_in_netns, for tests (they do not import conftest)."""
    return python_in_netns


# ----------------------------------------------------------------------------- a GCS for the drain program

FAKE_RAY = HERE / 'fixtures' / 'fake-ray'


class FakeGcs(object):
    """The scenario of the stand-in Ray (fixtures/fake-ray/ray/_raylet.py) and the calls the program made to it.

    env() is what a process needs to import the stand-in instead of Ray and play this scenario.
    """

    def __init__(self, directory):
        self.path = directory / 'gcs.json'
        self.set(nodes=[])

    def set(self, **scenario):
        self.path.write_text(json.dumps(scenario), encoding='utf-8')
        calls = pathlib.Path(str(self.path) + '.calls')
        if calls.exists():
            calls.unlink()

    def calls(self):
        calls = pathlib.Path(str(self.path) + '.calls')
        if not calls.exists():
            return []
        return [json.loads(line) for line in calls.read_text(encoding='utf-8').splitlines()]

    def env(self):
        return {'PYTHONPATH': str(FAKE_RAY), 'WSRAY_FAKE_GCS': str(self.path)}


@pytest.fixture
def fake_gcs(tmp_path):
    return FakeGcs(tmp_path)


# ----------------------------------------------------------------------------- running modules

class ModuleRunner(object):
    """Runs a module's main() the way Ansible does: arguments in, one JSON document out on stdout."""

    def __init__(self, capsys):
        self._capsys = capsys

    def __call__(self, module, args, check_mode=False):
        args = dict(args)
        if check_mode:
            args['_ansible_check_mode'] = True
        # A module runs in a process of its own: the warnings of earlier runs in this test process are not its own.
        ansible_warnings._global_warnings.clear()
        ansible_warnings._global_deprecations.clear()
        self._capsys.readouterr()
        # Nor is it the controller: once a test in this process ran Ansible's controller code (the action plugin's
        # tests do), module warnings would go to the controller's display instead of the module's result.
        was_controller = module_internal.is_controller
        module_internal.is_controller = False
        try:
            with patch_module_args(args):
                with pytest.raises(SystemExit):
                    module.main()
        finally:
            module_internal.is_controller = was_controller
        return json.loads(self._capsys.readouterr().out)

    @staticmethod
    def in_netns(namespace, module, args):
        """Runs the module file as a script inside a network namespace; returns its JSON result."""
        return json.loads(python_in_netns(namespace, module.__file__, json.dumps({'ANSIBLE_MODULE_ARGS': args})))


@pytest.fixture
def run_module(capsys):
    return ModuleRunner(capsys)
