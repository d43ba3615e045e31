#!/usr/bin/python
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ray_container
short_description: Run one Ray node container; replace it only with a healthy successor, else restore the old one
version_added: "0.1.0"
author:
  - WizardSofts ML platform team (@wizardsofts)
description:
  - Runs on the Ray node itself and talks to the local Docker engine over its unix socket (Docker 20.10 or later).
    It does not pull images; pull O(image) first, for example with C(community.docker.docker_image).
  - Before the container it creates or fixes O(directories), writes O(files) atomically, and removes
    O(absent_paths).
  - The container is compared by O(config_hash) alone, which the caller computes from the whole desired
    configuration and which is stored in the label C(io.wizardsofts.ray.config-hash). The desired configuration
    itself is stored as JSON in the label C(io.wizardsofts.ray.config), so diff mode can show what changed.
  - Same hash and running, nothing happens. Same hash but stopped, the container is started and waited for. No
    container, one is created, started and waited for; if it does not get healthy its last log lines are kept,
    it is removed (the node is left as it was found) and the module fails.
  - A different hash (or no hash label) replaces the container without ever leaving the node with two Ray nodes
    running or with none that could be restored. The old one is stopped and renamed C(NAME-previous), the new
    one is created as NAME, started and waited for. Healthy, C(NAME-previous) is removed. Not healthy within
    O(health.timeout), the new one's last 40 log lines are kept, it is removed, C(NAME-previous) gets its name
    back, is started again and waited for, and the module fails with a message that says what Ray said and
    whether the restored container is healthy again.
  - A C(NAME-previous) left by a run that was killed half-way is renamed back to NAME first when NAME does not
    exist, and the run goes on from there.
  - With O(drain.deadline) above 0, a running container that is about to be stopped (replaced, or removed with
    O(state=absent)) is drained first through Ray's own drain mechanism, so that the tasks running on its node can
    finish; see O(drain).
  - "Health (O(health.kind)): V(gcs) asks the dashboard's C(/api/gcs_healthz) until it says C(success) (a head);
    V(member) asks the head's C(/api/v0/nodes) until it lists an ALIVE node with the IP O(health.node_ip) whose node
    ID was not ALIVE before this module started the container (a worker; Ray gives a restarted node a new ID, so
    the old node's entry, still ALIVE for a moment, does not count); V(joined) asks no Ray API at all: the
    container's current run must have printed C(Ray runtime started.), which C(ray start) on a worker prints only
    once the head's GCS has registered the new node (a worker whose dashboard port on the head is closed to it);
    V(none) only checks that the container runs."
  - "With every kind, a new container that Docker restarted 3 times is crash-looping: the wait ends at once,
    without waiting out O(health.timeout), and the previous container is restored."
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode makes no change at all (only GET requests to the engine, nothing written on disk) and predicts
        C(changed) and RV(action) (V(create), V(start), V(replace), V(recover), V(remove), V(none)) from what is
        there.
  diff_mode:
    support: full
    details:
      - The diff shows the stored configuration, state and hash before and after, and every path that changes
        (never a file's content).
  platform:
    platforms: posix
options:
  name:
    description:
      - Name of the container. C(NAME-previous) is used while replacing it.
    type: str
    required: true
  state:
    description:
      - V(present) runs the container as configured. V(absent) stops (O(stop_timeout)) and removes NAME and
        C(NAME-previous).
    type: str
    choices: [present, absent]
    default: present
  docker_socket:
    description:
      - Path of the Docker engine's unix socket.
    type: path
    default: /var/run/docker.sock
  image:
    description:
      - Image to run, for example V(rayproject/ray:2.60.0-py311). It must already be on the node. Required with
        O(state=present).
    type: str
  command:
    description:
      - Command and arguments (the container's C(Cmd)), one list item per argument; no shell is involved. Omitted,
        the image's default command runs.
    type: list
    elements: str
  env:
    description:
      - Environment variables. Values are stored in the container's configuration and its
        C(io.wizardsofts.ray.config) label, so they are visible to C(docker inspect) and in diff mode; put secrets
        such as the Ray token in O(files) instead.
      - Numbers are turned into strings; a boolean is rejected (quote it).
    type: dict
    default: {}
  labels:
    description:
      - Container labels, besides the two this module sets (C(io.wizardsofts.ray.config-hash),
        C(io.wizardsofts.ray.config)).
    type: dict
    default: {}
  binds:
    description:
      - Bind mounts as C(SRC:DST) or C(SRC:DST:OPTIONS) (for example V(/etc/ray/token:/run/ray/token:ro)), SRC an
        absolute path on the node.
    type: list
    elements: str
    default: []
  user:
    description:
      - User (and group) the container's process runs as, for example V(1000:1000). Omitted, the image's user.
    type: str
  shm_size:
    description:
      - Size of C(/dev/shm) in bytes (Ray's object store lives there).
    type: int
  cpus:
    description:
      - CPU limit (C(docker run --cpus)), sent as C(NanoCpus). Omitted, no limit.
    type: float
  memory:
    description:
      - Memory limit in bytes. Omitted, no limit.
    type: int
  restart_policy:
    description:
      - Docker restart policy, V(no), V(always), V(unless-stopped) or V(on-failure) (optionally V(on-failure:N)).
    type: str
    default: unless-stopped
  stop_timeout:
    description:
      - Seconds between SIGTERM and SIGKILL when the container is stopped, by this module and by Docker.
    type: int
    default: 30
  init:
    description:
      - Run Docker's init process as PID 1, which reaps Ray's orphaned worker processes.
    type: bool
    default: true
  cap_drop:
    description:
      - Linux capabilities to drop.
    type: list
    elements: str
    default: [ALL]
  security_opts:
    description:
      - Security options, for example V(no-new-privileges).
    type: list
    elements: str
    default: []
  device_requests:
    description:
      - Devices for the container (C(docker run --gpus)), sent as the engine's C(HostConfig.DeviceRequests).
      - Empty, the container gets no device. Include them in O(config_hash), so that a change of them replaces the
        container, and no change leaves it alone.
    type: list
    elements: dict
    default: []
    version_added: 0.3.0
    suboptions:
      driver:
        description: The device driver, V(nvidia) for NVIDIA GPUs (the NVIDIA container toolkit provides it).
        type: str
        default: nvidia
      count:
        description:
          - How many devices (V(-1) for all). Leave it out with O(device_requests[].device_ids).
        type: int
      device_ids:
        description: Which devices, by index or UUID (C(nvidia-smi -L)).
        type: list
        elements: str
      capabilities:
        description: Capability sets the driver must offer, for example V([[gpu]]).
        type: list
        elements: list
        default: [[gpu]]
      options:
        description: Driver options.
        type: dict
        default: {}
  config_hash:
    description:
      - Hash of the whole desired configuration, computed by the caller (including whatever O(files) and the
        image ID it wants to trigger a replacement). Required with O(state=present).
      - A container whose label holds another value is replaced.
    type: str
  directories:
    description:
      - Directories to create or fix before the container. Missing parents are created with the default mode.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      owner:
        description: Owner's numeric user ID. Omitted, left as it is (the module's user on creation).
        type: int
      group:
        description: Numeric group ID. Omitted, left as it is.
        type: int
      mode:
        description: Mode as an octal string, for example V("0750").
        type: str
        default: "0755"
      marker:
        description:
          - Name of a file to write inside the directory when it is missing, saying that the collection made
            the directory, who and when (mode C(0644), owned by the module's user). Only directories that carry
            it are ever removed by M(wizardsofts.ray.ray_data) with O(wizardsofts.ray.ray_data#module:state=absent).
          - An existing directory without it is adopted; the caller checks first that it may be (the cluster
            model refuses a non-empty directory the collection did not make).
        type: str
        version_added: 0.2.0
  files:
    description:
      - Files to write before the container. A file is written (to a temporary file in the same directory, then
        renamed over the old one) only when its content differs; owner and mode are fixed in place.
      - The parent directory must exist or be listed in O(directories).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      content:
        description: The file's content. Never logged nor returned.
        type: str
        required: true
      owner:
        description: Owner's numeric user ID. Omitted, left as it is (the module's user on creation).
        type: int
      group:
        description: Numeric group ID. Omitted, left as it is.
        type: int
      mode:
        description: Mode as an octal string.
        type: str
        default: "0600"
  absent_paths:
    description:
      - Files or directories (removed with their content) that must not exist, for example the token file when
        token auth is off. Honoured with both values of O(state).
    type: list
    elements: path
    default: []
  drain:
    description:
      - Drain the container's Ray node before the container is stopped, for a Ray worker. Skipped in check mode and
        for a container that does not run.
      - "The module first sets the container's restart policy to V(no) (should the raylet's exit end C(ray start
        --block), Docker must not restart the container into a new node; a container that is brought back after a
        failed replacement gets its policy back), then runs Ray's Python in the container (C(docker exec), so it uses the container's own
        token and TLS settings, and nothing secret is in its arguments): it finds the ALIVE node with the IP
        O(health.node_ip) in the GCS at O(drain.gcs_address) and asks the GCS to drain it with the reason
        C(DRAIN_NODE_REASON_PREEMPTION), the message O(drain.reason) and the deadline O(drain.deadline)."
      - "Ray then schedules no new task on the node, lets the running ones go on, and once the node is idle (no
        task, no actor, an empty object store) the raylet leaves the cluster by itself: the GCS lists the node DEAD
        with the death reason C(AUTOSCALER_DRAIN_PREEMPTED) and the message. The module waits for that, or for the
        deadline, whichever comes first, then stops the container as it would have without a drain. What still
        runs at the deadline is stopped with the container (Ray retries tasks that have retries left)."
      - A node the GCS does not list as an ALIVE worker (the container is restarting, or the head runs another
        cluster) is not drained. A drain that Ray refuses or that fails does not stop the run; it is a warning,
        as is a deadline reached while the node was still busy.
    type: dict
    default: {}
    version_added: 0.4.0
    suboptions:
      deadline:
        description:
          - Seconds the node gets to finish its work, counted from the drain request. V(0) does not drain.
        type: float
        default: 0
      gcs_address:
        description:
          - The head's GCS as C(HOST:PORT), as the container reaches it. Required when O(drain.deadline) is above 0,
            as is O(health.node_ip).
        type: str
      reason:
        description:
          - >-
            The reason Ray records for the node's death (the state API shows "Terminated due to preemption:
            MESSAGE"). Say who stops the node and why.
        type: str
        default: "wizardsofts.ray: the node's container is stopped"
      sleep:
        description: Seconds between two looks at the node in the GCS while it drains.
        type: float
        default: 0.5
      python:
        description: Ray's Python interpreter in the container.
        type: str
        default: python
  health:
    description:
      - How to tell that the container's Ray node is up.
    type: dict
    default: {}
    suboptions:
      kind:
        description:
          - V(gcs) the dashboard at O(health.url) says C(success) on C(/api/gcs_healthz); V(member) the head at
            O(health.url) lists a new ALIVE node with IP O(health.node_ip); V(joined) the container's current run
            printed C(Ray runtime started.) (a worker, registered with the head's GCS; no Ray API is asked, so
            O(health.url) and O(health.expected_version) are not used); V(none) the container runs.
        type: str
        choices: [gcs, member, joined, none]
        default: none
      url:
        description:
          - Base URL of the head's dashboard, for example V(http://10.0.0.84:8265). Required for V(gcs) and
            V(member).
        type: str
      token:
        description:
          - "Ray auth token, sent as C(Authorization: Bearer TOKEN). C(/api/v0/nodes) and C(/api/version) need it
            when the head runs with token auth; C(/api/gcs_healthz) does not."
        type: str
      node_ip:
        description:
          - This node's address as Ray announces it (C(--node-ip-address)). Required for V(member); for the other
            kinds only used in messages.
        type: str
      expected_version:
        description:
          - Ray version the head must run (C(/api/version)); another one fails at once. Needs O(health.token) with
            token auth.
        type: str
      timeout:
        description:
          - Seconds to wait for the new container to get healthy, and again for a restored one.
        type: float
        default: 120
      sleep:
        description: Seconds between tries.
        type: float
        default: 0.5
      connect_timeout:
        description: Seconds one dashboard request may take, capped at the time left.
        type: float
        default: 5
      validate_certs:
        description: Whether to validate the dashboard's TLS certificate for an C(https://) URL.
        type: bool
        default: true
