# private to this collection; no compatibility guarantees
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node's listening TCP sockets, the processes holding them and the containers those run in, read from /proc.

/proc/net/tcp and /proc/net/tcp6 list the sockets of the reader's network namespace; /proc/PID/fd links a socket
inode to the processes holding it (other users' processes only for root); a process runs in a container when it
shares that container's PID namespace (/proc/PID/ns/pid). Command lines are never read: they may carry passwords.
"""

from __future__ import annotations

import os
import socket
import struct

PROC = '/proc'
_LISTEN = '0A'
# IPv4 always has a table; tcp6 is missing when the kernel runs without IPv6.
_TABLES = (('tcp', socket.AF_INET, True), ('tcp6', socket.AF_INET6, False))


class ListenerError(Exception):
    """The node's socket table cannot be read (not Linux, or /proc hidden)."""


def decode_address(hex_address, family):
    """Address of /proc/net/tcp{,6} (32-bit words, each little-endian, in hex) as text: 0100007F -> 127.0.0.1."""
    raw = bytes.fromhex(hex_address)
    words = b''.join(struct.pack('<I', struct.unpack('>I', raw[i:i + 4])[0]) for i in range(0, len(raw), 4))
    return socket.inet_ntop(family, words)


def parse_table(text, family, ports=None):
    """Map socket inode to (address, port) for the LISTEN lines of one /proc/net/tcp{,6} text (header included)."""
    found = {}
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != _LISTEN:
            continue
        hex_address, hex_port = fields[1].split(':')
        port = int(hex_port, 16)
        if ports is None or port in ports:
            found[fields[9]] = (decode_address(hex_address, family), port)
    return found


def listening_sockets(ports=None, proc=PROC):
    """Map socket inode to (address, port) for the sockets in LISTEN state, on one of ports or (None) any port.

    Raises ListenerError when /proc/net/tcp cannot be read.
    """
    found = {}
    for name, family, required in _TABLES:
        path = os.path.join(proc, 'net', name)
        try:
            with open(path) as table:
                text = table.read()
        except OSError as exc:
            if required:
                raise ListenerError('cannot read %s: %s' % (path, exc.strerror or exc))
            continue
        found.update(parse_table(text, family, ports))
    return found


def socket_owners(inodes, proc=PROC):
    """Map socket inode to the lowest PID holding it (a forking server's parent), scanning /proc/PID/fd."""
    wanted = dict(('socket:[%s]' % inode, inode) for inode in inodes)
    owners = {}
    if not wanted:
        return owners
    pids = sorted(int(entry) for entry in os.listdir(proc) if entry.isdigit())
    for pid in pids:
        fd_dir = os.path.join(proc, str(pid), 'fd')
        try:
            fds = os.listdir(fd_dir)
        except OSError:  # the process ended, or is not ours to read
            continue
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            inode = wanted.get(target)
            if inode is not None and inode not in owners:
                owners[inode] = pid
        if len(owners) == len(wanted):
            break
    return owners


def process_name(pid, proc=PROC):
    """The process's name (/proc/PID/comm, at most 15 characters), or None."""
    try:
        with open(os.path.join(proc, str(pid), 'comm'), 'rb') as comm:
            return comm.read().decode('utf-8', 'replace').strip() or None
    except OSError:
        return None


def pid_namespace(pid, proc=PROC):
    """The PID namespace of a process ('self' for the reader) as the kernel names it, pid:[4026531836], or None."""
    try:
        return os.readlink(os.path.join(proc, str(pid), 'ns', 'pid'))
    except OSError:
        return None


def read_listeners(ports=None, proc=PROC):
    """The listening sockets, on one of ports or (None) every port, sorted by port and address.

    Each is a dict: port, address, pid (None for a socket no readable process holds), process (its name),
    container (None until match_containers) and ours (False until then). Raises ListenerError.
    """
    sockets = listening_sockets(ports, proc)
    owners = socket_owners(sockets, proc)
    listeners = []
    for inode, (address, port) in sockets.items():
        pid = owners.get(inode)
        listeners.append({
            'port': port,
            'address': address,
            'pid': pid,
            'process': process_name(pid, proc) if pid is not None else None,
            'container': None,
            'ours': False,
        })
    listeners.sort(key=lambda item: (item['port'], item['address'], item['pid'] or 0))
    return listeners


def in_other_namespace(listeners, proc=PROC):
    """Whether a listener's process runs in another PID namespace than the reader, so may be in a container."""
    here = pid_namespace('self', proc)
    for listener in listeners:
        if listener['pid'] is not None:
            namespace = pid_namespace(listener['pid'], proc)
            if namespace is not None and namespace != here:
                return True
    return False


def match_containers(listeners, containers, proc=PROC):
    """Set container and ours of each listener whose process shares a container's PID namespace.

    containers are dicts with name, pid (its main process on the node, 0 when it is not running) and ours. A
    container that shares the node's PID namespace (--pid host) cannot be told apart from the node and is skipped.
    """
    here = pid_namespace('self', proc)
    by_namespace = {}
    for container in containers:
        namespace = pid_namespace(container['pid'], proc) if container.get('pid') else None
        if namespace is not None and namespace != here:
            by_namespace.setdefault(namespace, container)
    for listener in listeners:
        if listener['pid'] is None:
            continue
        container = by_namespace.get(pid_namespace(listener['pid'], proc))
        if container is not None:
            listener['container'] = container['name']
            listener['ours'] = bool(container['ours'])
    return listeners


def summary(listener):
    """One line for people; names the process and its PID, never its command line."""
    where = 'port %d (%s) is held by ' % (listener['port'], listener['address'])
    if listener['pid'] is None:
        return where + 'a socket with no process we can see (kernel, another namespace, or not root)'
    text = where + '%s, pid %d' % (listener['process'] or 'a process with no readable name', listener['pid'])
    if listener['container']:
        text += ' in container %s' % listener['container']
    return text
