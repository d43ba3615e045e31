#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: WizardSofts
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module ``port_owner``: which process listens on each of a set of TCP ports, and in which container."""

from __future__ import annotations

DOCUMENTATION = r"""
module: port_owner
short_description: Find the processes listening on TCP ports, and the containers they run in
version_added: 0.1.0
author:
  - WizardSofts ML platform team (@wizardsofts)
description:
  - Reads the node's listening TCP sockets (C(/proc/net/tcp), C(/proc/net/tcp6)) for the given ports and
    finds, through C(/proc/PID/fd), the process holding each of them (its PID, name and command line).
  - When a Docker engine answers, a process is matched to the running container whose PID namespace it
    shares, so a port held by a container is reported with the container's name and labels.
  - A listener is I(ours) when its container carries the label O(own_label) (the collection's Ray
    containers do); every other listener is a I(conflict). Preflight fails on conflicts only, so a
    re-run over a running cluster is not a conflict, while the seed's Prometheus exporter on 8080 is.
  - Reads only; changes nothing. Needs root to see other users' processes.
options:
  ports:
    description: TCP ports to look at.
    type: list
    elements: int
    required: true
  own_label:
    description: Label that marks the containers this collection manages.
    type: str
    default: io.wizardsofts.ray.role
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads only, so check mode looks at the node for real.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
    details: Linux only (C(/proc)).
notes:
  - Linux only. Sockets of processes in other network namespaces (containers without host networking,
    whose ports Docker publishes through NAT) are not listening in the node's namespace; a published port
    still shows C(docker-proxy) as its owner.
"""

EXAMPLES = r"""
- name: Look for other processes on the Ray ports
  wizardsofts.ray.port_owner:
    ports: [6379, 8265, 10001, 9091]
  register: _owners

- name: Fail on a port held by anything but our own Ray containers
  ansible.builtin.assert:
    that: _owners.conflicts | length == 0
    fail_msg: "{{ _owners.conflicts | map(attribute='summary') | join('; ') }}"
"""

RETURN = r"""
listeners:
  description: Every listening socket on one of O(ports), ours or not, sorted by port.
  returned: always
  type: list
  elements: dict
  contains:
    port:
      description: The TCP port.
      type: int
      sample: 8080
    address:
      description: The local address the socket is bound to.
      type: str
      sample: 0.0.0.0
    pid:
      description: PID of the process holding the socket, or null if no process was found (a kernel socket).
      type: int
      sample: 4242
    process:
      description: The process name (C(/proc/PID/comm)), or null.
      type: str
      sample: prometheus-node
    command:
      description: The process's command line, arguments joined by spaces, or null.
      type: str
      sample: /usr/bin/prometheus-node-exporter --web.listen-address=:8080
    container:
      description: Name of the Docker container the process runs in, or null for a process of the node itself.
      type: str
      sample: ray-head
    ours:
      description: Whether that container carries O(own_label).
      type: bool
      sample: false
    summary:
      description: One line for people, for example C(port 8080 (0.0.0.0) is held by prometheus-node, pid 4242 ...).
      type: str
conflicts:
  description: The elements of RV(listeners) that are not ours.
  returned: always
  type: list
  elements: dict
containers:
  description: Running containers that were matched against, as C(name), C(pid), C(ours). Empty when no Docker engine answered.
  returned: always
  type: list
  elements: dict
"""

import os
import socket
import struct

from ansible.module_utils.basic import AnsibleModule

_LISTEN = "0A"
_PROC = "/proc"


def _decode_address(hex_address, family):
    """Address of /proc/net/tcp{,6} (little-endian 32-bit words in hex) as text."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(struct.pack("<I", struct.unpack(">I", raw[i:i + 4])[0]) for i in range(0, len(raw), 4))
    return socket.inet_ntop(family, words)


def listening_sockets(ports):
    """Map socket inode to (address, port) for sockets in LISTEN state on one of ports."""
    found = {}
    for name, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        try:
            with open(os.path.join(_PROC, "net", name)) as table:
                lines = table.readlines()[1:]
        except OSError:  # no IPv6 on this node
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != _LISTEN:
                continue
            hex_address, hex_port = fields[1].split(":")
            port = int(hex_port, 16)
            if port in ports:
                found[fields[9]] = (_decode_address(hex_address, family), port)
    return found