notes:
  - The container always uses the host network (C(network_mode=host)), as Ray needs a node's real address.
  - The module compares nothing but O(config_hash); a container changed by hand behind its back (C(docker update))
    is not noticed.
  - Paths are changed before the container, so a restored container sees the new O(files).
  - Needs root or membership of the C(docker) group (the socket), and root for O(directories) and O(files) owned
    by others.
seealso:
  - module: wizardsofts.ray.gcs_wait
  - module: wizardsofts.ray.cluster_info
  - name: Docker Engine API v1.41
    description: The endpoints this module uses.
    link: https://docs.docker.com/reference/api/engine/version/v1.41/
"""

EXAMPLES = r"""
- name: Run the Ray head; replace it only by a healthy one
  wizardsofts.ray.ray_container:
    name: ray-head
    image: rayproject/ray:2.60.0-py311
    command: [ray, start, --head, --block, --node-ip-address, 10.0.0.84, --port, "6379",
              --dashboard-host, 0.0.0.0, --dashboard-port, "8265", --num-cpus, "4"]
    env:
      RAY_USAGE_STATS_ENABLED: "0"
      RAY_AUTH_MODE: token
      RAY_AUTH_TOKEN_PATH: /run/ray/token
    binds:
      - /etc/ray/token:/run/ray/token:ro
      - /var/lib/ray/head:/tmp/ray
    shm_size: 2147483648
    config_hash: "{{ ray_head_config | to_json | hash('sha256') }}"
    directories:
      - path: /etc/ray
        owner: 0
        group: 0
        mode: "0750"
      - path: /var/lib/ray/head
        owner: 1000
        group: 100
        mode: "0750"
    files:
      - path: /etc/ray/token
        content: "{{ ray_auth_token }}"
        owner: 1000
        group: 100
        mode: "0600"
    health:
      kind: gcs
      url: http://10.0.0.84:8265
      token: "{{ ray_auth_token }}"
      node_ip: 10.0.0.84
      expected_version: "2.60.0"
      timeout: 120
  become: true

