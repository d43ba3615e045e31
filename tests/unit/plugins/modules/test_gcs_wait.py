# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""gcs_wait against real sockets, real network namespaces and recorded Ray 2.60.0 dashboard answers."""

from __future__ import annotations

import socket

from ansible_collections.wizardsofts.ray.plugins.modules import gcs_wait

RETURN_KEYS = {'changed', 'state', 'elapsed', 'attempts', 'ray_version', 'gcs_address', 'health_url', 'msg'}
# Scheduling slack on a loaded machine: a correctness bound, not a performance claim.
MARGIN = 1.0


def fast(**args):
    """Arguments for short test waits."""
    base = dict(timeout=2, connect_timeout=0.5, sleep=0.05)
    base.update(args)
    return base


def test_healthy_head_returns_at_once_with_its_version(run_module, silent_listener, dashboard):
    result = run_module(gcs_wait, dict(host='127.0.0.1', port=silent_listener.port, dashboard_port=dashboard.port,
                                       timeout=60, sleep=30))

    assert 'failed' not in result
    assert set(RETURN_KEYS) <= set(result)
    assert result['changed'] is False
    assert result['state'] == 'healthy'
    assert result['attempts'] == 1
    # No sleep after the try that succeeded.
    assert result['elapsed'] < 30
    assert result['ray_version'] == '2.60.0'
    assert result['gcs_address'] == '127.0.0.1:%d' % silent_listener.port
    assert result['health_url'] == 'http://127.0.0.1:%d/api/gcs_healthz' % dashboard.port
    assert dashboard.count('/api/gcs_healthz') == 1


def test_expected_version_that_matches_passes(run_module, silent_listener, dashboard):
    result = run_module(gcs_wait, fast(host='127.0.0.1', port=silent_listener.port, dashboard_port=dashboard.port,
                                       expected_version='2.60.0'))

    assert 'failed' not in result
    assert result['state'] == 'healthy'
    assert result['ray_version'] == '2.60.0'


def test_version_mismatch_fails_at_once(run_module, silent_listener, dashboard):
    result = run_module(gcs_wait, dict(host='127.0.0.1', port=silent_listener.port, dashboard_port=dashboard.port,
                                       expected_version='2.59.0', timeout=60, sleep=30))

    assert result['failed'] is True
    assert result['state'] == 'version_mismatch'
    assert result['attempts'] == 1
    assert result['elapsed'] < 30
    assert result['ray_version'] == '2.60.0'
    assert '2.60.0' in result['msg'] and 'expected 2.59.0' in result['msg']
    assert 'identical' in result['msg']


def test_refused_names_the_address_and_the_port_variable(run_module, closed_port):
    result = run_module(gcs_wait, fast(host='127.0.0.1', port=closed_port, dashboard_port=0))

    assert result['failed'] is True
    assert result['state'] == 'refused'
    assert result['attempts'] > 1
    assert 'Nothing listens on 127.0.0.1:%d' % closed_port in result['msg']
    assert 'ray_head GCS port variable' in result['msg']
    assert result['ray_version'] is None
    assert result['health_url'] is None


def test_dashboard_that_never_answers_is_starting_and_the_timeout_holds(run_module, silent_listener):
    timeout = 1.5
    result = run_module(gcs_wait, dict(host='127.0.0.1', port=silent_listener.port,
                                       dashboard_port=silent_listener.port, timeout=timeout,
                                       connect_timeout=0.4, sleep=0.1))

    assert result['failed'] is True
    assert result['state'] == 'starting'
    assert result['attempts'] > 1
    assert timeout <= result['elapsed'] <= timeout + MARGIN
    assert 'accepts connections but' in result['msg']
    assert 'no answer within' in result['msg']
    assert 'firewall may drop the dashboard port %d from this node' % silent_listener.port in result['msg']


def test_connect_timeout_is_capped_at_the_time_left(run_module, silent_listener):
    # One try would take 30 s; the 1 s deadline must cut it short.
    result = run_module(gcs_wait, dict(host='127.0.0.1', port=silent_listener.port,
                                       dashboard_port=silent_listener.port, timeout=1, connect_timeout=30, sleep=0.1))

    assert result['state'] == 'starting'
    assert result['elapsed'] <= 1 + MARGIN


