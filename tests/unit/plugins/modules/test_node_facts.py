# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""node_facts against real sockets and processes, a fake Docker engine on a unix socket and fake tools on PATH.

Faked are the boundaries only: the Docker engine (an HTTP server on a real AF_UNIX socket answering the five
endpoints the module asks), `dpkg-query` and `nvidia-smi` (scripts first on PATH printing output recorded from
real ones), and the configuration files (under the module's `root`). Listeners are real sockets of this process
and of child processes, one in its own PID namespace like a container's; directories are real.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import pathlib
import re
import shutil
import socket
import socketserver
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
from urllib.parse import unquote, urlsplit

import pytest

from ansible_collections.wizardsofts.ray.plugins.modules import node_facts

OWN_LABEL = 'io.wizardsofts.ray.role'
SECRET = 's3cr3t-in-argv'
NODE_KEYS = {'cpus', 'memory_bytes', 'user_uid', 'os', 'architecture', 'snap_docker', 'docker', 'packages',
             'firewall', 'listeners', 'sshd_ports', 'images', 'containers', 'gpus', 'nvidia_driver', 'gpus_reason', 'data_dirs', 'paths',
             'warnings'}
LISTENER_KEYS = {'port', 'address', 'pid', 'process', 'container', 'ours'}
IMAGE = 'rayproject/ray:2.60.0'
# Found before any test narrows PATH down to its fake tools.
UNSHARE = shutil.which('unshare') or '/usr/bin/unshare'

# Recorded on Debian 12 (bookworm) with docker.io installed, for the module's fixed package list.
DPKG_STDOUT = (
    'containerd\tinstall ok installed\t1.6.20~ds1-1+deb12u3\n'
    'docker-ce\tunknown ok not-installed\t\n'
    'docker-ce-cli\tunknown ok not-installed\t\n'
    'docker.io\tinstall ok installed\t20.10.24+dfsg1-1+deb12u1+b6\n'
    'firewalld\tunknown ok not-installed\t\n'
    'nftables\tinstall ok installed\t1.0.6-2+deb12u2\n'
)
DPKG_STDERR = ''.join('dpkg-query: no packages found matching %s\n' % name for name in (
    'docker-ce-rootless-extras', 'containerd.io', 'moby-engine', 'podman-docker', 'python3-docker', 'ufw',
    'iptables-persistent', 'netfilter-persistent', 'nvidia-container-toolkit'))
NFT_EMPTY = '{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}]}\n'
NVIDIA_SMI_L = ('GPU 0: NVIDIA A10G (UUID: GPU-5d1a8b0c-3f44-7e21-9c1b-2a6e0f3d4b5c)\n'
                'GPU 1: NVIDIA A10G (UUID: GPU-8e2b9c1d-4a55-8f32-ad2c-3b7f1a4e5c6d)\n')
NVIDIA_SMI_NO_DRIVER = ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure "
                        "that the latest NVIDIA driver is installed and running.\n")
OS_RELEASE = textwrap.dedent('''\
    PRETTY_NAME="Ubuntu 24.04.1 LTS"
    NAME="Ubuntu"
    VERSION_ID="24.04"
    VERSION="24.04.1 LTS (Noble Numbat)"
    VERSION_CODENAME=noble
    ID=ubuntu
    ID_LIKE=debian
    UBUNTU_CODENAME=noble
''')

# Prints the recorded answer and logs its arguments (one JSON line per call); a file 'NAME.rc' next to it
# makes it print stdout.NAME/stderr.NAME from there with that exit code instead.
FAKE_TOOL = textwrap.dedent('''\
    #!{python}
    import json, os, sys
    here = os.path.dirname(os.path.abspath(__file__))
    name = os.path.basename(__file__)
    with open(os.path.join(here, name + '.log'), 'a') as log:
        log.write(json.dumps(sys.argv[1:]) + '\\n')
    def read(kind):
        with open(os.path.join(here, '%s.%s' % (kind, name))) as answer:
            return answer.read()
    sys.stdout.write(read('stdout'))
    sys.stderr.write(read('stderr'))
    with open(os.path.join(here, name + '.rc')) as rc:
        sys.exit(int(rc.read()))
''')


# ----------------------------------------------------------------------------- a Docker engine on a unix socket