- name: Run a worker; it counts as up once the head lists it ALIVE under a new node ID
  wizardsofts.ray.ray_container:
    name: ray-worker
    image: rayproject/ray:2.60.0-py311
    command: [ray, start, --block, --address, "10.0.0.84:6379", --node-ip-address, "{{ ansible_host }}"]
    config_hash: "{{ ray_worker_config | to_json | hash('sha256') }}"
    absent_paths:
      - /etc/ray/token
    health:
      kind: member
      url: http://10.0.0.84:8265
      node_ip: "{{ ansible_host }}"
  become: true

- name: Run a worker with two GPUs (the NVIDIA container toolkit must be installed on the node)
  wizardsofts.ray.ray_container:
    name: ray-worker
    image: rayproject/ray:2.60.0-py311-gpu
    command: [ray, start, --block, --address, "10.0.0.84:6379", --num-gpus, "2"]
    device_requests:
      - driver: nvidia
        count: 2
        capabilities: [[gpu]]
    config_hash: "{{ ray_worker_config | to_json | hash('sha256') }}"
    health:
      kind: member
      url: http://10.0.0.84:8265
      node_ip: "{{ ansible_host }}"
  become: true

- name: Run a worker that may not reach the head's dashboard; it counts as up once Ray says it joined the GCS
  wizardsofts.ray.ray_container:
    name: ray-worker
    image: rayproject/ray:2.60.0-py311
    command: [ray, start, --block, --address, "10.0.0.84:6379", --node-ip-address, "{{ ansible_host }}"]
    config_hash: "{{ ray_worker_config | to_json | hash('sha256') }}"
    health:
      kind: joined
      node_ip: "{{ ansible_host }}"
  become: true

- name: Remove the worker container (and a leftover ray-worker-previous)
  wizardsofts.ray.ray_container:
    name: ray-worker
    state: absent
  become: true

- name: Remove a worker, letting its running tasks finish first (up to 60 s)
  wizardsofts.ray.ray_container:
    name: ray-worker
    state: absent
    health:
      node_ip: "{{ ansible_host }}"
    drain:
      deadline: 60
      gcs_address: 10.0.0.84:6379
      reason: "scale-in: {{ inventory_hostname }} leaves the cluster"
  become: true
"""

RETURN = r"""
action:
  description:
    - What was done. V(none), V(created), V(started), V(replaced), V(recovered) (only a leftover
      C(NAME-previous) was renamed back), V(removed).
    - On failure V(create_failed) (the new container was removed again), V(restored) (the old container is back),
      V(restore_failed), V(start_failed).
    - In check mode what would be done. V(none), V(create), V(start), V(replace), V(recover), V(remove).
  type: str
  returned: always
  sample: replaced
container_id:
  description: ID of the container named NAME afterwards; V(null) when there is none (or check mode would create one).
  type: str
  returned: always
  sample: 8c1f0b4b3a0e5b1b9a9e0f8e1d3c2b1a0f9e8d7c6b5a4938271605f4e3d2c1b0
config_hash:
  description: The hash of the container that runs as NAME afterwards (O(config_hash) on success).
  type: str
  returned: always
  sample: 3f7a1c2e
previous_config_hash:
  description: The hash label of the container found as NAME (or a recovered C(NAME-previous)); V(null) if none.
  type: str
  returned: always
  sample: 9b0d4e11
elapsed:
  description: Seconds the module spent, on the monotonic clock.
  type: float
  returned: always
  sample: 14.212
health:
  description: The last health observation (V(null) when no container was started).
  type: str
  returned: always
  sample: 'HTTP 200 "success"'
paths:
  description: Paths from O(directories), O(files) and O(absent_paths) that were (or in check mode would be) changed.
  type: list
  elements: str
  returned: always
  sample: [/etc/ray/token]
drain:
  description:
    - What the drain of the stopped container's Ray node did (O(drain)); V(null) when there was none to do (no
      O(drain.deadline), nothing running, or check mode).
  type: dict
  returned: always
  version_added: 0.4.0
  contains:
    outcome:
      description:
        - V(drained) (the node left the cluster by itself), V(deadline) (it was still busy at the deadline),
          V(not_member) (the GCS lists no ALIVE worker with the IP), V(rejected) (Ray refused the drain), V(error)
          (the drain could not be asked for, for example the GCS did not answer).
      type: str
      sample: drained
    node_id:
      description: The Ray node drained (hex), if one was found.
      type: str
      sample: 1f93c0825d8e4cbd5b2a1e6d77ab4ca4b3f83da4a3d7ec6fb43ea3e0
    elapsed:
      description: Seconds from the start of the drain program until the node left or the deadline passed.
      type: float
      sample: 4.215
    death_reason:
      description: The death reason the GCS recorded for the node once it left (V(drained) only).
      type: str
      sample: AUTOSCALER_DRAIN_PREEMPTED
    death_message:
      description: The message the GCS recorded with it, O(drain.reason) after a drain.
      type: str
      sample: "wizardsofts.ray remove_worker.yml: server81 leaves the cluster"
    activity:
      description: What Ray last said keeps the node busy, while it was still ALIVE (empty when Ray says nothing).
      type: list
      elements: str
      sample: ["Busy workers on node."]
    deadline:
      description: O(drain.deadline).
      type: float
      sample: 60
    msg:
      description: The drain in one sentence.
      type: str
      sample: "Ray node 1f93c0825d8e drained and left after 4.2 s (AUTOSCALER_DRAIN_PREEMPTED: ...)"
logs:
  description: The last 40 log lines of the container that did not get healthy.
  type: str
  returned: failure
  sample: "2026-11-26 10:00:01 ERROR ... Failed to connect to GCS at address 10.0.0.84:6379"
msg:
  description: One line saying what was done; on failure what went wrong, what Ray said and what was restored.
  type: str
  returned: always
  sample: "ray-head on 10.0.0.84: replaced (hash 9b0d4e11 -> 3f7a1c2e), healthy after 6.02s: HTTP 200 \"success\""