def test_health_endpoint_answering_503_is_starting_with_the_answer(run_module, silent_listener, dashboard):
    dashboard.serve('/api/gcs_healthz', 'gcs_healthz-gcs-stopped.txt')

    # A generous per-try timeout: on a loaded machine the local server may take longer than 0.5 s to answer,
    # and an answer that comes late is a timeout, not the 503 this test is about.
    result = run_module(gcs_wait, fast(host='127.0.0.1', port=silent_listener.port, dashboard_port=dashboard.port,
                                       timeout=6, connect_timeout=3))

    assert result['failed'] is True
    assert result['state'] == 'starting'
    assert result['attempts'] > 1
    assert 'HTTP 503' in result['msg']
    assert 'Health check failed: RPC error: Deadline Exceeded' in result['msg']


def test_waits_until_the_head_turns_healthy(run_module, silent_listener, dashboard):
    dashboard.serve('/api/gcs_healthz', 'gcs_healthz-gcs-stopped.txt', 'gcs_healthz-gcs-stopped.txt',
                    'gcs_healthz.txt')

    result = run_module(gcs_wait, dict(host='127.0.0.1', port=silent_listener.port, dashboard_port=dashboard.port,
                                       timeout=30, sleep=0.05))

    assert 'failed' not in result
    assert result['state'] == 'healthy'
    assert result['attempts'] == 3
    assert dashboard.count('/api/gcs_healthz') == 3


def test_dashboard_port_closed_while_gcs_listens_is_starting(run_module, silent_listener, closed_port):
    result = run_module(gcs_wait, fast(host='127.0.0.1', port=silent_listener.port, dashboard_port=closed_port))

    assert result['failed'] is True
    assert result['state'] == 'starting'
    assert 'connection refused' in result['msg']
    assert 'dashboard_port: 0' in result['msg']


def test_tcp_only_check_succeeds_on_a_listening_port(run_module, silent_listener):
    result = run_module(gcs_wait, fast(host='127.0.0.1', port=silent_listener.port, dashboard_port=0))

    assert 'failed' not in result
    assert result['state'] == 'listening'
    assert result['health_url'] is None
    assert result['ray_version'] is None


def test_expected_version_without_a_dashboard_is_rejected(run_module, silent_listener):
    result = run_module(gcs_wait, fast(host='127.0.0.1', port=silent_listener.port, dashboard_port=0,
                                       expected_version='2.60.0'))

    assert result['failed'] is True
    assert 'expected_version needs the dashboard' in result['msg']


def test_health_url_overrides_and_gives_the_version_url(run_module, silent_listener, dashboard):
    result = run_module(gcs_wait, fast(host='127.0.0.1', port=silent_listener.port, dashboard_port=1,
                                       health_url=dashboard.url + '/api/gcs_healthz', expected_version='2.60.0'))

    assert 'failed' not in result
    assert result['health_url'] == dashboard.url + '/api/gcs_healthz'
    assert result['ray_version'] == '2.60.0'
    assert dashboard.count('/api/version') == 1


def test_token_head_is_healthy_without_token_but_keeps_its_version(run_module, silent_listener, dashboard):
    dashboard.token = 'c0ffee'

    result = run_module(gcs_wait, fast(host='127.0.0.1', port=silent_listener.port, dashboard_port=dashboard.port))

    assert 'failed' not in result
    assert result['state'] == 'healthy'
    assert result['ray_version'] is None


def test_token_head_without_token_fails_the_version_check_at_once(run_module, silent_listener, dashboard):
    dashboard.token = 'c0ffee'

    result = run_module(gcs_wait, dict(host='127.0.0.1', port=silent_listener.port, dashboard_port=dashboard.port,
                                       expected_version='2.60.0', timeout=60, sleep=30))

    assert result['failed'] is True
    assert result['state'] == 'unauthorized'
    assert result['attempts'] == 1
    assert 'HTTP 401' in result['msg']
    assert 'Unauthorized: Missing authentication token' in result['msg']
    assert 'authentication required or token wrong' in result['msg']


def test_token_head_with_wrong_token_says_403(run_module, silent_listener, dashboard):
    dashboard.token = 'c0ffee'

    result = run_module(gcs_wait, fast(host='127.0.0.1', port=silent_listener.port, dashboard_port=dashboard.port,
                                       expected_version='2.60.0', token='tea'))

    assert result['state'] == 'unauthorized'
    assert 'HTTP 403' in result['msg']
    assert 'tea' not in result['msg']