class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class FakeEngine(object):
    """Answers GET /_ping, /version, /containers/json, /containers/NAME/json and /images/NAME/json like dockerd.

    containers maps a name to the inspect document; images is a set of names. Every request path is logged.
    """

    def __init__(self, socket_path):
        self.socket_path = socket_path
        self.containers = {}
        self.images = set()
        self.requests = []
        self.version = {'Version': '27.3.1', 'ApiVersion': '1.47', 'MinAPIVersion': '1.24', 'Os': 'linux'}
        self._server = _UnixHTTPServer(socket_path, self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={'poll_interval': 0.05},
                                        daemon=True)
        self._thread.start()

    def add_container(self, name, pid=0, labels=None, image=IMAGE):
        ident = hashlib.sha256(name.encode()).hexdigest()
        running = pid > 0
        self.containers[name] = {
            'Id': ident,
            'Name': '/' + name,
            'State': {'Status': 'running' if running else 'exited', 'Running': running, 'Pid': pid,
                      'StartedAt': '2026-01-12T09:30:01.123456789Z'},
            'Config': {'Image': image, 'Labels': labels or {}},
            'Image': 'sha256:' + '0' * 64,
        }

    def _find(self, name):
        for container in self.containers.values():
            if name in (container['Id'], container['Name'].lstrip('/')):
                return container
        return None

    def answer(self, path, query):
        match = re.match(r'^/v[0-9.]+(/.*)$', path)
        path = match.group(1) if match else path
        self.requests.append(path)
        if path == '/_ping':
            return 200, 'text/plain', b'OK'
        if path == '/version':
            return 200, 'application/json', json.dumps(self.version).encode()
        if path == '/containers/json':
            every = query.get('all') == '1'
            listed = [{'Id': c['Id'], 'Names': [c['Name']], 'State': c['State']['Status'],
                       'Labels': c['Config']['Labels']}
                      for c in self.containers.values() if every or c['State']['Running']]
            return 200, 'application/json', json.dumps(listed).encode()
        match = re.match(r'^/containers/([^/]+)/json$', path)
        if match:
            container = self._find(unquote(match.group(1)))
            if container is None:
                return 404, 'application/json', b'{"message": "No such container: %s"}' % match.group(1).encode()
            return 200, 'application/json', json.dumps(container).encode()
        match = re.match(r'^/images/(.+)/json$', path)
        if match:
            if unquote(match.group(1)) in self.images:
                return 200, 'application/json', b'{"Id": "sha256:0"}'
            return 404, 'application/json', b'{"message": "No such image: %s"}' % match.group(1).encode()
        return 404, 'application/json', b'{"message": "page not found"}'

    def _handler_class(self):
        engine = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                parts = urlsplit(self.path)
                query = dict(pair.split('=', 1) for pair in parts.query.split('&') if '=' in pair)
                status, content_type, body = engine.answer(parts.path, query)
                self.send_response(status)
                self.send_header('Content-Type', content_type)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def address_string(self):
                return 'unix'

            def log_message(self, *args):
                pass

        return Handler

    def close(self):
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def short_dir():
    # A unix socket path must fit in 108 bytes, which pytest's tmp_path may not.
    directory = tempfile.mkdtemp(prefix='wsray-')
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def engine(short_dir):
    server = FakeEngine(os.path.join(short_dir, 'docker.sock'))
    yield server
    server.close()


# ----------------------------------------------------------------------------- tools on PATH, files under root

class FakeTools(object):
    """dpkg-query and nvidia-smi as scripts in a directory that is the whole PATH."""

    def __init__(self, directory):
        self.dir = directory

    def install(self, name, stdout, stderr='', rc=0):
        script = self.dir / name
        script.write_text(FAKE_TOOL.format(python=sys.executable))
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        (self.dir / ('stdout.' + name)).write_text(stdout)
        (self.dir / ('stderr.' + name)).write_text(stderr)
        (self.dir / (name + '.rc')).write_text(str(rc))

    def calls(self, name):
        log = self.dir / (name + '.log')
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def tools(tmp_path, monkeypatch):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    # Only the fakes: a real dpkg-query or nvidia-smi of the machine must not answer.
    monkeypatch.setenv('PATH', str(bin_dir))
    fake = FakeTools(bin_dir)
    fake.install('dpkg-query', DPKG_STDOUT, DPKG_STDERR, rc=1)
    fake.install('nvidia-smi', NVIDIA_SMI_L)
    # The recorded packages hold nftables: its nft answers, with nothing loaded.
    fake.install('nft', NFT_EMPTY)
    return fake


class Root(object):
    """A directory standing for / : the configuration files node_facts reads."""

    def __init__(self, path):
        self.path = path

    def write(self, system_path, text):
        target = self.path / system_path.lstrip('/')
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        return target