"""

import errno
import json
import os
import pwd
import re
import shutil
import socket
import stat
import tempfile
import time
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wizardsofts.ray.plugins.module_utils._data_dir import marker_text
from ansible_collections.wizardsofts.ray.plugins.module_utils._deadline import poll
from ansible_collections.wizardsofts.ray.plugins.module_utils._docker_api import DockerAPI, DockerAPIError, since_value
from ansible_collections.wizardsofts.ray.plugins.module_utils._ray_dashboard import DashboardError, RayDashboard
from ansible_collections.wizardsofts.ray.plugins.module_utils import _ray_drain

HASH_LABEL = 'io.wizardsofts.ray.config-hash'
CONFIG_LABEL = 'io.wizardsofts.ray.config'
PREVIOUS_SUFFIX = '-previous'
LOG_LINES = 40
NETWORK_MODE = 'host'
ALIVE = 'ALIVE'
RESTART_POLICIES = ('no', 'always', 'unless-stopped', 'on-failure')
_MODE = re.compile(r'^0?[0-7]{3,4}$')


class ModuleFailure(Exception):
    """Ends the run with fail_json(msg, **extra)."""

    def __init__(self, msg, **extra):
        super(ModuleFailure, self).__init__(msg)
        self.msg = msg
        self.extra = extra


def _string_values(option, values, found):
    converted = {}
    for key, value in (values or {}).items():
        if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
            found.append('%s.%s must be a string, got %r (quote it)' % (option, key, value))
            continue
        converted[str(key)] = str(value)
    return converted


class RayContainerParams(object):
    """The module's options, checked, and the container configuration derived from them."""

    def __init__(self, params):
        self._found = []
        self.name = params['name']
        self.previous_name = self.name + PREVIOUS_SUFFIX
        self.state = params['state']
        self.docker_socket = params['docker_socket']
        self.image = params['image']
        self.command = params['command']
        self.env = _string_values('env', params['env'], self._found)
        self.labels = _string_values('labels', params['labels'], self._found)
        self.binds = params['binds']
        self.user = params['user']
        self.shm_size = params['shm_size']
        self.cpus = params['cpus']
        self.memory = params['memory']
        self.restart_policy = params['restart_policy']
        self.stop_timeout = params['stop_timeout']
        self.init = params['init']
        self.cap_drop = params['cap_drop']
        self.security_opts = params['security_opts']
        self.device_requests = params['device_requests']
        self.config_hash = params['config_hash']
        self.directories = params['directories']
        self.files = params['files']
        self.absent_paths = params['absent_paths']
        self.health = params['health']
        self.drain = params['drain']

    @property
    def node_ip(self):
        """This node in messages: the announced IP, else the dashboard's host for a head, else the host name."""
        if self.health['node_ip']:
            return self.health['node_ip']
        if self.health['kind'] == 'gcs' and self.health['url']:
            return urlsplit(self.health['url']).hostname or socket.gethostname()
        return socket.gethostname()

    def problems(self):
        """Option values the argument spec cannot reject by itself."""
        found = list(self._found)
        if '/' in self.name or not self.name.strip():
            found.append('name must be a container name, got %r' % self.name)
        policy, _colon, retries = self.restart_policy.partition(':')
        if policy not in RESTART_POLICIES or (retries and (policy != 'on-failure' or not retries.isdigit())):
            found.append('restart_policy must be one of %s (or on-failure:N), got %s'
                         % (', '.join(RESTART_POLICIES), self.restart_policy))
        if self.stop_timeout < 0:
            found.append('stop_timeout must not be negative')
        if self.cpus is not None and self.cpus <= 0:
            found.append('cpus must be more than 0, got %s' % self.cpus)
        for option in ('shm_size', 'memory'):
            value = getattr(self, option)
            if value is not None and value <= 0:
                found.append('%s must be a positive number of bytes, got %d' % (option, value))
        for bind in self.binds:
            parts = bind.split(':')
            if len(parts) not in (2, 3) or not parts[0].startswith('/') or not parts[1].startswith('/'):
                found.append('binds entry %r must be SRC:DST or SRC:DST:OPTIONS with absolute paths' % bind)
        for option, entries in (('directories', self.directories), ('files', self.files)):
            for entry in entries:
                if not os.path.isabs(entry['path']):
                    found.append('%s: path must be absolute, got %s' % (option, entry['path']))
                if not _MODE.match(entry['mode']):
                    found.append("%s: mode of %s must be an octal string such as '0750', got %r (quote it in YAML)"
                                 % (option, entry['path'], entry['mode']))
        managed = set(entry['path'] for entry in self.directories) | set(entry['path'] for entry in self.files)
        for path in self.absent_paths:
            if not os.path.isabs(path):
                found.append('absent_paths: path must be absolute, got %s' % path)
            if path in managed:
                found.append('%s is both in absent_paths and in directories or files' % path)
        health = self.health
        # required_if counts an option given as null as present.
        for option, kinds in (('url', ('gcs', 'member')), ('node_ip', ('member',))):
            if health['kind'] in kinds and not health[option]:
                found.append('health.%s is required with health.kind %s' % (option, health['kind']))
        for request in self.device_requests:
            if request['count'] is not None and request['device_ids']:
                found.append('device_requests: give count or device_ids, not both (got count %d and device_ids %s)'
                             % (request['count'], ', '.join(request['device_ids'])))
            elif request['count'] is None and not request['device_ids']:
                found.append('device_requests: each request needs count or device_ids')
            elif request['count'] is not None and request['count'] < -1:
                found.append('device_requests: count must be -1 (all) or more, got %d' % request['count'])
        if health['timeout'] < 0 or health['sleep'] < 0:
            found.append('health.timeout and health.sleep must not be negative')
        if health['connect_timeout'] <= 0:
            found.append('health.connect_timeout must be more than 0')
        if health['url'] and urlsplit(health['url']).scheme not in ('http', 'https'):
            found.append('health.url must be an http:// or https:// URL, got %s' % health['url'])
        drain = self.drain
        if drain['deadline'] < 0 or drain['sleep'] <= 0:
            found.append('drain.deadline must not be negative and drain.sleep must be more than 0')
        if drain['deadline'] > 0:
            if not drain['gcs_address'] or ':' not in drain['gcs_address']:
                found.append('drain.gcs_address must be the GCS as HOST:PORT when drain.deadline is above 0, got %r'
                             % drain['gcs_address'])
            if not health['node_ip']:
                found.append('health.node_ip is required when drain.deadline is above 0 (the node to drain)')
        return found

    def stored_config(self):
        """The desired configuration as stored in the config label and shown in diffs (no file content)."""
        config = {
            'image': self.image,
            'command': self.command,
            'env': self.env,
            'labels': self.labels,
            'binds': self.binds,
            'user': self.user,
            'shm_size': self.shm_size,
            'cpus': self.cpus,
            'memory': self.memory,
            'restart_policy': self.restart_policy,
            'stop_timeout': self.stop_timeout,
            'init': self.init,
            'cap_drop': self.cap_drop,
            'security_opts': self.security_opts,
            'network_mode': NETWORK_MODE,
        }
        if self.device_requests:
            # Only when there are some: a container without devices keeps the label it always had.
            config['device_requests'] = self.device_requests
        return config

    def create_body(self):
        """The body of POST /containers/create."""
        labels = dict(self.labels)
        labels[HASH_LABEL] = self.config_hash
        labels[CONFIG_LABEL] = json.dumps(self.stored_config(), sort_keys=True, separators=(',', ':'))
        policy, _colon, retries = self.restart_policy.partition(':')
        restart = {'Name': policy}
        if retries:
            restart['MaximumRetryCount'] = int(retries)
        host_config = {
            'NetworkMode': NETWORK_MODE,
            'Binds': list(self.binds),
            'RestartPolicy': restart,
            'Init': self.init,
            'CapDrop': list(self.cap_drop),
            'SecurityOpt': list(self.security_opts),
        }
        if self.shm_size is not None:
            host_config['ShmSize'] = self.shm_size
        if self.cpus is not None:
            host_config['NanoCpus'] = int(round(self.cpus * 1e9))
        if self.memory is not None:
            host_config['Memory'] = self.memory
        if self.device_requests:
            host_config['DeviceRequests'] = [device_request(request) for request in self.device_requests]
        body = {
            'Image': self.image,
            'Env': ['%s=%s' % item for item in sorted(self.env.items())],
            'Labels': labels,
            'StopTimeout': self.stop_timeout,
            'Tty': False,
            'OpenStdin': False,
            'HostConfig': host_config,
        }
        if self.command is not None:
            body['Cmd'] = list(self.command)
        if self.user:
            body['User'] = self.user
        return body