def socket_owners(inodes):
    """Map socket inode to the lowest PID holding it, scanning /proc/PID/fd."""
    owners = {}
    wanted = {"socket:[%s]" % inode: inode for inode in inodes}
    pids = sorted(int(entry) for entry in os.listdir(_PROC) if entry.isdigit())
    for pid in pids:
        fd_dir = os.path.join(_PROC, str(pid), "fd")
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
    return owners


def _read(path, default=None):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return default


def pid_namespace(pid):
    try:
        return os.readlink(os.path.join(_PROC, str(pid), "ns", "pid"))
    except OSError:
        return None


class PortOwners:
    """Finds who holds the ports; the containers come from the Docker CLI when it answers."""

    def __init__(self, module):
        self.module = module
        self.ports = set(module.params["ports"])
        self.own_label = module.params["own_label"]

    def containers(self):
        docker = self.module.get_bin_path("docker", opt_dirs=["/snap/bin"])
        if docker is None:
            return []
        rc, out, dummy = self.module.run_command([docker, "ps", "--quiet", "--no-trunc"])
        ids = out.split()
        if rc != 0 or not ids:  # no engine running: no container can hold a port
            return []
        template = '{{.State.Pid}}\t{{.Name}}\t{{if index .Config.Labels "%s"}}yes{{end}}' % self.own_label
        rc, out, err = self.module.run_command([docker, "inspect", "--format", template] + ids)
        if rc != 0:
            self.module.fail_json(msg="docker inspect of the running containers failed: %s" % err.strip())
        found = []
        for line in out.splitlines():
            pid, name, ours = (line.split("\t") + ["", ""])[:3]
            found.append({"name": name.lstrip("/"), "pid": int(pid), "ours": ours == "yes",
                          "namespace": pid_namespace(pid)})
        return found

    def run(self):
        sockets = listening_sockets(self.ports)
        owners = socket_owners(sockets)
        containers = self.containers()
        by_namespace = {c["namespace"]: c for c in containers if c["namespace"]}
        host_namespace = pid_namespace(1)
        listeners = []
        for inode, (address, port) in sockets.items():
            pid = owners.get(inode)
            listener = {"port": port, "address": address, "pid": pid, "process": None, "command": None,
                        "container": None, "ours": False}
            if pid is not None:
                listener["process"] = _read(os.path.join(_PROC, str(pid), "comm"), b"").decode(errors="replace").strip() or None
                argv = _read(os.path.join(_PROC, str(pid), "cmdline"), b"").split(b"\0")
                listener["command"] = " ".join(a.decode(errors="replace") for a in argv if a) or None
                namespace = pid_namespace(pid)
                container = by_namespace.get(namespace) if namespace != host_namespace else None
                if container:
                    listener["container"] = container["name"]
                    listener["ours"] = container["ours"]
            listener["summary"] = self.summary(listener)
            listeners.append(listener)
        listeners.sort(key=lambda item: (item["port"], item["address"]))
        return {
            "changed": False,
            "listeners": listeners,
            "conflicts": [item for item in listeners if not item["ours"]],
            "containers": [{k: c[k] for k in ("name", "pid", "ours")} for c in containers],
        }

    @staticmethod
    def summary(listener):
        where = "port %d (%s) is held by " % (listener["port"], listener["address"])
        if listener["pid"] is None:
            return where + "a socket with no process (kernel or another namespace)"
        text = where + "%s, pid %d (%s)" % (listener["process"], listener["pid"], listener["command"])
        if listener["container"]:
            text += " in container %s" % listener["container"]
        return text


def main():
    module = AnsibleModule(
        argument_spec={
            "ports": {"type": "list", "elements": "int", "required": True},
            "own_label": {"type": "str", "default": "io.wizardsofts.ray.role"},
        },
        supports_check_mode=True,
    )
    module.exit_json(**PortOwners(module).run())


if __name__ == "__main__":
    main()