def test_token_head_with_token_checks_the_version(run_module, silent_listener, dashboard):
    dashboard.token = 'c0ffee'

    result = run_module(gcs_wait, fast(host='127.0.0.1', port=silent_listener.port, dashboard_port=dashboard.port,
                                       expected_version='2.60.0', token='c0ffee'))

    assert 'failed' not in result
    assert result['ray_version'] == '2.60.0'
    assert ('/api/version', 'Bearer c0ffee') in dashboard.requests


def test_check_mode_runs_the_same_read_only_checks(run_module, silent_listener, dashboard):
    result = run_module(gcs_wait, fast(host='127.0.0.1', port=silent_listener.port, dashboard_port=dashboard.port),
                        check_mode=True)

    assert result['changed'] is False
    assert result['state'] == 'healthy'
    assert dashboard.count('/api/gcs_healthz') == 1


def test_filtered_port_names_port_head_and_the_ufw_rule(run_module, filtering_head):
    head = filtering_head
    result = run_module(gcs_wait, dict(host=head.head_ip, port=head.dropped_port, timeout=2,
                                       connect_timeout=0.5, sleep=0.05))

    assert result['failed'] is True
    assert result['state'] == 'filtered'
    assert result['attempts'] > 1
    assert result['elapsed'] <= 2 + MARGIN
    msg = result['msg']
    assert 'port %d' % head.dropped_port in msg
    assert 'head %s' % head.head_ip in msg
    assert 'dropped' in msg and 'firewall' in msg
    assert ("sudo ufw allow proto tcp from %s to any port %d comment 'wizardsofts.ray: Ray GCS'"
            % (head.host_ip, head.dropped_port)) in msg


def test_filtered_rule_uses_the_given_source_address(run_module, filtering_head):
    head = filtering_head
    result = run_module(gcs_wait, dict(host=head.head_ip, port=head.dropped_port, timeout=0.5,
                                       connect_timeout=0.5, sleep=0.05, source_address='10.0.0.81'))

    assert result['state'] == 'filtered'
    assert 'from 10.0.0.81 to any port %d' % head.dropped_port in result['msg']


def test_same_head_without_a_drop_rule_is_refused_not_filtered(run_module, filtering_head):
    result = run_module(gcs_wait, fast(host=filtering_head.head_ip, port=filtering_head.closed_port))

    assert result['state'] == 'refused'


def test_no_network_route_is_no_route(run_module, isolated_netns):
    result = run_module.in_netns(isolated_netns, gcs_wait, fast(host='198.18.250.2', port=6379))

    assert result['failed'] is True
    assert result['state'] == 'no_route'
    assert 'No route from this node to the Ray head 198.18.250.2' in result['msg']
    assert 'Network is unreachable' in result['msg']


def test_address_nobody_answers_on_the_link_is_no_route(run_module, filtering_head):
    # The kernel gives up resolving the neighbour after about 3 s and reports EHOSTUNREACH. The second try is
    # cut short by the deadline; its timeout must not turn the answer into "filtered".
    result = run_module(gcs_wait, dict(host=filtering_head.nobody_ip, port=6379, timeout=5, connect_timeout=5,
                                       sleep=0.05))

    assert result['state'] == 'no_route'
    assert result['attempts'] >= 2
    assert 'No route to host' in result['msg']


def test_unresolvable_name_is_dns_error(run_module, isolated_netns):
    result = run_module.in_netns(isolated_netns, gcs_wait, fast(host='ray-head.invalid', timeout=0.5))

    assert result['failed'] is True
    assert result['state'] == 'dns_error'
    assert 'Cannot resolve ray-head.invalid' in result['msg']


def test_bad_ports_are_rejected_before_any_try(run_module):
    result = run_module(gcs_wait, dict(host='127.0.0.1', port=70000, dashboard_port=-1))

    assert result['failed'] is True
    assert 'port must be 1-65535' in result['msg']
    assert 'dashboard_port must be 0-65535' in result['msg']
    assert 'attempts' not in result


def test_token_is_never_echoed(run_module, closed_port):
    result = run_module(gcs_wait, fast(host='127.0.0.1', port=closed_port, token='s3cr3t-t0ken', timeout=0.2))

    assert 's3cr3t-t0ken' not in str(result)


def test_ipv6_head_address_is_bracketed(run_module):
    probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    probe.bind(('::1', 0))
    port = probe.getsockname()[1]
    probe.close()

    result = run_module(gcs_wait, fast(host='::1', port=port, dashboard_port=8265, timeout=0.2))

    assert result['state'] == 'refused'
    assert result['gcs_address'] == '[::1]:%d' % port
    assert result['health_url'] == 'http://[::1]:8265/api/gcs_healthz'