def device_request(request):
    """One entry of HostConfig.DeviceRequests (the engine's names) from the option's suboptions."""
    return {
        'Driver': request['driver'],
        'Count': request['count'] if request['count'] is not None else 0,
        'DeviceIDs': list(request['device_ids'] or []),
        'Capabilities': [list(capability) for capability in request['capabilities']],
        'Options': dict((str(key), str(value)) for key, value in (request['options'] or {}).items()),
    }


# ----------------------------------------------------------------------------- containers as found

def _labels(container):
    return ((container or {}).get('Config') or {}).get('Labels') or {}


def container_hash(container):
    return _labels(container).get(HASH_LABEL) if container else None


def is_running(container):
    return bool(((container or {}).get('State') or {}).get('Running'))


def describe(name, container):
    """A container for diff mode: its state, hash and stored configuration."""
    if container is None:
        return {'container': name, 'state': 'absent'}
    try:
        config = json.loads(_labels(container)[CONFIG_LABEL])
    except (KeyError, TypeError, ValueError):
        config = {'image': (container.get('Config') or {}).get('Image')}
    return {
        'container': name,
        'state': 'running' if is_running(container) else 'stopped',
        'config_hash': container_hash(container),
        'config': config,
    }


def _status_text(container):
    if container is None:
        return 'the container is gone'
    state = container.get('State') or {}
    status = state.get('Status') or 'unknown'
    if state.get('Restarting'):
        return 'the container is restarting (last exit code %s)' % state.get('ExitCode')
    if status in ('exited', 'dead'):
        return 'the container %s (exit code %s)' % (status, state.get('ExitCode'))
    return 'the container is %s' % status


# ----------------------------------------------------------------------------- paths

def _mode_text(mode):
    return '%04o' % mode


class PathManager(object):
    """Creates or fixes directories, writes files, removes absent paths; in check mode only compares."""

    def __init__(self, params, check_mode):
        self.params = params
        self.check_mode = check_mode
        self.changed = []
        self.before = {}
        self.after = {}

    def _record(self, path, before, after):
        self.changed.append(path)
        self.before[path] = before
        self.after[path] = after

    @staticmethod
    def _owner_differs(st, entry):
        return ((entry['owner'] is not None and st.st_uid != entry['owner'])
                or (entry['group'] is not None and st.st_gid != entry['group']))

    @staticmethod
    def _describe(kind, st, extra=''):
        return '%s mode=%s owner=%d group=%d%s' % (kind, _mode_text(stat.S_IMODE(st.st_mode)), st.st_uid,
                                                   st.st_gid, extra)

    @staticmethod
    def _wanted(kind, entry, extra=''):
        owner = 'unchanged' if entry['owner'] is None else str(entry['owner'])
        group = 'unchanged' if entry['group'] is None else str(entry['group'])
        return '%s mode=%s owner=%s group=%s%s' % (kind, _mode_text(int(entry['mode'], 8)), owner, group, extra)

    def _fix(self, path, entry):
        mode = int(entry['mode'], 8)
        uid = -1 if entry['owner'] is None else entry['owner']
        gid = -1 if entry['group'] is None else entry['group']
        if uid != -1 or gid != -1:
            os.chown(path, uid, gid)
        os.chmod(path, mode)

    def ensure(self):
        for entry in self.params.directories:
            self.directory(entry)
        for entry in self.params.files:
            self.file(entry)
        self.remove_absent()
        return self

    def directory(self, entry):
        path = entry['path']
        mode = int(entry['mode'], 8)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            st = None
        if st is not None and not stat.S_ISDIR(st.st_mode):
            raise ModuleFailure('%s should be a directory but is something else; remove it first' % path)
        if st is None or stat.S_IMODE(st.st_mode) != mode or self._owner_differs(st, entry):
            before = 'absent' if st is None else self._describe('directory', st)
            self._record(path, before, self._wanted('directory', entry))
            if not self.check_mode:
                if st is None:
                    os.makedirs(path, mode)
                self._fix(path, entry)
        if entry.get('marker'):
            self.marker(os.path.join(path, entry['marker']))

    def marker(self, path):
        """Writes the marker file when it is missing; an existing one (whatever it says) is kept."""
        if os.path.lexists(path):
            if not os.path.isfile(path) or os.path.islink(path):
                raise ModuleFailure('%s should be the collection\'s marker file but is something else; remove it first'
                                    % path)
            return
        self._record(path, 'absent', 'file mode=0644 (marker)')
        if self.check_mode:
            return
        when = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
        try:
            who = pwd.getpwuid(os.geteuid()).pw_name
        except KeyError:
            who = 'uid %d' % os.geteuid()
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(handle, 'w') as out:
            out.write(marker_text(when, '%s on %s' % (who, socket.gethostname())))

    def file(self, entry):
        path = entry['path']
        mode = int(entry['mode'], 8)
        content = entry['content'].encode('utf-8')
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            st = None
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise ModuleFailure('%s should be a regular file but is something else; remove it first' % path)
        same_content = False
        if st is not None:
            with open(path, 'rb') as existing:
                same_content = existing.read() == content
            if same_content and stat.S_IMODE(st.st_mode) == mode and not self._owner_differs(st, entry):
                return
        if st is None:
            before = 'absent'
        else:
            before = self._describe('file', st, '' if same_content else ' (other content)')
        self._record(path, before, self._wanted('file', entry))
        if self.check_mode:
            return
        if same_content:
            self._fix(path, entry)
            return
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            raise ModuleFailure('cannot write %s: directory %s does not exist (list it in directories)'
                                % (path, directory))
        handle, temporary = tempfile.mkstemp(dir=directory, prefix='.%s.' % os.path.basename(path))
        try:
            with os.fdopen(handle, 'wb') as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            self._fix(temporary, entry)
            os.replace(temporary, path)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise

    def remove_absent(self):
        for path in self.params.absent_paths:
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            is_dir = stat.S_ISDIR(st.st_mode)
            self._record(path, self._describe('directory' if is_dir else 'file', st), 'absent')
            if self.check_mode:
                continue
            if is_dir:
                shutil.rmtree(path)
            else:
                try:
                    os.unlink(path)
                except OSError as exc:
                    if exc.errno != errno.ENOENT:
                        raise


# ----------------------------------------------------------------------------- health

def _waited(outcome):
    """How long a health wait took, for a message (no wait when Docker refused the container)."""
    return '%.1f s' % outcome.elapsed if outcome is not None else '0 s'


# A new container that Docker restarted this often is crash-looping: it is not going to become healthy.
CRASH_LOOP_RESTARTS = 3
# What `ray start` prints once its node is up: on a worker only after the head's GCS registered the node (Ray's
# node startup waits for the node's entry in the GCS, else fails with "The current node timed out during startup").
JOINED_MARKER = 'Ray runtime started.'


class Observation(object):
    """What one health try saw."""

    def __init__(self, healthy, text):
        self.healthy = healthy
        self.text = text