@pytest.fixture
def root(tmp_path):
    directory = tmp_path / 'root'
    directory.mkdir()
    tree = Root(directory)
    tree.write('/etc/os-release', OS_RELEASE)
    return tree


# ----------------------------------------------------------------------------- listening processes

CHILD = textwrap.dedent('''\
    import ctypes, socket, sys
    ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)  # PR_SET_NAME: the name /proc/PID/comm shows
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(('127.0.0.1', 0))
    listener.listen(1)
    print(listener.getsockname()[1], flush=True)
    sys.stdin.read()
''')


class ListeningChild(object):
    """A child listening on 127.0.0.1, named name, with SECRET in its command line; optionally in its own PID
    namespace (unshare), like a container's main process. pid is the listener's PID as the node sees it."""

    def __init__(self, name, new_pid_namespace=False):
        command = [sys.executable, '-c', CHILD, name, '--password=%s' % SECRET]
        if new_pid_namespace:
            command = [UNSHARE, '--pid', '--fork', '--kill-child'] + command
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        assert line.strip().isdigit(), 'the child did not start: %s' % self.process.stderr.read()
        self.port = int(line)
        self.pid = self._listener_pid() if new_pid_namespace else self.process.pid

    def _listener_pid(self):
        with open('/proc/%d/task/%d/children' % (self.process.pid, self.process.pid)) as children:
            return int(children.read().split()[0])

    def close(self):
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self.process.stderr.close()


@pytest.fixture
def child():
    started = []

    def start(name, **kwargs):
        started.append(ListeningChild(name, **kwargs))
        return started[-1]

    yield start
    for process in started:
        process.close()


@pytest.fixture
def listener():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(('127.0.0.1', 0))
    sock.listen(1)
    yield sock
    sock.close()


def own_comm():
    with open('/proc/self/comm') as comm:
        return comm.read().strip()


def dead_pid():
    process = subprocess.Popen([sys.executable, '-c', ''])
    process.wait()
    return process.pid


def facts(run_module, engine_or_socket, root, check_mode=False, **args):
    socket_path = getattr(engine_or_socket, 'socket_path', engine_or_socket)
    base = dict(docker_socket=socket_path, root=str(root.path))
    base.update(args)
    result = run_module(node_facts, base, check_mode=check_mode)
    assert 'failed' not in result, result.get('msg')
    assert result['changed'] is False
    return result['node']


def by_port(listeners, port):
    return [item for item in listeners if item['port'] == port]


# ----------------------------------------------------------------------------- a whole node

