#!/usr/bin/python
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: node_facts
short_description: Everything the collection needs to know about a node, read in one call
version_added: "0.2.0"
author:
  - WizardSofts ML platform team (@wizardsofts)
description:
  - Reads, in one module run, what preflight and the roles decide from; a converged re-run then needs one round
    trip per node to know its state, instead of a gathering of facts plus one C(stat) or module per question.
  - The node's CPUs, memory, effective user, OS and architecture; whether Docker is the snap package; whether
    the Docker engine answers on its socket, its version and the parsed C(/etc/docker/daemon.json); the installed
    versions of the packages that matter to Docker, the firewall and GPUs (one C(dpkg-query) run); whether UFW is
    enabled, whether firewalld runs and which nftables tables are loaded; every listening TCP socket with its process and container; the images and
    containers asked for; the GPUs C(nvidia-smi -L) lists; and the directories asked for.
  - Every part fails soft. What cannot be read is null or empty, and a short reason goes into RV(node.warnings);
    the module fails only on bad options. An engine that does not answer is a fact (RV(node.docker.answers)), not
    an error.
  - Never reads a process's command line, which may carry a password; listeners name the process
    (C(/proc/PID/comm)), its PID and its container.
  - Reads only; it never changes anything, so it always reports RV(ignore:changed=false). Run it as root
    (C(become)) to see other users' processes and C(/etc/docker/daemon.json).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Read-only, so check mode reads the node for real.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
    details: Linux only (C(/proc), C(/etc/os-release)); packages on Debian-family systems (C(dpkg-query)).
options:
  images:
    description:
      - Image names to look for in the engine's image store, for example V(rayproject/ray:2.60.0).
    type: list
    elements: str
    default: []
  containers:
    description:
      - Container names (or IDs) to inspect.
    type: list
    elements: str
    default: []
  own_label:
    description:
      - Label that marks the containers this collection manages; a listener in a container carrying it is RV(node.listeners[].ours).
    type: str
    default: io.wizardsofts.ray.role
  data_dirs:
    description:
      - Absolute paths of directories to describe (existence, owner, mode, number of entries), for example the
        directory Ray's containers mount.
    type: list
    elements: str
    default: []
  paths:
    description:
      - Absolute paths to fingerprint (type, owner, group, mode, and for a regular file of at most 1 MiB its SHA-256),
        so that a caller can tell whether the files it manages are as it wants them without reading their content.
    type: list
    elements: str
    default: []
    version_added: 0.2.0
  docker_socket:
    description:
      - Path of the Docker engine's unix socket (a C(unix://) prefix is accepted).
    type: str
    default: /var/run/docker.sock
  root:
    description:
      - Directory prepended to the configuration files read (C(/etc/os-release), C(/etc/docker/daemon.json),
        C(/etc/ufw/ufw.conf), C(/snap/bin/docker), C(/run/firewalld/firewalld.pid)), for tests and chroots.
      - C(/proc), the processes, O(docker_socket) and O(data_dirs) are always the running system's.
    type: path
    default: /
notes:
  - Listeners are the sockets of the node's network namespace. A container with its own network namespace has
    its sockets there; a port it publishes shows C(docker-proxy) as its owner.
  - A listener's process is matched to a running container by its PID namespace; a container started with
    C(--pid host) cannot be told apart from the node.
  - Packages are read on Debian-family nodes only; elsewhere RV(node.packages) is empty with a warning.
seealso:
  - module: wizardsofts.ray.port_owner
  - module: ansible.builtin.setup
"""

EXAMPLES = r"""
- name: Read the node's state once
  wizardsofts.ray.node_facts:
    images:
      - rayproject/ray:2.60.0
    containers:
      - ray-head
    data_dirs:
      - /home/ray-data
  register: _facts

- name: Fail early when the Docker engine is down
  ansible.builtin.assert:
    that: _facts.node.docker.answers
    fail_msg: "Docker does not answer on {{ inventory_hostname }}: {{ _facts.node.warnings | join('; ') }}"

- name: Ports held by anything but our own Ray containers
  ansible.builtin.debug:
    msg: "{{ _facts.node.listeners | rejectattr('ours') | selectattr('port', 'in', [6379, 8265, 10001])
             | map(attribute='process') | list }}"