class HealthChecker(object):
    """Waits until a container's Ray node is up, the way health.kind says."""

    def __init__(self, params, api):
        self.params = params
        self.health = params.health
        self.kind = self.health['kind']
        self.api = api
        self.dashboard = None
        if self.kind in ('gcs', 'member'):
            self.dashboard = RayDashboard(self.health['url'], token=self.health['token'],
                                          validate_certs=self.health['validate_certs'],
                                          timeout=self.health['connect_timeout'])
        self.version_checked = False

    def alive_ids(self):
        """IDs of ALIVE nodes with this node's IP, before a start; they do not count afterwards.

        A head that cannot be asked gives the empty set: then any ALIVE node with the IP counts.
        """
        if self.kind != 'member':
            return set()
        try:
            nodes = self.dashboard.nodes(self.health['connect_timeout'])
        except DashboardError:
            return set()
        return set(node['node_id'] for node in nodes
                   if node['ip'] == self.health['node_ip'] and node['state'] == ALIVE)

    def wait(self, ident, exclude=frozenset()):
        """Wait until healthy or health.timeout; returns (Observation, PollResult)."""
        if self.kind == 'none':
            outcome = poll(lambda deadline: self._running(ident), 0, 0)
        else:
            outcome = poll(lambda deadline: self._try(ident, exclude, deadline),
                           self.health['timeout'], self.health['sleep'])
        return outcome.value, outcome

    def _running(self, ident):
        container = self.api.inspect_container(ident)
        if is_running(container) and not (container.get('State') or {}).get('Restarting'):
            return True, Observation(True, 'the container is running')
        return True, Observation(False, _status_text(container))

    def _try(self, ident, exclude, deadline):
        budget = deadline.try_timeout(self.health['connect_timeout'])
        try:
            if self.kind == 'gcs':
                healthy, answer = self.dashboard.gcs_healthz(budget)
                if healthy:
                    # The GCS alone is not the head: its raylet must have registered too, or the head may still
                    # exit (and restart as a new cluster) after the workers were started against it.
                    healthy, answer = self._head_alive(deadline.try_timeout(self.health['connect_timeout']))
            elif self.kind == 'joined':
                healthy, answer = self._joined(ident)
            else:
                healthy, answer = self._member(exclude, budget)
            if healthy and self.dashboard is not None and self.health['expected_version'] and not self.version_checked:
                version = self.dashboard.version(deadline.try_timeout(self.health['connect_timeout']))
                if version != self.health['expected_version']:
                    return True, Observation(False, 'the head runs Ray %s, expected %s'
                                             % (version, self.health['expected_version']))
                self.version_checked = True
        except DashboardError as exc:
            return self._unhealthy(ident, exc.answer, terminal=exc.auth_failed)
        if healthy:
            return True, Observation(True, answer)
        return self._unhealthy(ident, answer)

    def _joined(self, ident):
        """Whether the container's current run printed JOINED_MARKER (only this run's log: a restarted container's
        earlier runs do not count)."""
        try:
            container = self.api.inspect_container(ident)
            if not is_running(container) or (container.get('State') or {}).get('Restarting'):
                return False, 'Ray has not said %r in this run yet' % JOINED_MARKER
            since = since_value((container.get('State') or {}).get('StartedAt'))
            log = self.api.container_logs(ident, tail='all', since=since)
        except DockerAPIError as exc:
            return False, 'reading the container failed: %s' % exc
        if JOINED_MARKER in log:
            return True, '%s joined: Ray said %r (the head\'s GCS registered the node)' % (
                self.health['node_ip'] or self.params.name, JOINED_MARKER)
        return False, 'Ray has not said %r in this run yet (it does once the head\'s GCS registered the node)' % JOINED_MARKER

    def _head_alive(self, budget):
        node_ip = self.health['node_ip']
        for node in self.dashboard.nodes(budget):
            if node['is_head'] and node['state'] == ALIVE and (not node_ip or node['ip'] == node_ip):
                return True, 'GCS healthy and the head node %s ALIVE as node %s' % (node['ip'], node['node_id'])
        return False, 'the GCS answers, but no ALIVE head node%s is listed yet' % (' with IP %s' % node_ip if node_ip else '')

    def _member(self, exclude, budget):
        node_ip = self.health['node_ip']
        nodes = self.dashboard.nodes(budget)
        mine = [node for node in nodes if node['ip'] == node_ip]
        for node in mine:
            if node['state'] == ALIVE and node['node_id'] not in exclude:
                return True, '%s is ALIVE as node %s' % (node_ip, node['node_id'])
        if not mine:
            return False, 'the head lists no node with IP %s' % node_ip
        seen = ', '.join('%s %s%s' % (node['node_id'][:12], node['state'],
                                      ' (from before the start)' if node['node_id'] in exclude else '')
                         for node in mine)
        return False, 'no new ALIVE node with IP %s; the head lists %s' % (node_ip, seen)

    def _unhealthy(self, ident, text, terminal=False):
        try:
            container = self.api.inspect_container(ident)
        except DockerAPIError as exc:
            return terminal, Observation(False, '%s; inspecting the container failed: %s' % (text, exc))
        if container is None:
            return True, Observation(False, '%s; %s' % (text, _status_text(container)))
        restarts = container.get('RestartCount') or 0
        if restarts >= CRASH_LOOP_RESTARTS:
            # Ray exits at once on a configuration it refuses (an unknown flag, a bad value): Docker's restart
            # policy then loops. Waiting out the timeout would not change the answer.
            return True, Observation(False, '%s; the container exited %d times since it was started (last exit code '
                                     '%s): Ray refuses to start this way' % (
                                         text, restarts, (container.get('State') or {}).get('ExitCode')))
        if not is_running(container) or (container.get('State') or {}).get('Restarting'):
            stopped_for_good = (self.params.restart_policy == 'no'
                                and (container.get('State') or {}).get('Status') in ('exited', 'dead'))
            return terminal or stopped_for_good, Observation(False, '%s; %s' % (text, _status_text(container)))
        return terminal, Observation(False, text)


# ----------------------------------------------------------------------------- the manager

