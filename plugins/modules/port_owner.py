#!/usr/bin/python
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: port_owner
short_description: Find the processes listening on TCP ports, and the containers they run in
version_added: 0.1.0
author:
  - WizardSofts ML platform team (@wizardsofts)
description:
  - Reads the node's listening TCP sockets (C(/proc/net/tcp), C(/proc/net/tcp6)) for the given ports and
    finds, through C(/proc/PID/fd), the process holding each of them (its PID and name).
  - Never reads or returns a process's command line, which may carry a password; the process name
    (C(/proc/PID/comm)), the PID and the container name identify it.
  - When a Docker engine answers, a process is matched to the running container whose PID namespace it
    shares, so a port held by a container is reported with the container's name and labels.
  - A listener is I(ours) when its container carries the label O(own_label) (the collection's Ray
    containers do); every other listener is a I(conflict). Preflight fails on conflicts only, so a
    re-run over a running cluster is not a conflict, while the seed's Prometheus exporter on 8080 is.
  - Reads only; changes nothing. Needs root to see other users' processes.
  - M(wizardsofts.ray.node_facts) reads the same listeners for every port, with the rest of the node's state, in
    one call.
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
    container:
      description: Name of the Docker container the process runs in, or null for a process of the node itself.
      type: str
      sample: ray-head
    ours:
      description: Whether that container carries O(own_label).
      type: bool
      sample: false
    summary:
      description:
        - One line for people with the process name, its PID and its container, never its command line.
      type: str
      sample: port 8080 (0.0.0.0) is held by prometheus-node, pid 4242
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wizardsofts.ray.plugins.module_utils._listeners import (
    ListenerError,
    match_containers,
    read_listeners,
    summary,
)


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
            found.append({"name": name.lstrip("/"), "pid": int(pid), "ours": ours == "yes"})
        return found

    def run(self):
        try:
            listeners = read_listeners(self.ports)
        except ListenerError as exc:
            # As before: no socket table, no listener; but say so instead of passing in silence.
            self.module.warn("No listener could be read, %s" % exc)
            listeners = []
        containers = self.containers()
        match_containers(listeners, containers)
        for listener in listeners:
            listener["summary"] = summary(listener)
        return {
            "changed": False,
            "listeners": listeners,
            "conflicts": [item for item in listeners if not item["ours"]],
            "containers": [{k: c[k] for k in ("name", "pid", "ours")} for c in containers],
        }


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