def test_every_field_of_a_node_with_docker_ray_and_gpus(run_module, engine, tools, root, child, listener, tmp_path):
    root.write('/etc/docker/daemon.json', '{"log-driver": "json-file", "log-opts": {"max-size": "10m"}}\n')
    root.write('/etc/ufw/ufw.conf', '# /etc/ufw/ufw.conf\n#\n\nENABLED=yes\n\nLOGLEVEL=low\n')
    root.write('/run/firewalld/firewalld.pid', '%d\n' % os.getpid())
    root.write('/snap/bin/docker', '')
    raylet = child('raylet', new_pid_namespace=True)
    sshd = child('sshd')
    engine.add_container('ray-head', pid=raylet.pid, labels={OWN_LABEL: 'head'})
    engine.add_container('ray-old', labels={OWN_LABEL: 'worker'})
    engine.images.add(IMAGE)
    data = tmp_path / 'ray-data'
    data.mkdir()
    data.chmod(0o750)
    for name in ('session_latest', 'logs', 'spill'):
        (data / name).mkdir()

    node = facts(run_module, engine, root, images=[IMAGE, 'rayproject/ray:2.59.0'],
                 containers=['ray-head', 'ray-old', 'ray-worker'], data_dirs=[str(data)])

    assert set(node) == NODE_KEYS
    assert node['warnings'] == []
    assert node['cpus'] == len(os.sched_getaffinity(0))
    with open('/proc/meminfo') as meminfo:
        assert node['memory_bytes'] == int(meminfo.readline().split()[1]) * 1024
    assert node['user_uid'] == os.geteuid()
    assert node['os'] == {'id': 'ubuntu', 'version_id': '24.04', 'codename': 'noble'}
    assert node['architecture'] == os.uname().machine
    assert node['snap_docker'] is True
    assert node['docker'] == {'answers': True, 'socket': engine.socket_path, 'version': '27.3.1', 'api_version': '1.47',
                              'daemon_json': {'log-driver': 'json-file', 'log-opts': {'max-size': '10m'}},
                              'daemon_json_error': None}
    assert node['packages'] == {'containerd': '1.6.20~ds1-1+deb12u3', 'docker.io': '20.10.24+dfsg1-1+deb12u1+b6',
                                'nftables': '1.0.6-2+deb12u2'}
    assert node['firewall'] == {'ufw_active': True, 'firewalld_running': True, 'ufw_defaults': None, 'ufw_user_rules': [],
                                'nftables_tables': []}

    assert [set(item) for item in node['listeners']] == [LISTENER_KEYS] * len(node['listeners'])
    assert [item['port'] for item in node['listeners']] == sorted(item['port'] for item in node['listeners'])
    assert by_port(node['listeners'], listener.getsockname()[1]) == [{
        'port': listener.getsockname()[1], 'address': '127.0.0.1', 'pid': os.getpid(), 'process': own_comm(),
        'container': None, 'ours': False}]
    assert by_port(node['listeners'], raylet.port) == [{
        'port': raylet.port, 'address': '127.0.0.1', 'pid': raylet.pid, 'process': 'raylet',
        'container': 'ray-head', 'ours': True}]
    assert by_port(node['listeners'], sshd.port)[0]['process'] == 'sshd'
    assert sshd.port in node['sshd_ports'] and node['sshd_ports'] == sorted(set(node['sshd_ports']))

    assert node['images'] == {IMAGE: True, 'rayproject/ray:2.59.0': False}
    head = engine.containers['ray-head']
    assert node['containers'] == {
        'ray-head': {'id': head['Id'], 'running': True, 'status': 'running', 'image': IMAGE,
                     'labels': {OWN_LABEL: 'head'}, 'started_at': '2026-01-12T09:30:01.123456789Z'},
        'ray-old': {'id': engine.containers['ray-old']['Id'], 'running': False, 'status': 'exited', 'image': IMAGE,
                    'labels': {OWN_LABEL: 'worker'}, 'started_at': '2026-01-12T09:30:01.123456789Z'},
        'ray-worker': None,
    }
    assert node['gpus'] == [
        {'index': 0, 'name': 'NVIDIA A10G', 'uuid': 'GPU-5d1a8b0c-3f44-7e21-9c1b-2a6e0f3d4b5c'},
        {'index': 1, 'name': 'NVIDIA A10G', 'uuid': 'GPU-8e2b9c1d-4a55-8f32-ad2c-3b7f1a4e5c6d'}]
    assert node['gpus_reason'] is None
    assert node['nvidia_driver'] is True
    assert node['data_dirs'] == {str(data): {'exists': True, 'is_dir': True, 'owner_uid': os.getuid(),
                                             'mode': '0750', 'entries': 3,
                                             'names': ['logs', 'session_latest', 'spill']}}


def test_one_dpkg_query_for_the_fixed_package_list(run_module, engine, tools, root):
    facts(run_module, engine, root)

    assert tools.calls('dpkg-query') == [['-W', '-f', '${Package}\t${Status}\t${Version}\n',
                                          'docker.io', 'docker-ce', 'docker-ce-cli', 'docker-ce-rootless-extras',
                                          'containerd.io', 'containerd',
                                          'moby-engine', 'podman-docker', 'python3-docker', 'ufw',
                                          'iptables-persistent', 'netfilter-persistent', 'firewalld', 'nftables',
                                          'nvidia-container-toolkit']]
    assert tools.calls('nvidia-smi') == [['-L']]


def test_no_command_line_anywhere_in_the_result(run_module, engine, tools, root, child):
    raylet = child('raylet', new_pid_namespace=True)
    exporter = child('exporter')
    engine.add_container('ray-head', pid=raylet.pid, labels={OWN_LABEL: 'head'})

    node = facts(run_module, engine, root)

    assert SECRET not in json.dumps(node)
    assert by_port(node['listeners'], exporter.port) == [{
        'port': exporter.port, 'address': '127.0.0.1', 'pid': exporter.pid, 'process': 'exporter',
        'container': None, 'ours': False}]


def test_a_container_without_our_label_is_not_ours(run_module, engine, tools, root, child):
    other = child('nginx', new_pid_namespace=True)
    engine.add_container('web', pid=other.pid, labels={'maintainer': 'someone'})

    node = facts(run_module, engine, root, own_label=OWN_LABEL)

    assert [(item['container'], item['ours']) for item in by_port(node['listeners'], other.port)] == [('web', False)]