class RayContainerManager(object):
    """Brings the container named NAME to the desired state, the way the module documentation says."""

    def __init__(self, module, params):
        self.module = module
        self.params = params
        self.check_mode = module.check_mode
        self.api = DockerAPI(params.docker_socket)
        self.health = HealthChecker(params, self.api)
        self.started = time.monotonic()
        self.paths = None
        self.result = dict(changed=False, action='none', container_id=None, config_hash=None,
                           previous_config_hash=None, health=None, paths=[], drain=None)
        self._diff_before = None

    # -- helpers

    def elapsed(self):
        return round(time.monotonic() - self.started, 3)

    def _timeout_text(self):
        return '%g s' % self.params.health['timeout']

    def _where(self):
        return '%s on %s' % (self.params.name, self.params.node_ip)

    def _logs(self, ident):
        try:
            return self.api.container_logs(ident, tail=LOG_LINES).rstrip('\n')
        except DockerAPIError as exc:
            return '(no logs: %s)' % exc

    def _finish(self, failed=False, **updates):
        self.result.update(updates)
        self.result['elapsed'] = self.elapsed()
        if self.module._diff:
            if self.check_mode:
                after = self._predicted_after()
            else:
                after = describe(self.params.name, self.api.inspect_container(self.params.name))
            before = dict(self._diff_before or describe(self.params.name, None))
            if self.paths is not None and self.paths.changed:
                before['paths'] = self.paths.before
                after['paths'] = self.paths.after
            self.result['diff'] = dict(before_header='%s (before)' % self.params.name,
                                       after_header='%s (after)' % self.params.name, before=before, after=after)
        return failed, self.result

    def _predicted_after(self):
        action = self.result['action']
        name = self.params.name
        if action in ('create', 'replace'):
            return {'container': name, 'state': 'running', 'config_hash': self.params.config_hash,
                    'config': self.params.stored_config()}
        if action == 'remove':
            return describe(name, None)
        after = dict(self._diff_before)
        if action == 'start':
            after['state'] = 'running'
        return after

    # -- state=absent

    def absent(self):
        p = self.params
        current = self.api.inspect_container(p.name)
        previous = self.api.inspect_container(p.previous_name)
        self._diff_before = describe(p.name, current)
        self.result['previous_config_hash'] = container_hash(current)
        self.paths = PathManager(p, self.check_mode)
        self.paths.remove_absent()
        self.result['paths'] = self.paths.changed
        found = [container for container in (current, previous) if container is not None]
        changed = bool(found or self.paths.changed)
        if self.check_mode:
            return self._finish(changed=changed, action='remove' if found else 'none',
                                msg='%s: would remove %s' % (p.name, self._names(found)) if found
                                else '%s: no container to remove' % p.name)
        if current is not None:
            self._drain(current)
        for container in found:
            self.api.stop_container(container['Id'], p.stop_timeout)
            self.api.remove_container(container['Id'])
        return self._finish(changed=changed, action='removed' if found else 'none',
                            msg='%s: removed %s%s' % (p.name, self._names(found), self._drain_note()) if found
                            else '%s: no container to remove' % p.name)

    # -- drain

    def _drain(self, container):
        """Drain the container's Ray node before it is stopped (drain option); returns the restart policy to give
        back to the container if it is started again, or None when it was left alone."""
        drain = self.params.drain
        state = container.get('State') or {}
        if not drain['deadline'] or not is_running(container) or state.get('Restarting'):
            return None
        deadline = drain['deadline']
        policy = dict((container.get('HostConfig') or {}).get('RestartPolicy') or {'Name': 'no'})
        try:
            if policy.get('Name') not in ('', 'no'):
                # Should the raylet's exit after the drain end `ray start --block` (an exit code Ray does not expect
                # does), Docker must not start the container again as a new, empty node before it is stopped.
                self.api.update_restart_policy(container['Id'], {'Name': 'no'})
        except DockerAPIError as exc:
            outcome = _ray_drain.Outcome.failed('the restart policy could not be set to no first: %s' % exc)
            policy = None
        else:
            argv = _ray_drain.program_argv(drain['python'], drain['gcs_address'], self.params.health['node_ip'],
                                           drain['reason'], deadline, drain['sleep'])
            try:
                code, output = self.api.exec_run(container['Id'], argv, _ray_drain.exec_timeout(deadline))
            except DockerAPIError as exc:
                outcome = _ray_drain.Outcome.failed('running Ray\'s Python in the container failed: %s' % exc)
            else:
                outcome = _ray_drain.Outcome.parse(output, code)
        self.result['drain'] = outcome.as_dict(deadline)
        if outcome.needs_warning:
            self.module.warn('%s: %s' % (self._where(), outcome.summary(deadline)))
        return policy

    def _drain_note(self):
        return ' (%s)' % self.result['drain']['msg'] if self.result['drain'] else ''

    def _give_back_restart_policy(self, ident, policy):
        """A drained container that is started again keeps its own restart policy (Docker's restarts after a crash)."""
        if policy and policy.get('Name') not in ('', 'no'):
            self.api.update_restart_policy(ident, policy)

    @staticmethod
    def _names(containers):
        return ' and '.join((container.get('Name') or '?').lstrip('/') for container in containers)

    # -- state=present

    def present(self):
        p = self.params
        current = self.api.inspect_container(p.name)
        stale = self.api.inspect_container(p.previous_name)
        recover = current is None and stale is not None
        if recover:
            current, stale = stale, None
        self._diff_before = describe(p.name, current)
        self.result['previous_config_hash'] = container_hash(current)

        if current is None:
            plan = 'create'
        elif container_hash(current) != p.config_hash:
            plan = 'replace'
        elif is_running(current):
            plan = 'none'
        else:
            plan = 'start'

        if plan in ('create', 'replace') and not self.api.image_exists(p.image):
            message = ('image %s is not on this node; this module does not pull: pull it first '
                       '(community.docker.docker_image)' % p.image)
            if not self.check_mode:
                raise ModuleFailure('%s: %s' % (self._where(), message), changed=False, action='none',
                                    previous_config_hash=self.result['previous_config_hash'])
            self.module.warn(message + '; a real run fails unless an earlier task pulls it')

        self.paths = PathManager(p, self.check_mode).ensure()
        self.result['paths'] = self.paths.changed
        paths_changed = bool(self.paths.changed)

        if self.check_mode:
            action = plan
            if plan == 'none' and recover:
                action = 'recover'
            return self._finish(
                changed=paths_changed or recover or plan != 'none' or stale is not None,
                action=action, container_id=current['Id'] if current and plan != 'replace' else None,
                config_hash=p.config_hash if plan != 'none' else container_hash(current),
                msg='%s: %s%s' % (self._where(), 'would %s' % action if action != 'none' else 'up to date',
                                  '; would remove the leftover %s' % p.previous_name if stale is not None else ''))

        if recover:
            self.api.rename_container(current['Id'], p.name)
            self.result.update(changed=True, action='recovered', container_id=current['Id'],
                               config_hash=container_hash(current))
        if plan == 'none':
            if stale is not None:
                # A leftover of a run killed after the new container got its name: the new one runs, drop it.
                self.api.remove_container(stale['Id'])
            return self._finish(
                changed=paths_changed or recover or stale is not None,
                action='recovered' if recover else 'none', container_id=current['Id'],
                config_hash=container_hash(current),
                msg='%s: %s%s' % (self._where(), 'recovered %s' % p.previous_name if recover else 'up to date',
                                  '; removed the leftover %s' % p.previous_name if stale is not None else ''))
        if plan == 'start':
            return self._start(current, stale)
        if plan == 'create':
            return self._create()
        return self._replace(current, stale)

    def _start(self, current, stale):
        p = self.params
        if stale is not None:
            self.api.remove_container(stale['Id'])
        exclude = self.health.alive_ids()
        self.api.start_container(current['Id'])
        seen, outcome = self.health.wait(current['Id'], exclude)
        common = dict(changed=True, container_id=current['Id'], config_hash=container_hash(current),
                      health=seen.text)
        if seen.healthy:
            return self._finish(action='started', msg='%s: started, healthy after %.2fs: %s'
                                % (self._where(), outcome.elapsed, seen.text), **common)
        logs = self._logs(current['Id'])
        return self._finish(
            failed=True, action='start_failed', logs=logs,
            msg='%s: the started container did not become healthy (waited %s of at most %s: %s). Ray said:\n%s\nIt is left running.'
            % (self._where(), _waited(outcome), self._timeout_text(), seen.text, logs), **common)

    def _start_new(self, exclude):
        """Create and start NAME and wait for it; (ID or None, Observation, PollResult or None)."""
        new_id = None
        try:
            new_id = self.api.create_container(self.params.name, self.params.create_body())
            self.api.start_container(new_id)
        except DockerAPIError as exc:
            return new_id, Observation(False, 'Docker refused the new container: %s' % exc), None
        seen, outcome = self.health.wait(new_id, exclude)
        return new_id, seen, outcome

    def _create(self):
        p = self.params
        exclude = self.health.alive_ids()
        new_id, seen, outcome = self._start_new(exclude)
        if seen.healthy:
            return self._finish(changed=True, action='created', container_id=new_id, config_hash=p.config_hash,
                                health=seen.text, msg='%s: created, healthy after %.2fs: %s'
                                % (self._where(), outcome.elapsed, seen.text))
        logs = self._logs(new_id) if new_id else '(no container was started)'
        if new_id:
            self.api.remove_container(new_id)
        return self._finish(
            failed=True, changed=bool(self.paths.changed), action='create_failed', logs=logs, health=seen.text,
            container_id=None,
            msg='%s: the new container did not become healthy (waited %s of at most %s: %s). Ray said:\n%s\n'
                'Removed it; the node has no container %s, as before.'
                % (self._where(), _waited(outcome), self._timeout_text(), seen.text, logs, p.name))

    def _replace(self, old, stale):
        p = self.params
        exclude = self.health.alive_ids()
        self.result['changed'] = True
        policy = self._drain(old)
        self.api.stop_container(old['Id'], p.stop_timeout)
        if stale is not None:
            self.api.remove_container(stale['Id'])
        try:
            self.api.rename_container(old['Id'], p.previous_name)
        except DockerAPIError:
            self._give_back_restart_policy(old['Id'], policy)
            self.api.start_container(old['Id'])
            raise
        new_id, seen, outcome = self._start_new(exclude)
        if seen.healthy:
            self.api.remove_container(old['Id'])
            return self._finish(action='replaced', container_id=new_id, config_hash=p.config_hash,
                                health=seen.text,
                                msg='%s: replaced (hash %s -> %s), healthy after %.2fs: %s%s'
                                % (self._where(), container_hash(old), p.config_hash, outcome.elapsed, seen.text,
                                   self._drain_note()))

        logs = self._logs(new_id) if new_id else '(no container was started)'
        failure = ('%s: the new container did not become healthy (waited %s of at most %s: %s). Ray said:\n%s\n'
                   % (self._where(), _waited(outcome), self._timeout_text(), seen.text, logs))
        try:
            if new_id:
                self.api.remove_container(new_id)
            else:
                # create may have left a container behind under NAME before start failed.
                self.api.remove_container(p.name)
            self.api.rename_container(old['Id'], p.name)
            self._give_back_restart_policy(old['Id'], policy)
            # Started even if it was found stopped: state=present wants a Ray node here, and a container
            # recovered from an interrupted run was stopped by that run, not by a person.
            restore_exclude = self.health.alive_ids()
            self.api.start_container(old['Id'])
            restored, _outcome = self.health.wait(old['Id'], restore_exclude)
        except DockerAPIError as exc:
            return self._finish(
                failed=True, action='restore_failed', logs=logs, health=seen.text, container_id=None,
                config_hash=None,
                msg=failure + 'Could not restore the previous container %s: %s' % (p.previous_name, exc))
        state = 'healthy again (%s)' % restored.text if restored.healthy else 'NOT healthy again: %s' % restored.text
        return self._finish(
            failed=True, action='restored', logs=logs, health=restored.text,
            container_id=old['Id'], config_hash=container_hash(old),
            msg=failure + 'Restored the previous container; it is %s.' % state)

    def run(self):
        """(failed, result); every error becomes a failure with a readable message."""
        try:
            if self.params.state == 'absent':
                return self.absent()
            return self.present()
        except ModuleFailure as exc:
            self.result.update(exc.extra)
            return self._safe_finish('%s' % exc.msg)
        except DockerAPIError as exc:
            return self._safe_finish('%s: Docker engine error: %s' % (self._where(), exc))
        except OSError as exc:
            path = getattr(exc, 'filename', None)
            return self._safe_finish('%s: %s%s' % (self._where(), '%s: ' % path if path else '',
                                                   exc.strerror or exc))

    def _safe_finish(self, msg):
        self.result['msg'] = msg
        self.result['elapsed'] = self.elapsed()
        return True, self.result


