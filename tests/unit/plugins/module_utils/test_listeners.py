# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_listeners, and port_owner built on it, against real sockets in /proc.

The listeners are real: sockets this test process opens, and child processes that listen, one of them in its
own PID namespace (unshare) the way a container's processes are. The only thing faked is port_owner's `docker`
CLI, a script on PATH that reports such a child as a container's main process.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.wizardsofts.ray.plugins.module_utils import _listeners
from ansible_collections.wizardsofts.ray.plugins.modules import port_owner

SECRET = 's3cr3t-in-argv'
# Found before any test narrows PATH down.
UNSHARE = shutil.which('unshare') or '/usr/bin/unshare'
# A listener that prints its port, then runs until its stdin closes; optionally renamed (comm) with prctl.
CHILD = textwrap.dedent('''\
    import ctypes, socket, sys
    if sys.argv[1]:
        ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)  # PR_SET_NAME
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(('127.0.0.1', 0))
    listener.listen(1)
    print(listener.getsockname()[1], flush=True)
    sys.stdin.read()
''')


def own_comm():
    with open('/proc/self/comm') as comm:
        return comm.read().strip()


class ListeningChild(object):
    """A child process listening on 127.0.0.1 with SECRET in its command line.

    With new_pid_namespace it runs under `unshare --pid --fork`, like a container's main process; pid is then
    the listener's PID as the node sees it.
    """

    def __init__(self, name='', new_pid_namespace=False):
        command = [sys.executable, '-c', CHILD, name, '--password=%s' % SECRET]
        if new_pid_namespace:
            command = [UNSHARE, '--pid', '--fork', '--kill-child'] + command
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        assert line.strip().isdigit(), 'the child did not start: %s' % self.process.stderr.read()
        self.port = int(line)
        self.pid = self.process.pid
        if new_pid_namespace:
            with open('/proc/%d/task/%d/children' % (self.pid, self.pid)) as children:
                self.pid = int(children.read().split()[0])

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

    def start(**kwargs):
        started.append(ListeningChild(**kwargs))
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


def by_port(listeners, port):
    return [item for item in listeners if item['port'] == port]


# ----------------------------------------------------------------------------- parsing /proc/net/tcp{,6}

@pytest.mark.parametrize(('hex_address', 'family', 'text'), [
    ('0100007F', socket.AF_INET, '127.0.0.1'),
    ('00000000', socket.AF_INET, '0.0.0.0'),
    ('5400000A', socket.AF_INET, '10.0.0.84'),
    ('00000000000000000000000001000000', socket.AF_INET6, '::1'),
    ('00000000000000000000000000000000', socket.AF_INET6, '::'),
    ('0000000000000000FFFF00000100007F', socket.AF_INET6, '::ffff:127.0.0.1'),
    ('B80D0120000000000000000001000000', socket.AF_INET6, '2001:db8::1'),
])
def test_addresses_decode_as_the_kernel_writes_them(hex_address, family, text):
    assert _listeners.decode_address(hex_address, family) == text


def test_only_listen_lines_of_a_table_count():
    table = textwrap.dedent('''\
          sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
           0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 21954 1 0
           1: 0100007F:18EB 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 40213 1 0
           2: 5400000A:0016 5100000A:D431 01 00000000:00000000 02:000A4F7B 00000000     0        0 51877 4 0
    ''')

    assert _listeners.parse_table(table, socket.AF_INET) == {'21954': ('0.0.0.0', 22), '40213': ('127.0.0.1', 6379)}
    assert _listeners.parse_table(table, socket.AF_INET, ports={6379}) == {'40213': ('127.0.0.1', 6379)}


def test_no_socket_table_is_an_error_that_names_it(tmp_path):
    with pytest.raises(_listeners.ListenerError, match='cannot read %s' % (tmp_path / 'net' / 'tcp')):
        _listeners.read_listeners(proc=str(tmp_path))


# ----------------------------------------------------------------------------- real sockets

def test_a_socket_of_this_process_is_found_with_its_pid_and_name(listener):
    port = listener.getsockname()[1]

    found = by_port(_listeners.read_listeners(), port)

    assert found == [{'port': port, 'address': '127.0.0.1', 'pid': os.getpid(), 'process': own_comm(),
                      'container': None, 'ours': False}]


def test_ipv6_sockets_are_found():
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.bind(('::1', 0))
    sock.listen(1)
    try:
        port = sock.getsockname()[1]
        found = by_port(_listeners.read_listeners({port}), port)
    finally:
        sock.close()

    assert [(item['address'], item['pid']) for item in found] == [('::1', os.getpid())]


def test_ports_filter_and_connected_sockets_are_not_listeners(listener):
    port = listener.getsockname()[1]
    client = socket.create_connection(('127.0.0.1', port))
    try:
        client_port = client.getsockname()[1]
        every = _listeners.read_listeners()
        only = _listeners.read_listeners({port})
    finally:
        client.close()

    assert by_port(every, client_port) == []
    assert [item['port'] for item in only] == [port]
    assert [item['port'] for item in every] == sorted(item['port'] for item in every)