- name: Pull the image only when it is not there yet
  community.docker.docker_image_pull:
    name: rayproject/ray:2.60.0
  when: not _facts.node.images['rayproject/ray:2.60.0'] | default(false)

- name: Keep the SSH port open in the firewall, whatever port sshd listens on
  ansible.builtin.debug:
    msg: "sshd listens on {{ _facts.node.sshd_ports | join(', ') }}"
"""

RETURN = r"""
node:
  description: The node's state.
  type: dict
  returned: always
  contains:
    cpus:
      description: vCPUs this process may run on (the scheduler affinity, else the CPU count); what Docker's C(--cpus) is checked against.
      type: int
      sample: 8
    memory_bytes:
      description: C(MemTotal) of C(/proc/meminfo), in bytes; null when unreadable.
      type: int
      sample: 16725135360
    user_uid:
      description: Effective UID the module runs as (V(0) with C(become)).
      type: int
      sample: 0
    os:
      description: From C(/etc/os-release) (else C(/usr/lib/os-release)); each field null when missing.
      type: dict
      contains:
        id:
          description: C(ID), for example V(ubuntu) or V(debian).
          type: str
          sample: ubuntu
        version_id:
          description: C(VERSION_ID).
          type: str
          sample: "24.04"
        codename:
          description: C(VERSION_CODENAME), else C(UBUNTU_CODENAME).
          type: str
          sample: noble
    architecture:
      description: The machine type, as C(uname -m) prints it.
      type: str
      sample: x86_64
    snap_docker:
      description: Whether C(/snap/bin/docker) exists (Docker from the snap, which mounts only paths under C(/home)).
      type: bool
      sample: false
    docker:
      description: The Docker engine and its configuration file.
      type: dict
      contains:
        answers:
          description: Whether the engine answered C(/_ping) on O(docker_socket).
          type: bool
          sample: true
        socket:
          description: The socket asked, O(docker_socket) without a C(unix://) prefix.
          type: str
          sample: /var/run/docker.sock
          version_added: 0.2.0
        version:
          description: The engine's version, null when it did not answer.
          type: str
          sample: 27.3.1
        api_version:
          description: The newest API version the engine speaks, null when it did not answer.
          type: str
          sample: "1.47"
        daemon_json:
          description: The parsed C(/etc/docker/daemon.json); null when the file is absent or invalid.
          type: dict
          sample: {"log-driver": "json-file", "log-opts": {"max-size": "10m"}}
        daemon_json_error:
          description: Why C(/etc/docker/daemon.json) could not be used (not JSON, not an object, unreadable); null when it is fine or absent.
          type: str
          sample: "/etc/docker/daemon.json is not valid JSON: Expecting ',' delimiter: line 3 column 5 (char 31)"
    packages:
      description:
        - Installed packages among docker.io, docker-ce, docker-ce-cli, docker-ce-rootless-extras, containerd.io, containerd, moby-engine,
          podman-docker, python3-docker, ufw, iptables-persistent, netfilter-persistent, firewalld, nftables and
          nvidia-container-toolkit, as name to version; packages not installed are left out.
        - Empty, with a warning, when C(dpkg-query) is missing.
      type: dict
      sample: {"docker-ce": "5:27.3.1-1~ubuntu.24.04~noble", "ufw": "0.36.2-6"}
    firewall:
      description: The host firewalls.
      type: dict
      contains:
        ufw_active:
          description: Whether C(/etc/ufw/ufw.conf) says C(ENABLED=yes) (false when UFW is not installed); null when unreadable.
          type: bool
          sample: true
        firewalld_running:
          description: Whether C(/run/firewalld/firewalld.pid) (or C(/var/run/...)) names a live process.
          type: bool
          sample: false
        ufw_defaults:
          description: The content of C(/etc/default/ufw) (its default policies); null when absent or unreadable.
          type: str
          version_added: 0.2.0
        ufw_user_rules:
          description:
            - The contents of UFW's rule files C(/etc/ufw/user.rules) and C(/etc/ufw/user6.rules), what C(ufw show added)
              lists, so that a caller can compare the firewall with what it wants without running C(ufw); empty when
              UFW is not installed.
          type: list
          elements: str
          version_added: 0.2.0
        nftables_tables:
          description:
            - The tables of the ruleset in force, as C(nft -j list ruleset) lists them, each with C(family), C(name)
              and C(chains) (the names of its chains), in the kernel's order. Tables that C(iptables-nft) makes (UFW's
              and Docker's rules live there) are listed like any other; the cluster model tells them apart.
            - Null when the C(nftables) package (which brings C(nft)) is not installed, or when C(nft) fails (not
              root), then with a warning. Firewalld, which loads its rules through the library, is
              RV(node.firewall.firewalld_running).
          type: list
          elements: dict
          sample: [{"family": "inet", "name": "filter", "chains": ["input", "forward", "output"]}]
          version_added: 0.2.0
    listeners:
      description: Every listening TCP socket of the node (IPv4 and IPv6), sorted by port, then address.
      type: list
      elements: dict
      contains:
        port:
          description: The TCP port.
          type: int
          sample: 22
        address:
          description: The local address the socket is bound to.
          type: str
          sample: 0.0.0.0
        pid:
          description: PID of the lowest-numbered process holding the socket; null when none can be seen (a kernel socket, or not root).
          type: int
          sample: 812
        process:
          description: That process's name (C(/proc/PID/comm), at most 15 characters), never its command line; or null.
          type: str
          sample: sshd
        container:
          description: Name of the running Docker container the process runs in, or null for a process of the node.
          type: str
          sample: ray-head
        ours:
          description: Whether that container carries O(own_label).
          type: bool
          sample: false
    sshd_ports:
      description: Sorted ports on which a process named C(sshd) listens.
      type: list
      elements: int
      sample: [22]
    images:
      description: For each of O(images), whether the engine has it. Empty when the engine did not answer.
      type: dict
      sample: {"rayproject/ray:2.60.0": true}
    containers:
      description:
        - For each of O(containers), null when there is no such container, else a dict with C(id), C(running)
          (bool), C(status) (V(running), V(exited), ...), C(image) (the name it was created from), C(labels)
          (dict) and C(started_at).
        - Empty when the engine did not answer.
      type: dict
      sample:
        ray-head:
          id: 4f0c2b8d0e6f8f1f2c3b5a5e0d1c9b8a7f6e5d4c3b2a1908f7e6d5c4b3a29180
          running: true
          status: running
          image: rayproject/ray:2.60.0
          labels: {"io.wizardsofts.ray.role": "head"}
          started_at: "2026-01-12T09:30:01.123456789Z"
        ray-worker: null
    gpus:
      description:
        - The GPUs C(nvidia-smi -L) lists, in its order; empty when it is not installed or fails (RV(node.gpus_reason)
          says which). MIG devices are left out.
      type: list
      elements: dict
      version_added: 0.3.0
      contains:
        index:
          description: The GPU's index, as C(nvidia-smi) and C(CUDA_VISIBLE_DEVICES) number it.
          type: int
          sample: 0
        name:
          description: The GPU's model name.
          type: str
          sample: NVIDIA A10G
        uuid:
          description: The GPU's UUID; null when the line carries none.
          type: str
          sample: GPU-5d1a8b0c-3f44-7e21-9c1b-2a6e0f3d4b5c
    gpus_reason:
      description: Why RV(node.gpus) is empty (no C(nvidia-smi), or how it failed); null when it lists GPUs.
      type: str
      version_added: 0.3.0
      sample: nvidia-smi not found (no NVIDIA driver installed)
    nvidia_driver:
      description: Whether C(nvidia-smi -L) ran with exit code 0 (the driver is loaded).
      type: bool
      sample: false
    data_dirs:
      description:
        - For each of O(data_dirs), a dict with C(exists), C(is_dir) (bools, following symbolic links),
          C(owner_uid), C(mode) (octal string), C(entries), the number of entries in the directory counted up
          to 1000 (V(1000) means 1000 or more), and C(names), the first 20 of those names in sorted order (all
          of them when C(entries) is 20 or less). Fields that cannot be read are null.
      type: dict
      sample:
        /home/ray-data:
          exists: true
          is_dir: true
          owner_uid: 1000
          mode: "0755"
          entries: 3
          names: [.wizardsofts-ray, secrets, session]
    paths:
      description:
        - For each of O(paths), a dict with C(exists) (bool), C(type) (V(directory), V(file) or V(other)), C(uid),
          C(gid), C(mode) (octal string) and C(sha256) (regular files of at most 1 MiB; null otherwise). Fields that
          cannot be read are null.
      type: dict
      sample:
        /var/lib/ray/secrets/auth_token:
          exists: true
          type: file
          uid: 1000
          gid: 100
          mode: "0600"
          sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    warnings:
      description: One line per part that could not be read, saying why. Empty when everything was read.
      type: list
      elements: str
      sample: ["docker: no Docker engine socket at /var/run/docker.sock (is Docker installed and running?)"]
"""

import hashlib
import json
import os
import platform
import re
import shlex
import stat

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wizardsofts.ray.plugins.module_utils._docker_api import DockerAPI, DockerAPIError
from ansible_collections.wizardsofts.ray.plugins.module_utils._listeners import (
    PROC,
    ListenerError,
    in_other_namespace,
    match_containers,
    read_listeners,
)

# The packages whose presence changes what the roles do: the Docker flavours (and the ones that conflict
# with docker-ce), the Python Docker SDK, the firewalls and their persistence, the NVIDIA container runtime.
PACKAGES = (
    'docker.io', 'docker-ce', 'docker-ce-cli', 'docker-ce-rootless-extras', 'containerd.io', 'containerd', 'moby-engine', 'podman-docker',
    'python3-docker', 'ufw', 'iptables-persistent', 'netfilter-persistent', 'firewalld', 'nftables',
    'nvidia-container-toolkit',
)
DPKG_FORMAT = '${Package}\t${Status}\t${Version}\n'
# Seconds each request to the engine may take; a hung engine must not hang the play.
DOCKER_TIMEOUT = 10.0
ENTRIES_CAP = 1000
# Names of a directory's entries returned: enough to tell Ray's own few entries from someone else's files.
NAMES_CAP = 20
# Files up to this size get a SHA-256 in node.paths (the collection's own files are a few bytes to a few KiB).
DIGEST_CAP = 1024 * 1024
_GPU_LINE = re.compile(r'^GPU (?P<index>\d+): (?P<name>.+?)(?: \(UUID: (?P<uuid>[^)]*)\))?$')


class NodeFactsParams(object):
    """The module's options, checked."""

    def __init__(self, params):
        self.images = params['images']
        self.containers = params['containers']
        self.own_label = params['own_label']
        self.data_dirs = params['data_dirs']
        self.paths = params['paths']
        self.docker_socket = params['docker_socket']
        self.root = params['root']

    def problems(self):
        """Option values the argument spec cannot reject by itself."""
        found = []
        for option in ('data_dirs', 'paths'):
            relative = [path for path in getattr(self, option) if not os.path.isabs(path)]
            if relative:
                found.append('%s must be absolute paths, got %s' % (option, ', '.join(relative)))
        if not os.path.isabs(self.root):
            found.append('root must be an absolute path, got %s' % self.root)
        if not self.own_label:
            found.append('own_label must not be empty')
        return found

    def path(self, system_path):
        """A system path (/etc/...) under root."""
        return os.path.join(self.root, system_path.lstrip('/'))


def parse_os_release(text):
    """KEY=value pairs of an os-release file; values may be quoted, shell-style."""
    found = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#') or '=' not in line:
            continue
        key, value = line.split('=', 1)
        try:
            words = shlex.split(value)
        except ValueError:
            words = [value.strip('"\'')]
        found[key.strip()] = ' '.join(words)
    return found


def parse_dpkg_query(text):
    """Name to version of the installed packages in dpkg-query -W -f '${Package}\\t${Status}\\t${Version}\\n' output."""
    installed = {}
    for line in text.splitlines():
        fields = line.split('\t')
        if len(fields) != 3:
            continue
        name, status, version = fields
        # Status is "want flag state": "install ok installed", "hold ok installed", "deinstall ok config-files".
        words = status.split()
        if len(words) == 3 and words[2] == 'installed' and version:
            installed[name] = version
    return installed


def parse_nft_tables(text):
    """The tables of `nft -j list ruleset` output: [{family, name, chains}], in the order nft lists them."""
    data = json.loads(text)
    items = data.get('nftables') if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ValueError('no "nftables" list in the output of nft -j list ruleset')
    tables, by_key = [], {}
    for item in items:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get('table'), dict):
            table = {'family': item['table'].get('family'), 'name': item['table'].get('name'), 'chains': []}
            tables.append(table)
            by_key[(table['family'], table['name'])] = table
        elif isinstance(item.get('chain'), dict):
            chain = item['chain']
            table = by_key.get((chain.get('family'), chain.get('table')))
            if table is not None:
                table['chains'].append(chain.get('name'))
    return tables