def main():
    path_owner = dict(owner=dict(type='int'), group=dict(type='int'))
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            docker_socket=dict(type='path', default='/var/run/docker.sock'),
            image=dict(type='str'),
            command=dict(type='list', elements='str'),
            env=dict(type='dict', default={}),
            labels=dict(type='dict', default={}),
            binds=dict(type='list', elements='str', default=[]),
            user=dict(type='str'),
            shm_size=dict(type='int'),
            cpus=dict(type='float'),
            memory=dict(type='int'),
            restart_policy=dict(type='str', default='unless-stopped'),
            stop_timeout=dict(type='int', default=30),
            init=dict(type='bool', default=True),
            cap_drop=dict(type='list', elements='str', default=['ALL']),
            security_opts=dict(type='list', elements='str', default=[]),
            device_requests=dict(type='list', elements='dict', default=[], options=dict(
                driver=dict(type='str', default='nvidia'),
                count=dict(type='int'),
                device_ids=dict(type='list', elements='str'),
                capabilities=dict(type='list', elements='list', default=[['gpu']]),
                options=dict(type='dict', default={}),
            )),
            config_hash=dict(type='str'),
            directories=dict(type='list', elements='dict', default=[], options=dict(
                path=dict(type='path', required=True),
                mode=dict(type='str', default='0755'),
                marker=dict(type='str'),
                **path_owner)),
            files=dict(type='list', elements='dict', default=[], options=dict(
                path=dict(type='path', required=True),
                content=dict(type='str', required=True, no_log=True),
                mode=dict(type='str', default='0600'),
                **path_owner)),
            absent_paths=dict(type='list', elements='path', default=[]),
            health=dict(type='dict', default={}, apply_defaults=True, options=dict(
                kind=dict(type='str', default='none', choices=['gcs', 'member', 'joined', 'none']),
                url=dict(type='str'),
                token=dict(type='str', no_log=True),
                node_ip=dict(type='str'),
                expected_version=dict(type='str'),
                timeout=dict(type='float', default=120),
                sleep=dict(type='float', default=0.5),
                connect_timeout=dict(type='float', default=5),
                validate_certs=dict(type='bool', default=True),
            ), required_if=[('kind', 'gcs', ('url',)), ('kind', 'member', ('url', 'node_ip'))]),
            drain=dict(type='dict', default={}, apply_defaults=True, options=dict(
                deadline=dict(type='float', default=0),
                gcs_address=dict(type='str'),
                reason=dict(type='str', default="wizardsofts.ray: the node's container is stopped"),
                sleep=dict(type='float', default=0.5),
                python=dict(type='str', default=_ray_drain.DEFAULT_PYTHON),
            )),
        ),
        required_if=[('state', 'present', ('image', 'config_hash'))],
        supports_check_mode=True,
    )
    params = RayContainerParams(module.params)
    problems = params.problems()
    if problems:
        module.fail_json(msg='; '.join(problems))

    failed, result = RayContainerManager(module, params).run()
    if failed:
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