def test_check_mode_reads_the_same(run_module, engine, tools, root, listener):
    engine.images.add(IMAGE)

    node = facts(run_module, engine, root, check_mode=True, images=[IMAGE])

    assert node['images'] == {IMAGE: True}
    assert by_port(node['listeners'], listener.getsockname()[1])[0]['pid'] == os.getpid()
    assert len(tools.calls('dpkg-query')) == 1


def test_the_engine_is_asked_for_containers_only_when_a_listener_may_be_in_one(run_module, engine, tools, root):
    node = facts(run_module, engine, root)

    here = os.readlink('/proc/self/ns/pid')
    elsewhere = []
    for item in node['listeners']:
        try:
            elsewhere.append(item['pid'] is not None and os.readlink('/proc/%d/ns/pid' % item['pid']) != here)
        except OSError:  # it ended since
            pass
    # On a quiet machine only the node's own processes listen: no container list is read at all.
    assert ('/containers/json' in engine.requests) == any(elsewhere)


# ----------------------------------------------------------------------------- failing soft

def test_no_engine_leaves_docker_facts_empty_with_the_reason(run_module, short_dir, tools, root, listener):
    missing = os.path.join(short_dir, 'docker.sock')

    node = facts(run_module, missing, root, images=[IMAGE], containers=['ray-head'])

    assert node['docker'] == {'answers': False, 'socket': missing, 'version': None, 'api_version': None,
                              'daemon_json': None, 'daemon_json_error': None}
    assert node['images'] == {} and node['containers'] == {}
    assert 'docker: no Docker engine socket at %s (is Docker installed and running?)' % missing in node['warnings']
    assert 'images: not looked for: the Docker engine did not answer' in node['warnings']
    assert 'containers: not looked for: the Docker engine did not answer' in node['warnings']
    # The rest of the node is still read.
    assert by_port(node['listeners'], listener.getsockname()[1])[0]['pid'] == os.getpid()
    assert node['packages']


def test_a_socket_nothing_serves_is_no_engine(run_module, short_dir, tools, root):
    path = os.path.join(short_dir, 'docker.sock')
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(path)  # bound, never listening: connect() is refused
    try:
        node = facts(run_module, path, root)
    finally:
        dead.close()

    assert node['docker']['answers'] is False
    assert any('refused the connection' in line for line in node['warnings'])


@pytest.mark.parametrize(('content', 'parsed', 'error'), [
    (None, None, None),
    ('{"data-root": "/home/docker"}', {'data-root': '/home/docker'}, None),
    ('\ufeff{"iptables": false}', {'iptables': False}, None),
    ('  \n', {}, None),
    ('{"log-driver": "json-file",}', None, 'is not valid JSON: Expecting property name enclosed in double quotes'),
    ('["not", "an", "object"]', None, 'must hold a JSON object, not a list'),
])
def test_daemon_json(run_module, engine, tools, root, content, parsed, error):
    if content is not None:
        path = root.write('/etc/docker/daemon.json', content)

    node = facts(run_module, engine, root)

    assert node['docker']['daemon_json'] == parsed
    assert node['docker']['answers'] is True
    if error is None:
        assert node['docker']['daemon_json_error'] is None
        assert node['warnings'] == []
    else:
        assert node['docker']['daemon_json_error'].startswith('%s %s' % (path, error))
        assert node['warnings'] == ['docker: ' + node['docker']['daemon_json_error']]


def test_no_dpkg_query_and_no_nvidia_smi(run_module, engine, root, tmp_path, monkeypatch):
    monkeypatch.setenv('PATH', str(tmp_path))  # neither tool

    node = facts(run_module, engine, root)

    assert node['packages'] == {}
    assert node['warnings'] == ['packages: dpkg-query not found (not a Debian-family node): packages not read']
    # A node without nvidia-smi is a CPU node, not a problem: a reason, no warning.
    assert (node['gpus'], node['nvidia_driver']) == ([], False)
    assert node['gpus_reason'] == 'nvidia-smi not found (no NVIDIA driver installed)'


def test_dpkg_query_that_fails_otherwise_is_a_warning(run_module, engine, tools, root):
    tools.install('dpkg-query', '', 'dpkg-query: error: parsing file /var/lib/dpkg/status near line 7\n', rc=2)

    node = facts(run_module, engine, root)

    assert node['packages'] == {}
    assert node['warnings'] == ['packages: dpkg-query failed (rc 2): dpkg-query: error: parsing file '
                                '/var/lib/dpkg/status near line 7']