def parse_nvidia_smi(text):
    """The GPUs of nvidia-smi -L output ("GPU 0: NVIDIA A10G (UUID: GPU-...)"): index, name, UUID; MIG devices
    (indented "MIG ..." lines) are left out."""
    gpus = []
    for line in text.splitlines():
        match = _GPU_LINE.match(line.strip())
        if match:
            gpus.append({'index': int(match.group('index')), 'name': match.group('name'),
                         'uuid': match.group('uuid') or None})
    return gpus


def _first_line(text):
    lines = [line.strip() for line in (text or '').splitlines() if line.strip()]
    return lines[0] if lines else 'no output'


class NodeFacts(object):
    """Reads the node, part by part; a part that cannot be read leaves a warning instead of failing."""

    def __init__(self, module, params):
        self.module = module
        self.params = params
        self.warnings = []
        self.api = DockerAPI(params.docker_socket, timeout=DOCKER_TIMEOUT)
        self.engine_answers = False
        self.installed = {}

    def warn(self, part, reason):
        self.warnings.append('%s: %s' % (part, reason))

    def _soft(self, part, read, default):
        """read(), or default with a warning on an error no part foresaw: a fact is never worth a failed play."""
        try:
            return read()
        except Exception as exc:  # pylint: disable=broad-exception-caught
            self.warn(part, 'unexpected error: %s: %s' % (type(exc).__name__, exc))
            return default

    def gather(self):
        node = {}
        node['cpus'] = self._soft('cpus', self.cpus, None)
        node['memory_bytes'] = self._soft('memory_bytes', self.memory_bytes, None)
        node['user_uid'] = os.geteuid()
        node['os'] = self._soft('os', self.os_release, {'id': None, 'version_id': None, 'codename': None})
        node['architecture'] = platform.machine() or None
        node['snap_docker'] = os.path.exists(self.params.path('/snap/bin/docker'))
        node['docker'] = self._soft('docker', self.docker, {
            'answers': False, 'socket': self.api.socket_path, 'version': None, 'api_version': None,
            'daemon_json': None, 'daemon_json_error': None})
        node['packages'] = self._soft('packages', self.packages, {})
        node['firewall'] = self._soft('firewall', self.firewall, {'ufw_active': None, 'firewalld_running': None,
                                                                  'ufw_defaults': None, 'ufw_user_rules': [],
                                                                  'nftables_tables': None})
        node['listeners'] = self._soft('listeners', self.listeners, [])
        node['sshd_ports'] = sorted(set(item['port'] for item in node['listeners'] if item['process'] == 'sshd'))
        node['images'] = self._soft('images', self.images, {})
        node['containers'] = self._soft('containers', self.containers, {})
        node['gpus'], node['nvidia_driver'], node['gpus_reason'] = self._soft(
            'gpus', self.gpus, ([], False, 'nvidia-smi could not be run'))
        node['data_dirs'] = self._soft('data_dirs', self.data_dirs, {})
        node['paths'] = self._soft('paths', self.paths, {})
        node['warnings'] = self.warnings
        return node

    # ------------------------------------------------------------------ machine

    @staticmethod
    def cpus():
        try:
            return len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            return os.cpu_count()

    def memory_bytes(self):
        path = os.path.join(PROC, 'meminfo')
        try:
            with open(path) as meminfo:
                for line in meminfo:
                    fields = line.split()
                    if len(fields) >= 2 and fields[0] == 'MemTotal:':
                        # The kernel writes kB and means KiB.
                        return int(fields[1]) * 1024
        except OSError as exc:
            self.warn('memory_bytes', 'cannot read %s: %s' % (path, exc.strerror or exc))
            return None
        self.warn('memory_bytes', 'no MemTotal line in %s' % path)
        return None

    def os_release(self):
        facts = {'id': None, 'version_id': None, 'codename': None}
        tried = []
        for system_path in ('/etc/os-release', '/usr/lib/os-release'):
            path = self.params.path(system_path)
            try:
                with open(path) as release:
                    fields = parse_os_release(release.read())
            except OSError as exc:
                tried.append('%s (%s)' % (path, exc.strerror or exc))
                continue
            facts['id'] = fields.get('ID') or None
            facts['version_id'] = fields.get('VERSION_ID') or None
            facts['codename'] = fields.get('VERSION_CODENAME') or fields.get('UBUNTU_CODENAME') or None
            return facts
        self.warn('os', 'cannot read %s' % ' or '.join(tried))
        return facts

    # ------------------------------------------------------------------ Docker

    def docker(self):
        facts = {'answers': False, 'socket': self.api.socket_path, 'version': None, 'api_version': None}
        facts['daemon_json'], facts['daemon_json_error'] = self.daemon_json()
        if facts['daemon_json_error']:
            self.warn('docker', facts['daemon_json_error'])
        if not self.api.ping():
            self.warn('docker', self._why_no_engine())
            return facts
        facts['answers'] = self.engine_answers = True
        try:
            version = self.api.version()
        except DockerAPIError as exc:
            self.warn('docker', 'the engine answers, but its version could not be read: %s' % exc)
            return facts
        if isinstance(version, dict):
            facts['version'] = version.get('Version')
            facts['api_version'] = version.get('ApiVersion')
        return facts

    def _why_no_engine(self):
        # ping() says only yes or no; a real request gives the reason (no socket, refused, denied, time-out).
        try:
            self.api.version()
        except DockerAPIError as exc:
            return exc.message
        return 'the engine at %s did not answer /_ping with OK' % self.api.socket_path

    def daemon_json(self):
        """(parsed daemon.json or None, why it cannot be used or None)."""
        path = self.params.path('/etc/docker/daemon.json')
        try:
            with open(path, 'rb') as config:
                data = config.read()
        except FileNotFoundError:
            return None, None
        except OSError as exc:
            return None, 'cannot read %s: %s' % (path, exc.strerror or exc)
        try:
            text = data.decode('utf-8-sig')
        except UnicodeDecodeError as exc:
            return None, '%s is not UTF-8 text: %s' % (path, exc)
        if not text.strip():
            # dockerd takes an empty file for an empty configuration.
            return {}, None
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            return None, '%s is not valid JSON: %s' % (path, exc)
        if not isinstance(parsed, dict):
            return None, '%s must hold a JSON object, not a %s' % (path, type(parsed).__name__)
        return parsed, None

    def _engine_needed(self, part, wanted):
        if wanted and not self.engine_answers:
            self.warn(part, 'not looked for: the Docker engine did not answer')
        return bool(wanted) and self.engine_answers

    def images(self):
        found = {}
        if not self._engine_needed('images', self.params.images):
            return found
        for name in self.params.images:
            try:
                found[name] = self.api.image_exists(name)
            except DockerAPIError as exc:
                self.warn('images', '%s: %s' % (name, exc))
        return found

    def containers(self):
        found = {}
        if not self._engine_needed('containers', self.params.containers):
            return found
        for name in self.params.containers:
            try:
                container = self.api.inspect_container(name)
            except DockerAPIError as exc:
                self.warn('containers', '%s: %s' % (name, exc))
                continue
            found[name] = self._describe(container) if container is not None else None
        return found

    @staticmethod
    def _describe(container):
        state = container.get('State') or {}
        config = container.get('Config') or {}
        return {
            'id': container.get('Id'),
            'running': bool(state.get('Running')),
            'status': state.get('Status'),
            'image': config.get('Image'),
            'labels': config.get('Labels') or {},
            'started_at': state.get('StartedAt'),
        }

    def running_containers(self):
        """The running containers as listeners are matched against: name, main PID, ours."""
        found = []
        for summary in self.api.list_containers(all=False):
            container = self.api.inspect_container(summary['Id'])
            if container is None:  # it went away since the list
                continue
            labels = (container.get('Config') or {}).get('Labels') or {}
            found.append({
                'name': (container.get('Name') or '').lstrip('/'),
                'pid': (container.get('State') or {}).get('Pid') or 0,
                'ours': self.params.own_label in labels,
            })
        return found

    # ------------------------------------------------------------------ packages, firewall, GPUs

    def packages(self):
        dpkg_query = self.module.get_bin_path('dpkg-query')
        if dpkg_query is None:
            self.warn('packages', 'dpkg-query not found (not a Debian-family node): packages not read')
            return {}
        rc, out, err = self.module.run_command([dpkg_query, '-W', '-f', DPKG_FORMAT] + list(PACKAGES))
        # rc 1 means some names are not known to dpkg at all; the others are printed all the same.
        if rc not in (0, 1):
            self.warn('packages', 'dpkg-query failed (rc %d): %s' % (rc, _first_line(err)))
        self.installed = parse_dpkg_query(out)
        return self.installed

    def firewall(self):
        return {'ufw_active': self.ufw_active(), 'firewalld_running': self.firewalld_running(),
                'ufw_defaults': self._read_text('/etc/default/ufw'),
                'ufw_user_rules': [text for text in (self._read_text('/etc/ufw/user.rules'),
                                                     self._read_text('/etc/ufw/user6.rules')) if text is not None],
                'nftables_tables': self.nftables_tables()}

    def nftables_tables(self):
        # nft comes with Debian's nftables package: without it nothing loaded a ruleset with nft (firewalld, which
        # uses the library, is found by its own fact).
        if 'nftables' not in self.installed:
            return None
        nft = self.module.get_bin_path('nft')
        if nft is None:
            self.warn('firewall', 'the nftables package is installed, but nft is not on PATH: its ruleset not read')
            return None
        rc, out, err = self.module.run_command([nft, '-j', 'list', 'ruleset'])
        if rc != 0:
            self.warn('firewall', 'nft -j list ruleset failed (rc %d): %s' % (rc, _first_line(err or out)))
            return None
        try:
            return parse_nft_tables(out)
        except ValueError as exc:
            self.warn('firewall', 'nft -j list ruleset: %s' % exc)
            return None

    def _read_text(self, system_path):
        path = self.params.path(system_path)
        try:
            with open(path) as handle:
                return handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.warn('firewall', 'cannot read %s: %s' % (path, exc.strerror or exc))
            return None

    def ufw_active(self):
        path = self.params.path('/etc/ufw/ufw.conf')
        try:
            with open(path) as conf:
                text = conf.read()
        except FileNotFoundError:
            return False
        except OSError as exc:
            self.warn('firewall', 'cannot read %s: %s' % (path, exc.strerror or exc))
            return None
        enabled = parse_os_release(text).get('ENABLED', 'no')
        return enabled.strip().lower() == 'yes'

    def firewalld_running(self):
        for system_path in ('/run/firewalld/firewalld.pid', '/var/run/firewalld/firewalld.pid'):
            path = self.params.path(system_path)
            try:
                with open(path) as pid_file:
                    text = pid_file.read().strip()
            except FileNotFoundError:
                continue
            except OSError as exc:
                self.warn('firewall', 'cannot read %s: %s' % (path, exc.strerror or exc))
                return None
            if not text.isdigit() or int(text) <= 0:
                self.warn('firewall', '%s does not hold a PID: %r' % (path, text[:40]))
                return None
            return self._alive(int(text))
        return False

    @staticmethod
    def _alive(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # it exists, and is not ours to signal
            return True
        return True

    def gpus(self):
        """(GPUs, whether the driver answered, why there are none or None)."""
        smi = self.module.get_bin_path('nvidia-smi')
        if smi is None:
            # A node without nvidia-smi is a CPU node: a reason, not a warning.
            return [], False, 'nvidia-smi not found (no NVIDIA driver installed)'
        rc, out, err = self.module.run_command([smi, '-L'])
        if rc != 0:
            reason = 'nvidia-smi -L failed (rc %d): %s' % (rc, _first_line(err or out))
            self.warn('gpus', reason)
            return [], False, reason
        gpus = parse_nvidia_smi(out)
        return gpus, True, None if gpus else 'nvidia-smi -L listed no GPU'

    # ------------------------------------------------------------------ sockets and directories

    def listeners(self):
        try:
            listeners = read_listeners()
        except ListenerError as exc:
            self.warn('listeners', str(exc))
            return []
        if self.engine_answers and in_other_namespace(listeners):
            try:
                match_containers(listeners, self.running_containers())
            except DockerAPIError as exc:
                self.warn('listeners', 'not matched to containers: %s' % exc)
        hidden = sum(1 for item in listeners if item['pid'] is None)
        if hidden and os.geteuid() != 0:
            self.warn('listeners', '%d socket(s) without a visible process: run as root (become: true) to see '
                                   'other users\' processes' % hidden)
        return [dict((key, item[key]) for key in ('port', 'address', 'pid', 'process', 'container', 'ours'))
                for item in listeners]

    def data_dirs(self):
        return dict((path, self.describe_dir(path)) for path in self.params.data_dirs)

    def paths(self):
        return dict((path, self.describe_path(path)) for path in self.params.paths)

    def describe_path(self, path):
        facts = {'exists': False, 'type': None, 'uid': None, 'gid': None, 'mode': None, 'sha256': None}
        try:
            info = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return facts
        except OSError as exc:
            self.warn('paths', 'cannot stat %s: %s' % (path, exc.strerror or exc))
            facts['exists'] = None
            return facts
        kind = 'directory' if stat.S_ISDIR(info.st_mode) else 'file' if stat.S_ISREG(info.st_mode) else 'other'
        facts.update(exists=True, type=kind, uid=info.st_uid, gid=info.st_gid, mode='%04o' % stat.S_IMODE(info.st_mode))
        if kind == 'file' and info.st_size <= DIGEST_CAP:
            try:
                with open(path, 'rb') as handle:
                    facts['sha256'] = hashlib.sha256(handle.read()).hexdigest()
            except OSError as exc:
                self.warn('paths', 'cannot read %s: %s' % (path, exc.strerror or exc))
        return facts

    def describe_dir(self, path):
        facts = {'exists': False, 'is_dir': False, 'owner_uid': None, 'mode': None, 'entries': None, 'names': None}
        try:
            info = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return facts
        except OSError as exc:
            self.warn('data_dirs', 'cannot stat %s: %s' % (path, exc.strerror or exc))
            facts['exists'] = facts['is_dir'] = None
            return facts
        facts.update(exists=True, is_dir=stat.S_ISDIR(info.st_mode), owner_uid=info.st_uid,
                     mode='%04o' % stat.S_IMODE(info.st_mode))
        if facts['is_dir']:
            names = self._list_entries(path)
            if names is not None:
                facts['entries'] = len(names)
                facts['names'] = sorted(names)[:NAMES_CAP]
        return facts

    def _list_entries(self, path):
        names = []
        try:
            with os.scandir(path) as entries:
                for entry in entries:
                    names.append(entry.name)
                    if len(names) >= ENTRIES_CAP:
                        break
        except OSError as exc:
            self.warn('data_dirs', 'cannot list %s: %s' % (path, exc.strerror or exc))
            return None
        return names


def main():
    module = AnsibleModule(
        argument_spec=dict(
            images=dict(type='list', elements='str', default=[]),
            containers=dict(type='list', elements='str', default=[]),
            own_label=dict(type='str', default='io.wizardsofts.ray.role'),
            data_dirs=dict(type='list', elements='str', default=[]),
            paths=dict(type='list', elements='str', default=[]),
            docker_socket=dict(type='str', default='/var/run/docker.sock'),
            root=dict(type='path', default='/'),
        ),
        supports_check_mode=True,
    )
    params = NodeFactsParams(module.params)
    problems = params.problems()
    if problems:
        module.fail_json(msg='; '.join(problems))

    module.exit_json(changed=False, node=NodeFacts(module, params).gather())


if __name__ == '__main__':
    main()