def test_another_process_is_named_by_comm_and_pid_never_by_its_command_line(child):
    other = child(name='exporter')

    found = by_port(_listeners.read_listeners(), other.port)

    assert [(item['pid'], item['process']) for item in found] == [(other.pid, 'exporter')]
    line = _listeners.summary(found[0])
    assert line == 'port %d (127.0.0.1) is held by exporter, pid %d' % (other.port, other.pid)
    assert SECRET not in json.dumps(found) + line


def test_a_process_in_its_own_pid_namespace_matches_that_container(child, listener):
    contained = child(name='raylet', new_pid_namespace=True)
    containers = [
        {'name': 'ray-head', 'pid': contained.pid, 'ours': True},
        # Shares the node's PID namespace (--pid host): it must not claim the node's own listeners.
        {'name': 'host-pid', 'pid': os.getpid(), 'ours': True},
        {'name': 'stopped', 'pid': 0, 'ours': True},
    ]
    listeners = _listeners.read_listeners({contained.port, listener.getsockname()[1]})
    assert _listeners.in_other_namespace(listeners) is True

    _listeners.match_containers(listeners, containers)

    theirs = by_port(listeners, contained.port)[0]
    assert (theirs['pid'], theirs['process'], theirs['container'], theirs['ours']) == (
        contained.pid, 'raylet', 'ray-head', True)
    assert _listeners.summary(theirs) == 'port %d (127.0.0.1) is held by raylet, pid %d in container ray-head' % (
        contained.port, contained.pid)
    ours = by_port(listeners, listener.getsockname()[1])[0]
    assert (ours['container'], ours['ours']) == (None, False)


def test_listeners_of_the_node_namespace_need_no_container_lookup(listener):
    listeners = _listeners.read_listeners({listener.getsockname()[1]})

    assert _listeners.in_other_namespace(listeners) is False


@pytest.mark.parametrize(('listener', 'line'), [
    ({'port': 22, 'address': '0.0.0.0', 'pid': 812, 'process': 'sshd', 'container': None},
     'port 22 (0.0.0.0) is held by sshd, pid 812'),
    ({'port': 8265, 'address': '::', 'pid': 4242, 'process': 'python3', 'container': 'ray-head'},
     'port 8265 (::) is held by python3, pid 4242 in container ray-head'),
    ({'port': 111, 'address': '0.0.0.0', 'pid': 9, 'process': None, 'container': None},
     'port 111 (0.0.0.0) is held by a process with no readable name, pid 9'),
    ({'port': 2049, 'address': '0.0.0.0', 'pid': None, 'process': None, 'container': None},
     'port 2049 (0.0.0.0) is held by a socket with no process we can see (kernel, another namespace, or not root)'),
])
def test_summaries(listener, line):
    assert _listeners.summary(listener) == line


# ----------------------------------------------------------------------------- port_owner, built on it

# `docker ps -q --no-trunc` prints one ID; `docker inspect --format ...` prints PID, name, ours as the
# module's template makes the real CLI print them.
FAKE_DOCKER = textwrap.dedent('''\
    #!{python}
    import sys
    if sys.argv[1] == 'ps':
        print('4f0c2b8d0e6f')
    elif sys.argv[1] == 'inspect':
        print({inspect!r})
    else:
        sys.exit(2)
''')


@pytest.fixture
def fake_docker(tmp_path, monkeypatch):
    def install(inspect_line):
        script = tmp_path / 'docker'
        script.write_text(FAKE_DOCKER.format(python=sys.executable, inspect=inspect_line))
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        monkeypatch.setenv('PATH', '%s%s%s' % (tmp_path, os.pathsep, os.environ['PATH']))
    return install


def test_port_owner_keeps_its_results_and_names_no_command_line(run_module, child, fake_docker):
    contained = child(name='raylet', new_pid_namespace=True)
    stranger = child(name='exporter')
    fake_docker('%d\t/ray-head\tyes' % contained.pid)

    result = run_module(port_owner, dict(ports=[contained.port, stranger.port]), check_mode=True)

    assert result['changed'] is False
    assert result['containers'] == [{'name': 'ray-head', 'pid': contained.pid, 'ours': True}]
    assert [(item['port'], item['pid'], item['process'], item['container'], item['ours'])
            for item in result['listeners']] == sorted([
                (contained.port, contained.pid, 'raylet', 'ray-head', True),
                (stranger.port, stranger.pid, 'exporter', None, False)])
    assert [item['port'] for item in result['conflicts']] == [stranger.port]
    assert result['conflicts'][0]['summary'] == 'port %d (127.0.0.1) is held by exporter, pid %d' % (
        stranger.port, stranger.pid)
    assert 'command' not in result['listeners'][0]
    assert SECRET not in json.dumps(result)


def test_port_owner_without_docker_reports_plain_processes(run_module, child, monkeypatch, tmp_path):
    stranger = child(name='exporter')
    monkeypatch.setenv('PATH', str(tmp_path))  # no docker CLI

    result = run_module(port_owner, dict(ports=[stranger.port]))

    assert result['containers'] == []
    assert [(item['pid'], item['container'], item['ours']) for item in result['conflicts']] == [
        (stranger.pid, None, False)]