def test_nvidia_smi_without_a_driver(run_module, engine, tools, root):
    tools.install('nvidia-smi', NVIDIA_SMI_NO_DRIVER, rc=9)

    node = facts(run_module, engine, root)

    assert (node['gpus'], node['nvidia_driver']) == ([], False)
    assert node['warnings'] == ['gpus: nvidia-smi -L failed (rc 9): ' + NVIDIA_SMI_NO_DRIVER.strip()]
    assert node['gpus_reason'] == 'nvidia-smi -L failed (rc 9): ' + NVIDIA_SMI_NO_DRIVER.strip()


def test_a_driver_without_gpus_has_a_reason(run_module, engine, tools, root):
    tools.install('nvidia-smi', '')
    node = facts(run_module, engine, root)
    assert (node['gpus'], node['nvidia_driver'], node['gpus_reason']) == ([], True, 'nvidia-smi -L listed no GPU')


@pytest.mark.parametrize(('files', 'expected', 'warning'), [
    ({}, {'ufw_active': False, 'firewalld_running': False}, None),
    ({'/etc/ufw/ufw.conf': 'ENABLED=no\nLOGLEVEL=low\n'}, {'ufw_active': False, 'firewalld_running': False}, None),
    ({'/etc/ufw/ufw.conf': 'ENABLED="yes"\n'}, {'ufw_active': True, 'firewalld_running': False}, None),
    ({'/var/run/firewalld/firewalld.pid': 'SELF'}, {'ufw_active': False, 'firewalld_running': True}, None),
    ({'/run/firewalld/firewalld.pid': 'DEAD'}, {'ufw_active': False, 'firewalld_running': False}, None),
    ({'/run/firewalld/firewalld.pid': 'garbage'}, {'ufw_active': False, 'firewalld_running': None},
     'does not hold a PID'),
])
def test_firewall(run_module, engine, tools, root, files, expected, warning):
    for path, text in files.items():
        root.write(path, text.replace('SELF', str(os.getpid())).replace('DEAD', str(dead_pid())))

    node = facts(run_module, engine, root)

    assert node['firewall'] == dict(expected, ufw_defaults=None, ufw_user_rules=[], nftables_tables=[])
    found = [line for line in node['warnings'] if line.startswith('firewall: ')]
    if warning is None:
        assert found == []
    else:
        assert len(found) == 1 and warning in found[0]


def test_missing_os_release_is_a_warning(run_module, engine, tools, tmp_path):
    empty = Root(tmp_path / 'empty')
    empty.path.mkdir()

    node = facts(run_module, engine, empty)

    assert node['os'] == {'id': None, 'version_id': None, 'codename': None}
    assert len(node['warnings']) == 1 and node['warnings'][0].startswith('os: cannot read %s' % empty.path)
    assert node['snap_docker'] is False


def test_paths_are_fingerprinted_without_their_content(run_module, engine, tools, root, tmp_path):
    token = tmp_path / 'auth_token'
    token.write_text('s3cret-token-value')
    token.chmod(0o600)
    big = tmp_path / 'big'
    big.write_bytes(b'x' * (1024 * 1024 + 1))
    directory = tmp_path / 'secrets'
    directory.mkdir(mode=0o700)
    missing = tmp_path / 'missing'

    node = facts(run_module, engine, root, paths=[str(token), str(big), str(directory), str(missing)])

    assert node['paths'] == {
        str(token): {'exists': True, 'type': 'file', 'uid': os.getuid(), 'gid': os.getgid(), 'mode': '0600',
                     'sha256': hashlib.sha256(b's3cret-token-value').hexdigest()},
        str(big): {'exists': True, 'type': 'file', 'uid': os.getuid(), 'gid': os.getgid(), 'mode': '0644', 'sha256': None},
        str(directory): {'exists': True, 'type': 'directory', 'uid': os.getuid(), 'gid': os.getgid(), 'mode': '0700',
                         'sha256': None},
        str(missing): {'exists': False, 'type': None, 'uid': None, 'gid': None, 'mode': None, 'sha256': None},
    }
    assert 's3cret-token-value' not in json.dumps(node)


