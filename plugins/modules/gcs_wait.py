#!/usr/bin/python
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: gcs_wait
short_description: Wait until this node can reach a healthy Ray head (GCS)
version_added: "0.1.0"
author:
  - WizardSofts ML platform team (@wizardsofts)
description:
  - Run on a worker (or C(delegate_to) one) before it joins. It tests the worker's own network path to the head, the
    way C(ray start --address HEAD:PORT) will use it, and waits until the head's GCS is healthy.
  - Each try connects to the GCS port over TCP. If nothing answers the try is classified C(filtered) (packets
    dropped, most likely by a firewall), C(refused) (nothing listens), C(no_route) or C(dns_error). If the port
    listens, the module asks the dashboard's C(/api/gcs_healthz), which says C(success) once the GCS serves
    requests; until then the state is C(starting).
  - With O(expected_version), the head's Ray version is compared once the GCS is healthy; a different version
    fails at once (C(version_mismatch)), since waiting cannot fix it. An HTTP 401 or 403 fails at once too
    (C(unauthorized)).
  - Returns as soon as the head is healthy. On failure the message names the cause and the fix, for
    C(filtered) the exact C(ufw allow) rule the head needs.
  - The module only reads; it never changes anything on any host, so it always reports RV(ignore:changed=false).
extends_documentation_fragment:
  - wizardsofts.ray.dashboard
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Read-only, so check mode runs every check for real.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  host:
    description:
      - Address or name of the Ray head, as the worker will use it in C(ray start --address).
    type: str
    required: true
  port:
    description:
      - The head's GCS port (C(ray start --head --port)).
    type: int
    default: 6379
  dashboard_port:
    description:
      - The head's dashboard port (C(--dashboard-port)); health and version are read from C(http://HOST:PORT).
      - V(0) means the head runs no dashboard reachable from here; a listening GCS port then counts as success
        (state C(listening)), which proves the path but not the GCS's health.
    type: int
    default: 8265
  health_url:
    description:
      - Full URL of the health endpoint, replacing the one built from O(host) and O(dashboard_port), for example
        C(https://ray-head.example.com/api/gcs_healthz) behind a TLS proxy.
      - The version is read from the same URL with its final C(/api/gcs_healthz) replaced by C(/api/version).
    type: str
  expected_version:
    description:
      - Ray version the head must run, for example V(2.60.0). Needs the dashboard; with token auth also O(token).
    type: str
  source_address:
    description:
      - This node's address as the head sees it, used in the firewall rule the failure message suggests.
      - Defaults to the local address this node would use to reach O(host), found without sending a packet.
    type: str
notes:
  - The dashboard's C(/api/gcs_healthz) needs no token even when token auth is on (measured with Ray 2.60);
    C(/api/version) does.
  - A dashboard that does not answer while the GCS port listens keeps the state at C(starting); if the head
    has been up for a while, check that the head's firewall also allows the dashboard port from this node.
seealso:
  - module: wizardsofts.ray.cluster_info
  - module: ansible.builtin.wait_for
  - name: Ray dashboard REST API
    description: The endpoints this module reads.
    link: https://docs.ray.io/en/latest/cluster/running-applications/job-submission/rest.html
"""

EXAMPLES = r"""
- name: Wait until worker-1 can reach the head's GCS and the head is healthy
  wizardsofts.ray.gcs_wait:
    host: 10.0.0.84
    timeout: 120
  delegate_to: worker-1

- name: Check the path and the head's Ray version from every worker before it joins
  wizardsofts.ray.gcs_wait:
    host: "{{ hostvars[groups['ray_head'][0]].ansible_host }}"
    port: 6379
    dashboard_port: 8265
    token: "{{ ray_auth_token }}"
    expected_version: "2.60.0"
    timeout: 90
  when: inventory_hostname in groups['ray_workers']

- name: Only test that the GCS port is reachable (the head runs no dashboard)
  wizardsofts.ray.gcs_wait:
    host: 10.0.0.84
    dashboard_port: 0
    timeout: 30
  register: gcs_path

- name: Health through a TLS proxy in front of the dashboard
  wizardsofts.ray.gcs_wait:
    host: 10.0.0.84
    health_url: https://ray-head.example.com/api/gcs_healthz
    token: "{{ ray_auth_token }}"
    validate_certs: true
"""

RETURN = r"""
state:
  description:
    - What the last try found. V(healthy) and V(listening) (TCP-only check, O(dashboard_port=0)) are success.
    - V(starting) the GCS port listens but the health endpoint did not say C(success); V(refused) nothing listens;
      V(filtered) no answer, packets dropped; V(no_route) no route to the head; V(dns_error) the name does not
      resolve; V(version_mismatch) the head runs another Ray version; V(unauthorized) HTTP 401/403;
      V(error) any other network error.
  type: str
  returned: always
  sample: healthy
elapsed:
  description: Seconds spent waiting, on the monotonic clock.
  type: float
  returned: always
  sample: 3.012
attempts:
  description: Number of tries made.
  type: int
  returned: always
  sample: 4
ray_version:
  description: The head's Ray version, when it could be read (needs the dashboard, and O(token) with token auth).
  type: str
  returned: always
  sample: "2.60.0"
gcs_address:
  description: The GCS address tried, as C(ray start --address) takes it.
  type: str
  returned: always
  sample: "10.0.0.84:6379"
health_url:
  description: The health URL asked; V(null) for a TCP-only check.
  type: str
  returned: always
  sample: http://10.0.0.84:8265/api/gcs_healthz
msg:
  description: One line saying what was found; on failure, what to do about it.
  type: str
  returned: always
  sample: 'Ray GCS at 10.0.0.84:6379 is healthy (HTTP 200 "success") after 1 attempt in 0.01s'
"""

from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wizardsofts.ray.plugins.module_utils import _tcp_probe as tcp
from ansible_collections.wizardsofts.ray.plugins.module_utils._cluster_model import PORTS_BY_NAME, RULE_COMMENT_PREFIX
from ansible_collections.wizardsofts.ray.plugins.module_utils._deadline import poll
from ansible_collections.wizardsofts.ray.plugins.module_utils._ray_dashboard import (
    HEALTH_PATH,
    DashboardError,
    RayDashboard,
    dashboard_base_url,
)

HEALTHY = 'healthy'
STARTING = 'starting'
VERSION_MISMATCH = 'version_mismatch'
UNAUTHORIZED = 'unauthorized'
SUCCESS_STATES = (HEALTHY, tcp.LISTENING)


class GcsWaitParams(object):
    """The module's options, checked, plus the addresses derived from them."""

    def __init__(self, params):
        self.host = params['host']
        self.port = params['port']
        self.dashboard_port = params['dashboard_port']
        self.token = params['token']
        self.validate_certs = params['validate_certs']
        self.timeout = params['timeout']
        self.connect_timeout = params['connect_timeout']
        self.sleep = params['sleep']
        self.expected_version = params['expected_version']
        self.source_address = params['source_address']
        self.gcs_address = tcp.host_port(self.host, self.port)

        self.health_url = params['health_url']
        self.dashboard_url = None
        if self.health_url:
            parts = urlsplit(self.health_url)
            path = parts.path.rstrip('/')
            prefix = path[:-len(HEALTH_PATH)] if path.endswith(HEALTH_PATH) else ''
            self.dashboard_url = '%s://%s%s' % (parts.scheme, parts.netloc, prefix)
        elif self.dashboard_port:
            self.dashboard_url = dashboard_base_url(self.host, self.dashboard_port)
            self.health_url = self.dashboard_url + HEALTH_PATH

    def problems(self):
        """Option values the argument spec cannot reject by itself."""
        found = []
        if not 0 < self.port < 65536:
            found.append('port must be 1-65535, got %d' % self.port)
        if not 0 <= self.dashboard_port < 65536:
            found.append('dashboard_port must be 0-65535 (0: no dashboard), got %d' % self.dashboard_port)
        if self.health_url and urlsplit(self.health_url).scheme not in ('http', 'https'):
            found.append('health_url must be an http:// or https:// URL, got %s' % self.health_url)
        if self.timeout < 0 or self.sleep < 0:
            found.append('timeout and sleep must not be negative')
        if self.connect_timeout <= 0:
            found.append('connect_timeout must be more than 0')
        if self.expected_version and not self.dashboard_url:
            found.append('expected_version needs the dashboard: set dashboard_port or health_url')
        return found


class Observation(object):
    """What one try saw."""

    def __init__(self, state, detail, ray_version=None):
        self.state = state
        self.detail = detail
        self.ray_version = ray_version


class GcsWaiter(object):
    """Tries the path to the head's GCS until it is healthy or the deadline passes."""

    def __init__(self, params):
        self.params = params
        self.last_seen = None
        self.dashboard = None
        if params.dashboard_url:
            self.dashboard = RayDashboard(
                params.dashboard_url, token=params.token, validate_certs=params.validate_certs,
                timeout=params.connect_timeout, health_url=params.health_url)

    def try_once(self, deadline):
        """One try: (done, Observation); done means success or a failure that waiting cannot fix."""
        done, seen = self._observe(deadline)
        self.last_seen = seen
        return done, seen

    def _observe(self, deadline):
        p = self.params
        budget = deadline.try_timeout(p.connect_timeout)
        probe = tcp.probe_tcp(p.host, p.port, budget)
        if probe.state == tcp.FILTERED and budget < p.connect_timeout and self.last_seen is not None:
            # The deadline cut this try short: its timeout proves nothing, what the full tries saw stands.
            return False, self.last_seen
        if probe.state != tcp.LISTENING:
            return False, Observation(probe.state, probe.detail)
        if self.dashboard is None:
            return True, Observation(tcp.LISTENING, probe.detail)

        try:
            healthy, answer = self.dashboard.gcs_healthz(deadline.try_timeout(p.connect_timeout))
        except DashboardError as exc:
            if exc.auth_failed:
                return True, Observation(UNAUTHORIZED, exc.answer)
            return False, Observation(STARTING, exc.answer)
        if not healthy:
            return False, Observation(STARTING, answer)

        try:
            version = self.dashboard.version(deadline.try_timeout(p.connect_timeout))
        except DashboardError as exc:
            if not p.expected_version:
                # The version is only informative here; without the token Ray will not tell it.
                return True, Observation(HEALTHY, answer)
            if exc.auth_failed:
                return True, Observation(UNAUTHORIZED, exc.answer)
            return False, Observation(STARTING, 'healthy, but the version request failed: %s' % exc.answer)
        if p.expected_version and version != p.expected_version:
            return True, Observation(VERSION_MISMATCH, answer, version)
        return True, Observation(HEALTHY, answer, version)

    def run(self):
        """Wait; returns (failed, result dict)."""
        p = self.params
        outcome = poll(self.try_once, p.timeout, p.sleep)
        seen = outcome.value
        result = dict(
            changed=False,
            state=seen.state,
            elapsed=outcome.elapsed,
            attempts=outcome.attempts,
            ray_version=seen.ray_version,
            gcs_address=p.gcs_address,
            health_url=p.health_url,
        )
        failed = seen.state not in SUCCESS_STATES
        if failed:
            result['msg'] = self.failure_message(seen, outcome)
        else:
            result['msg'] = 'Ray GCS at %s is %s (%s) after %s' % (
                p.gcs_address, seen.state, seen.detail, outcome.summary())
        return failed, result

    def failure_message(self, seen, outcome):
        p = self.params
        tried = outcome.summary()
        if seen.state == tcp.FILTERED:
            source = p.source_address or tcp.local_source_address(p.host, p.port) or 'THIS_NODE_IP'
            return ("Ray GCS port %d on head %s did not answer from %s (%s): packets were dropped, most likely by a "
                    "firewall on the head. Allow it on the head: sudo ufw allow proto tcp from %s to any port %d "
                    "comment '%s%s' (or run firewall.yml)"
                    % (p.port, p.host, source, tried, source, p.port, RULE_COMMENT_PREFIX, PORTS_BY_NAME["gcs"].comment))
        if seen.state == tcp.REFUSED:
            return ("Nothing listens on %s (connection refused, %s): the Ray head is not running there, or its GCS "
                    "port is not %d (check the ray_head GCS port variable and the head container)"
                    % (p.gcs_address, tried, p.port))
        if seen.state == tcp.NO_ROUTE:
            return ("No route from this node to the Ray head %s (%s): wrong head address, or this node is on "
                    "another network" % (p.host, seen.detail))
        if seen.state == tcp.DNS_ERROR:
            return '%s%s: fix the head name or use its IP address' % (seen.detail[:1].upper(), seen.detail[1:])
        if seen.state == STARTING:
            return ('Ray GCS at %s accepts connections but %s did not say success (%s); last answer: %s%s'
                    % (p.gcs_address, p.health_url, tried, seen.detail, self._starting_hint(seen.detail)))
        if seen.state == VERSION_MISMATCH:
            return ('The Ray head at %s runs Ray %s, expected %s: Ray requires identical Ray and Python versions '
                    'on every node; use the same image everywhere' % (p.host, seen.ray_version, p.expected_version))
        if seen.state == UNAUTHORIZED:
            return ('The Ray dashboard of %s answered %s: pass the cluster token (option token, the value of '
                    'RAY_AUTH_TOKEN on the head)' % (p.host, seen.detail))
        return 'Connecting to the Ray GCS at %s failed: %s' % (p.gcs_address, seen.detail)

    def _starting_hint(self, detail):
        p = self.params
        if detail.startswith('no answer'):
            url = urlsplit(p.health_url)
            port = url.port or (443 if url.scheme == 'https' else 80)
            return ('. The dashboard did not answer: if the head has been up a while, its firewall may drop the '
                    'dashboard port %d from this node' % port)
        if detail == 'connection refused':
            return ('. Nothing listens on the dashboard port: the head runs without a dashboard or on another '
                    'port (dashboard_port: 0 checks the GCS port only)')
        return ''


def main():
    module = AnsibleModule(
        argument_spec=dict(
            host=dict(type='str', required=True),
            port=dict(type='int', default=6379),
            dashboard_port=dict(type='int', default=8265),
            health_url=dict(type='str'),
            token=dict(type='str', no_log=True),
            validate_certs=dict(type='bool', default=True),
            timeout=dict(type='float', default=60),
            connect_timeout=dict(type='float', default=5),
            sleep=dict(type='float', default=1),
            expected_version=dict(type='str'),
            source_address=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    params = GcsWaitParams(module.params)
    problems = params.problems()
    if problems:
        module.fail_json(msg='; '.join(problems))

    failed, result = GcsWaiter(params).run()
    if failed:
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
