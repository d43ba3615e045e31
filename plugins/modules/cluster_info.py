#!/usr/bin/python
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cluster_info
short_description: List a Ray cluster's nodes from the head's state API, optionally waiting for expectations
version_added: "0.1.0"
author:
  - WizardSofts ML platform team (@wizardsofts)
description:
  - Asks the Ray head's dashboard for every node the GCS knows (C(GET /api/v0/nodes)) and its Ray version
    (C(GET /api/version)), and returns them with ALIVE and DEAD counts and resource totals.
  - Optionally checks expectations, all of which must hold, counting ALIVE nodes only. O(expected_nodes) must be
    ALIVE; O(min_nodes) is a lower bound; O(expected_resources) are totals; O(expected_version) is the head's
    version. If one does not hold, the module fails and lists exactly what is missing or different.
  - With O(timeout) above 0 it asks again until the expectations hold or the timeout passes, and returns as soon
    as they hold. With O(timeout=0) (the default) it looks once.
  - HTTP 401 or 403 fails at once, whatever O(timeout) says; a head of another Ray version than
    O(expected_version) too, since waiting cannot fix either.
  - The module only reads; it never changes anything, so it always reports RV(ignore:changed=false).
extends_documentation_fragment:
  - wizardsofts.ray.dashboard
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Read-only, so check mode asks the head for real.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  dashboard_url:
    description:
      - Base URL of the head's dashboard, for example V(http://10.0.0.84:8265), or a proxy's
        V(https://ray.example.com/prefix).
      - Exactly one of O(dashboard_url) and O(host) is required.
    type: str
  host:
    description:
      - Address of the Ray head; the URL becomes C(http://HOST:DASHBOARD_PORT).
    type: str
  dashboard_port:
    description:
      - The head's dashboard port (C(ray start --dashboard-port)), used with O(host).
    type: int
    default: 8265
  timeout:
    description:
      - Total seconds to keep asking until every expectation holds. The module fails with the last answer once this
        passes.
      - V(0) looks once and fails at once if an expectation does not hold or the dashboard cannot be asked; each
        request may then take up to O(connect_timeout).
      - Above 0, each request is cut short at this deadline, and the sleep between tries never runs past it.
    default: 0
  expected_nodes:
    description:
      - IP addresses of nodes that must be ALIVE, as Ray reports them (C(node_ip), the address each node announces
        with C(--node-ip-address)). An expected IP without an ALIVE node is listed in RV(missing) and fails.
      - ALIVE nodes not listed here are reported in RV(unexpected) but do not fail, so a worker can check that it
        joined with just its own IP. When the list is the whole inventory, fail on strangers with
        C(failed_when) on RV(unexpected) (see the examples), since a node nobody planned can run code in the
        cluster.
      - DEAD entries are ignored; Ray keeps one for every node that ever left, even after it rejoined.
    type: list
    elements: str
  min_nodes:
    description:
      - Fewest ALIVE nodes, the head included.
    type: int
  expected_resources:
    description:
      - "Resource totals over ALIVE nodes that must hold, by Ray resource name, for example C({CPU: 12, GPU: 2})."
      - Each total must equal the value (to within 1e-6); a resource no ALIVE node has totals 0.
        C(memory) and C(object_store_memory) are in bytes.
    type: dict
  expected_version:
    description:
      - Ray version the head must run (C(/api/version)), for example V(2.60.0).
      - Ray 2.60 reports no version per node; it refuses at C(ray start) any worker whose Ray or Python version
        differs from the head's, so every ALIVE node runs the head's version.
    type: str
notes:
  - With token auth (C(RAY_AUTH_MODE=token)) both endpoints need O(token).
  - Right after the head starts, Ray can answer with no node at all for a moment, before the head's own raylet
    registers; right after a start, give a O(timeout) with O(min_nodes) or O(expected_nodes).
  - The dashboard REST API can submit jobs, that is run code; reach it only over the private network.
seealso:
  - module: wizardsofts.ray.gcs_wait
  - name: Ray state API
    description: The C(/api/v0/nodes) endpoint behind C(ray list nodes).
    link: https://docs.ray.io/en/latest/ray-observability/user-guides/cli-sdk.html
"""

EXAMPLES = r"""
- name: Wait until the head and both workers are ALIVE with 12 CPUs in total, and nobody else
  wizardsofts.ray.cluster_info:
    host: 10.0.0.84
    token: "{{ ray_auth_token }}"
    timeout: 120
    expected_nodes:
      - 10.0.0.84
      - 10.0.0.81
      - 10.0.0.82
    expected_resources:
      CPU: 12
    expected_version: "2.60.0"
  register: ray_cluster
  failed_when: ray_cluster is failed or ray_cluster.unexpected | length > 0
  delegate_to: "{{ groups['ray_head'][0] }}"
  run_once: true

- name: Wait until this worker has joined (run on the worker)
  wizardsofts.ray.cluster_info:
    host: 10.0.0.84
    token: "{{ ray_auth_token }}"
    expected_nodes:
      - 10.0.0.81
    timeout: 60

- name: Look once at the cluster and show who is in it
  wizardsofts.ray.cluster_info:
    dashboard_url: http://10.0.0.84:8265
    token: "{{ ray_auth_token }}"
  register: ray_cluster
  run_once: true

- name: Print the ALIVE node addresses
  ansible.builtin.debug:
    msg: "{{ ray_cluster.nodes | selectattr('state', 'eq', 'ALIVE') | map(attribute='ip') | list }}"
  run_once: true

- name: Wait for at least three ALIVE nodes behind a TLS proxy
  wizardsofts.ray.cluster_info:
    dashboard_url: https://ray.example.com
    token: "{{ ray_auth_token }}"
    validate_certs: true
    timeout: 60
    min_nodes: 3
"""

RETURN = r"""
nodes:
  description: Every node the GCS knows, ALIVE and DEAD, in Ray's order. Empty when the dashboard could not be asked.
  type: list
  elements: dict
  returned: always
  contains:
    node_id:
      description: Ray's node ID.
      type: str
      sample: 794be6cb15581559fac777c0cb07e531b406ce1fec7010301124172c
    ip:
      description: The address the node announced.
      type: str
      sample: 10.0.0.84
    state:
      description: V(ALIVE) or V(DEAD).
      type: str
      sample: ALIVE
    state_message:
      description: Why a DEAD node died, as Ray says it; V(null) for ALIVE nodes.
      type: str
      sample: "Terminated due to preemption: Node received SIGTERM; draining before shutdown."
    is_head:
      description: Whether this is the head node.
      type: bool
      sample: true
    node_name:
      description: Ray's node name (the IP unless set otherwise).
      type: str
      sample: 10.0.0.84
    resources_total:
      description: The node's resources as Ray counts them, including its C(node:IP) marker.
      type: dict
      sample: {"CPU": 4.0, "memory": 24604397056.0, "object_store_memory": 200000000.0, "node:10.0.0.84": 1.0}
    labels:
      description:
        - The node's labels, the operator's (C(ray start --labels), the roles' C(ray_head_labels) and
          C(ray_worker_labels)) and Ray's own (C(ray.io/node-id), on a GPU node C(ray.io/accelerator-type)).
        - Custom resources (C(ray start --resources)) are in RV(nodes[].resources_total), GPUs as C(GPU) with their
          C(accelerator_type:TYPE) marker.
      type: dict
      version_added: 0.3.0
      sample: {"ray.io/node-id": "794be6cb15581559fac777c0cb07e531b406ce1fec7010301124172c", "zone": "eu-west-1a"}
  sample:
    - node_id: 794be6cb15581559fac777c0cb07e531b406ce1fec7010301124172c
      ip: 10.0.0.84
      state: ALIVE
      state_message: null
      is_head: true
      node_name: 10.0.0.84
      resources_total: {"CPU": 4.0, "memory": 24604397056.0, "object_store_memory": 200000000.0}
      labels: {"ray.io/node-id": "794be6cb15581559fac777c0cb07e531b406ce1fec7010301124172c"}
alive:
  description: Number of ALIVE nodes.
  type: int
  returned: always
  sample: 3
dead:
  description: Number of DEAD entries; Ray keeps one for every node that left, also after it rejoined.
  type: int
  returned: always
  sample: 1
totals:
  description:
    - Resource totals over ALIVE nodes. C(CPU), C(GPU), C(memory) and C(object_store_memory) are always there, plus
      every other resource an ALIVE node has, except the C(node:...) markers.
  type: dict
  returned: always
  sample: {"CPU": 12.0, "GPU": 0.0, "memory": 73813191168.0, "object_store_memory": 600000000.0}
missing:
  description: Expected IPs with no ALIVE node. Empty without O(expected_nodes).
  type: list
  elements: str
  returned: always
  sample: ["10.0.0.82"]
unexpected:
  description: IPs of ALIVE nodes not in O(expected_nodes), for information (they do not fail the module). Empty
    without O(expected_nodes).
  type: list
  elements: str
  returned: always
  sample: []
ray_version:
  description: The head's Ray version; V(null) if it could not be read.
  type: str
  returned: always
  sample: "2.60.0"
elapsed:
  description: Seconds spent, on the monotonic clock.
  type: float
  returned: always
  sample: 12.503
attempts:
  description: Number of times the head was asked.
  type: int
  returned: always
  sample: 6
msg:
  description: One line saying what was found; on failure, every expectation that does not hold.
  type: str
  returned: always
  sample: "missing ALIVE nodes: 10.0.0.82 (DEAD); CPU total 8.0, expected 12.0"
"""

import math

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wizardsofts.ray.plugins.module_utils._deadline import poll
from ansible_collections.wizardsofts.ray.plugins.module_utils._ray_dashboard import (
    DashboardError,
    RayDashboard,
    dashboard_base_url,
)

ALIVE = 'ALIVE'
DEAD = 'DEAD'
ALWAYS_TOTALLED = ('CPU', 'GPU', 'memory', 'object_store_memory')
RESOURCE_TOLERANCE = 1e-6


def _number(value):
    return str(float(value))


class ClusterInfoParams(object):
    """The module's options, checked."""

    def __init__(self, params):
        if params['dashboard_url']:
            self.dashboard_url = params['dashboard_url'].rstrip('/')
        else:
            self.dashboard_url = dashboard_base_url(params['host'], params['dashboard_port'])
        self.token = params['token']
        self.validate_certs = params['validate_certs']
        self.timeout = params['timeout']
        self.connect_timeout = params['connect_timeout']
        self.sleep = params['sleep']
        self.expected_nodes = params['expected_nodes']
        self.min_nodes = params['min_nodes']
        self.expected_version = params['expected_version']
        # type=dict does not check the values: Ray resource totals are floats, so convert them here.
        self.expected_resources = None
        self._bad_resources = []
        if params['expected_resources'] is not None:
            self.expected_resources = {}
            for name, value in params['expected_resources'].items():
                try:
                    self.expected_resources[str(name)] = float(value)
                except (TypeError, ValueError):
                    self._bad_resources.append('expected_resources.%s must be a number, got %r' % (name, value))

    def problems(self):
        """Option values the argument spec cannot reject by itself."""
        found = list(self._bad_resources)
        if not self.dashboard_url.startswith(('http://', 'https://')):
            found.append('dashboard_url must be an http:// or https:// URL, got %s' % self.dashboard_url)
        if self.timeout < 0 or self.sleep < 0:
            found.append('timeout and sleep must not be negative')
        if self.connect_timeout <= 0:
            found.append('connect_timeout must be more than 0')
        if self.min_nodes is not None and self.min_nodes < 1:
            found.append('min_nodes must be at least 1, got %d' % self.min_nodes)
        return found


class ClusterReport(object):
    """The cluster as one answer of the head shows it; compare() adds what differs from expectations."""

    def __init__(self, nodes):
        self.nodes = nodes
        alive_nodes = [node for node in nodes if node['state'] == ALIVE]
        self.alive_ips = set(node['ip'] for node in alive_nodes)
        self.alive = len(alive_nodes)
        self.dead = sum(1 for node in nodes if node['state'] == DEAD)
        self.totals = dict((name, 0.0) for name in ALWAYS_TOTALLED)
        for node in alive_nodes:
            for name, value in node['resources_total'].items():
                if not name.startswith('node:'):
                    self.totals[name] = self.totals.get(name, 0.0) + value
        self.missing = []
        self.unexpected = []
        self.differences = []

    def compare(self, params):
        """Fill missing, unexpected and differences from the expectations in params; returns self."""
        if params.expected_nodes is not None:
            expected = list(dict.fromkeys(params.expected_nodes))
            self.missing = [ip for ip in expected if ip not in self.alive_ips]
            self.unexpected = sorted(ip for ip in self.alive_ips if ip not in expected)
        if self.missing:
            self.differences.append('missing ALIVE nodes: %s' % ', '.join(
                '%s (%s)' % (ip, self._last_state(ip)) for ip in self.missing))
        if params.min_nodes is not None and self.alive < params.min_nodes:
            self.differences.append('%d ALIVE nodes, expected at least %d' % (self.alive, params.min_nodes))
        for name, expected_total in sorted((params.expected_resources or {}).items()):
            total = self.totals.get(name, 0.0)
            if not math.isclose(total, expected_total, rel_tol=0.0, abs_tol=RESOURCE_TOLERANCE):
                self.differences.append('%s total %s, expected %s' % (name, _number(total), _number(expected_total)))
        return self

    def _last_state(self, ip):
        # A DEAD entry says the node was there and left; no entry at all, that it never joined.
        return DEAD if any(node['ip'] == ip for node in self.nodes) else 'absent'


class Look(object):
    """What one try saw: a report, and why it was not good enough (error, or a terminal failure)."""

    def __init__(self, report=None, error=None, terminal=None):
        self.report = report
        self.error = error
        self.terminal = terminal


class ClusterInspector(object):
    """Asks the head for its nodes until the expectations hold or the deadline passes."""

    def __init__(self, params):
        self.params = params
        self.dashboard = RayDashboard(params.dashboard_url, token=params.token,
                                      validate_certs=params.validate_certs, timeout=params.connect_timeout)
        self.ray_version = None
        self.last_report = None

    def try_once(self, deadline):
        """One look: (done, Look); done means the expectations hold or waiting cannot help."""
        p = self.params
        try:
            nodes = self.dashboard.nodes(deadline.try_timeout(p.connect_timeout))
            if self.ray_version is None:
                # The version cannot change without a head restart: ask once.
                self.ray_version = self.dashboard.version(deadline.try_timeout(p.connect_timeout))
        except DashboardError as exc:
            if exc.auth_failed:
                return True, Look(self.last_report, terminal='the dashboard answered %s; pass the cluster token '
                                  '(option token, the value of RAY_AUTH_TOKEN on the head)' % exc.answer)
            return False, Look(self.last_report, error=str(exc))

        report = self.last_report = ClusterReport(nodes).compare(p)
        if p.expected_version and self.ray_version != p.expected_version:
            return True, Look(report, terminal='the head runs Ray %s, expected %s: Ray requires identical '
                              'versions on every node' % (self.ray_version, p.expected_version))
        return not report.differences, Look(report)

    def run(self):
        """Look (and wait); returns (failed, result dict)."""
        p = self.params
        if p.timeout > 0:
            outcome = poll(self.try_once, p.timeout, p.sleep)
        else:
            # One look, with no deadline to cap its requests: each gets connect_timeout.
            outcome = poll(self.try_once, None, p.sleep, max_attempts=1)
        look = outcome.value
        # Without any answer there is nothing to compare: report an empty cluster, and say why.
        report = look.report or ClusterReport([])
        result = dict(
            changed=False,
            nodes=report.nodes,
            alive=report.alive,
            dead=report.dead,
            totals=report.totals,
            missing=report.missing,
            unexpected=report.unexpected,
            ray_version=self.ray_version,
            elapsed=outcome.elapsed,
            attempts=outcome.attempts,
        )
        tried = outcome.summary()
        if look.terminal:
            result['msg'] = 'Ray cluster at %s: %s' % (p.dashboard_url, look.terminal)
        elif look.error:
            result['msg'] = 'Could not list the Ray cluster\'s nodes (%s): %s' % (tried, look.error)
            if report.differences:
                result['msg'] += '; the answer before: ' + '; '.join(report.differences)
        elif report.differences:
            result['msg'] = 'Ray cluster at %s does not match (%s): %s' % (
                p.dashboard_url, tried, '; '.join(report.differences))
        else:
            result['msg'] = 'Ray cluster at %s: %d ALIVE, %d DEAD; CPU %s, GPU %s; Ray %s (%s)' % (
                p.dashboard_url, report.alive, report.dead, _number(report.totals['CPU']),
                _number(report.totals['GPU']), self.ray_version, tried)
            return False, result
        return True, result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dashboard_url=dict(type='str'),
            host=dict(type='str'),
            dashboard_port=dict(type='int', default=8265),
            token=dict(type='str', no_log=True),
            validate_certs=dict(type='bool', default=True),
            timeout=dict(type='float', default=0),
            connect_timeout=dict(type='float', default=5),
            sleep=dict(type='float', default=1),
            expected_nodes=dict(type='list', elements='str'),
            min_nodes=dict(type='int'),
            expected_resources=dict(type='dict'),
            expected_version=dict(type='str'),
        ),
        mutually_exclusive=[('dashboard_url', 'host'), ('dashboard_url', 'dashboard_port')],
        required_one_of=[('dashboard_url', 'host')],
        supports_check_mode=True,
    )
    params = ClusterInfoParams(module.params)
    problems = params.problems()
    if problems:
        module.fail_json(msg='; '.join(problems))

    failed, result = ClusterInspector(params).run()
    if failed:
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