def test_data_dirs(run_module, engine, tools, root, tmp_path):
    crowded = tmp_path / 'crowded'
    crowded.mkdir()
    for index in range(1001):
        (crowded / str(index)).touch()
    a_file = tmp_path / 'a-file'
    a_file.write_text('x')
    a_file.chmod(0o640)
    missing = tmp_path / 'missing'
    under_a_file = a_file / 'below'
    empty = tmp_path / 'empty'
    empty.mkdir()
    empty.chmod(0o1777)

    ours = tmp_path / 'ours'
    ours.mkdir()
    for name in ('session', 'secrets', '.wizardsofts-ray'):
        (ours / name).touch()

    paths = [str(crowded), str(a_file), str(missing), str(under_a_file), str(empty), str(ours)]
    node = facts(run_module, engine, root, data_dirs=paths)
    assert node['data_dirs'].pop(str(ours)) == {'exists': True, 'is_dir': True, 'owner_uid': os.getuid(), 'mode': '0755',
                                                'entries': 3, 'names': ['.wizardsofts-ray', 'secrets', 'session']}

    # Counted up to 1000; of those (the first the directory lists), 20 names in sorted order.
    crowded_names = node['data_dirs'][str(crowded)].pop('names')
    assert len(crowded_names) == 20 and crowded_names == sorted(crowded_names)
    assert set(crowded_names) <= set(str(index) for index in range(1001))
    absent = {'exists': False, 'is_dir': False, 'owner_uid': None, 'mode': None, 'entries': None, 'names': None}
    assert node['data_dirs'] == {
        str(crowded): {'exists': True, 'is_dir': True, 'owner_uid': os.getuid(), 'mode': '0755', 'entries': 1000},
        str(a_file): {'exists': True, 'is_dir': False, 'owner_uid': os.getuid(), 'mode': '0640', 'entries': None,
                      'names': None},
        str(missing): absent,
        str(under_a_file): absent,
        str(empty): {'exists': True, 'is_dir': True, 'owner_uid': os.getuid(), 'mode': '1777', 'entries': 0,
                     'names': []},
    }
    assert node['warnings'] == []


@pytest.mark.parametrize(('args', 'message'), [
    ({'data_dirs': ['ray-data']}, 'data_dirs must be absolute paths, got ray-data'),
    ({'paths': ['auth_token']}, 'paths must be absolute paths, got auth_token'),
    ({'own_label': ''}, 'own_label must not be empty'),
    ({'bogus': 1}, 'Unsupported parameters'),
])
def test_bad_options_fail(run_module, engine, root, args, message):
    result = run_module(node_facts, dict(dict(docker_socket=engine.socket_path, root=str(root.path)), **args))

    assert result['failed'] is True
    assert message in result['msg']


# ----------------------------------------------------------------------------- parsers, on recorded output

@pytest.mark.parametrize(('line', 'installed'), [
    ('docker.io\tinstall ok installed\t20.10.24+dfsg1-1+deb12u1+b6', {'docker.io': '20.10.24+dfsg1-1+deb12u1+b6'}),
    ('docker-ce\thold ok installed\t5:27.3.1-1~ubuntu.24.04~noble', {'docker-ce': '5:27.3.1-1~ubuntu.24.04~noble'}),
    ('ufw\tdeinstall ok config-files\t0.36.2-6', {}),
    ('docker-ce\tunknown ok not-installed\t', {}),
    ('containerd.io\tinstall reinstreq half-installed\t1.7.22-1', {}),
    ('dpkg-query: no packages found matching moby-engine', {}),
])
def test_dpkg_query_lines(line, installed):
    assert node_facts.parse_dpkg_query(line + '\n') == installed


def test_nvidia_smi_lines_with_mig_devices():
    text = ('GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-2b6e2f3a-1c4d-5e6f-7a8b-9c0d1e2f3a4b)\n'
            '  MIG 1g.5gb      Device  0: (UUID: MIG-4c5d6e7f-8a9b-0c1d-2e3f-4a5b6c7d8e9f)\n'
            'GPU 1: Tesla T4 (UUID: GPU-3c7f3a4b-2d5e-6f70-8b9c-0d1e2f3a4b5c)\n')

    assert node_facts.parse_nvidia_smi(text) == [
        {'index': 0, 'name': 'NVIDIA A100-SXM4-40GB', 'uuid': 'GPU-2b6e2f3a-1c4d-5e6f-7a8b-9c0d1e2f3a4b'},
        {'index': 1, 'name': 'Tesla T4', 'uuid': 'GPU-3c7f3a4b-2d5e-6f70-8b9c-0d1e2f3a4b5c'}]


def test_os_release_values_are_unquoted_like_a_shell_would():
    fields = node_facts.parse_os_release('ID="rhel"\nVERSION_ID=\'9.4\'\nNAME="Red Hat \\"Enterprise\\""\n# ID=x\n')

    assert fields == {'ID': 'rhel', 'VERSION_ID': '9.4', 'NAME': 'Red Hat "Enterprise"'}


def test_ufw_s_defaults_and_rule_files_are_read_for_the_model(run_module, engine, tools, root):
    fixtures = pathlib.Path(__file__).resolve().parents[2] / 'fixtures' / 'ufw-0.36.2'
    rules = (fixtures / 'user.rules-sandbox-worker').read_text()
    rules6 = (fixtures / 'user6.rules-sandbox-worker').read_text()
    defaults = (fixtures / 'default-ufw-debian.txt').read_text()
    root.write('/etc/ufw/user.rules', rules)
    root.write('/etc/ufw/user6.rules', rules6)
    root.write('/etc/default/ufw', defaults)
    root.write('/etc/ufw/ufw.conf', 'ENABLED=yes\n')

    node = facts(run_module, engine, root)

    assert node['firewall'] == {'ufw_active': True, 'firewalld_running': False, 'ufw_defaults': defaults,
                                'ufw_user_rules': [rules, rules6], 'nftables_tables': []}


# Recorded with nftables 1.0.6 (Debian 12) in a fresh network namespace after `nft add table inet filter`, an input
# chain there, `iptables-nft -N ufw-before-input`, `iptables-nft -A INPUT -j ufw-before-input` and
# `iptables-nft -t nat -N DOCKER`.
NFT_RULESET = (
    '{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, '
    '{"table": {"family": "inet", "name": "filter", "handle": 1}}, {"chain": {"family": "inet", "table": "filter", '
    '"name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}}, {"table": '
    '{"family": "ip", "name": "filter", "handle": 2}}, {"chain": {"family": "ip", "table": "filter", "name": '
    '"ufw-before-input", "handle": 1}}, {"chain": {"family": "ip", "table": "filter", "name": "INPUT", "handle": 2, '
    '"type": "filter", "hook": "input", "prio": 0, "policy": "accept"}}, {"rule": {"family": "ip", "table": "filter", '
    '"chain": "INPUT", "handle": 3, "expr": [{"counter": {"packets": 0, "bytes": 0}}, {"jump": {"target": '
    '"ufw-before-input"}}]}}, {"table": {"family": "ip", "name": "nat", "handle": 3}}, {"chain": {"family": "ip", '
    '"table": "nat", "name": "DOCKER", "handle": 1}}]}\n')


def test_the_nftables_ruleset_in_force_is_read_as_tables_and_chains(run_module, engine, tools, root):
    tools.install('nft', NFT_RULESET)

    node = facts(run_module, engine, root)

    assert tools.calls('nft') == [['-j', 'list', 'ruleset']]
    assert node['firewall']['nftables_tables'] == [
        {'family': 'inet', 'name': 'filter', 'chains': ['input']},
        {'family': 'ip', 'name': 'filter', 'chains': ['ufw-before-input', 'INPUT']},
        {'family': 'ip', 'name': 'nat', 'chains': ['DOCKER']},
    ]
    assert node['warnings'] == []


@pytest.mark.parametrize(('stdout', 'stderr', 'rc', 'warning'), [
    ('', 'Error: Could not process rule: Operation not permitted\nlist ruleset\n^^^^^^^^^^^^^\n', 1,
     'firewall: nft -j list ruleset failed (rc 1): Error: Could not process rule: Operation not permitted'),
    ('not json\n', '', 0, 'firewall: nft -j list ruleset: Expecting value: line 1 column 1 (char 0)'),
    ('{"tables": []}\n', '', 0, 'firewall: nft -j list ruleset: no "nftables" list in the output of nft -j list ruleset'),
])
def test_an_nftables_ruleset_that_cannot_be_read_is_null_with_a_warning(
        run_module, engine, tools, root, stdout, stderr, rc, warning):
    tools.install('nft', stdout, stderr, rc=rc)

    node = facts(run_module, engine, root)

    assert node['firewall']['nftables_tables'] is None
    assert node['warnings'] == [warning]


def test_without_the_nftables_package_nft_is_not_asked(run_module, engine, tools, root):
    tools.install('dpkg-query', DPKG_STDOUT.replace('nftables\tinstall ok installed\t1.0.6-2+deb12u2\n', ''),
                  DPKG_STDERR + 'dpkg-query: no packages found matching nftables\n', rc=1)

    node = facts(run_module, engine, root)

    assert node['firewall']['nftables_tables'] is None
    assert tools.calls('nft') == [] and node['warnings'] == []
