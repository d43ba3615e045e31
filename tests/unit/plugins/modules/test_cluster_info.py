# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cluster_info against a local HTTP server serving answers recorded from a real Ray 2.60.0 head.

Recorded cluster: head 192.0.2.2 (4 CPU), worker 172.17.0.2 (2 CPU).
"""

from __future__ import annotations

from ansible_collections.wizardsofts.ray.plugins.modules import cluster_info

HEAD = '192.0.2.2'
WORKER = '172.17.0.2'
RETURN_KEYS = {'changed', 'nodes', 'alive', 'dead', 'totals', 'missing', 'unexpected', 'ray_version', 'elapsed',
               'attempts', 'msg'}
MARGIN = 1.0


def test_two_alive_nodes_are_listed_and_totalled(run_module, dashboard):
    result = run_module(cluster_info, dict(dashboard_url=dashboard.url, expected_nodes=[HEAD, WORKER],
                                           min_nodes=2, expected_resources={'CPU': 6}, expected_version='2.60.0'))

    assert 'failed' not in result
    assert set(RETURN_KEYS) <= set(result)
    assert result['changed'] is False
    assert result['alive'] == 2
    assert result['dead'] == 0
    assert result['missing'] == []
    assert result['unexpected'] == []
    assert result['ray_version'] == '2.60.0'
    assert result['attempts'] == 1
    assert result['totals'] == {'CPU': 6.0, 'GPU': 0.0, 'memory': 24604397056.0 + 25110568704.0,
                                'object_store_memory': 300000000.0}
    head = [node for node in result['nodes'] if node['is_head']]
    assert head == [{
        'node_id': '794be6cb15581559fac777c0cb07e531b406ce1fec7010301124172c',
        'ip': HEAD,
        'state': 'ALIVE',
        'state_message': None,
        'is_head': True,
        'node_name': HEAD,
        'resources_total': {'node:192.0.2.2': 1.0, 'object_store_memory': 200000000.0, 'CPU': 4.0,
                            'memory': 24604397056.0, 'node:__internal_head__': 1.0},
        'labels': {'ray.io/node-id': '794be6cb15581559fac777c0cb07e531b406ce1fec7010301124172c'},
    }]
    assert '2 ALIVE, 0 DEAD' in result['msg']


def test_host_and_dashboard_port_build_the_url(run_module, dashboard):
    result = run_module(cluster_info, dict(host='127.0.0.1', dashboard_port=dashboard.port))

    assert 'failed' not in result
    assert result['alive'] == 2
    assert 'http://127.0.0.1:%d' % dashboard.port in result['msg']


def test_dead_worker_is_missing_with_its_state(run_module, dashboard):
    dashboard.serve('/api/v0/nodes', 'nodes-worker-dead.json')

    result = run_module(cluster_info, dict(dashboard_url=dashboard.url, expected_nodes=[HEAD, WORKER],
                                           expected_resources={'CPU': 6}))

    assert result['failed'] is True
    assert result['attempts'] == 1
    assert result['alive'] == 1
    assert result['dead'] == 1
    assert result['missing'] == [WORKER]
    assert result['unexpected'] == []
    assert result['totals']['CPU'] == 4.0
    assert 'missing ALIVE nodes: 172.17.0.2 (DEAD); CPU total 4.0, expected 6.0' in result['msg']


def test_node_that_never_joined_is_missing_as_absent(run_module, dashboard):
    result = run_module(cluster_info, dict(dashboard_url=dashboard.url, expected_nodes=[HEAD, WORKER, '10.0.0.82']))

    assert result['failed'] is True
    assert result['missing'] == ['10.0.0.82']
    assert 'missing ALIVE nodes: 10.0.0.82 (absent)' in result['msg']


def test_alive_node_not_expected_is_reported_as_unexpected_without_failing(run_module, dashboard):
    # A worker checks only that it joined: the head and other workers are listed, not a failure.
    result = run_module(cluster_info, dict(dashboard_url=dashboard.url, expected_nodes=[WORKER]))

    assert 'failed' not in result
    assert result['missing'] == []
    assert result['unexpected'] == [HEAD]


def test_without_expected_nodes_nothing_is_missing_or_unexpected(run_module, dashboard):
    dashboard.serve('/api/v0/nodes', 'nodes-worker-dead.json')

    result = run_module(cluster_info, dict(dashboard_url=dashboard.url))

    assert 'failed' not in result
    assert result['missing'] == []
    assert result['unexpected'] == []
    assert [node['state'] for node in result['nodes']] == ['ALIVE', 'DEAD']
    dead = result['nodes'][1]
    assert dead['state_message'] == 'Terminated due to preemption: Node received SIGTERM; draining before shutdown.'


def test_rejoined_worker_counts_once_alive_and_keeps_its_dead_entry(run_module, dashboard):
    dashboard.serve('/api/v0/nodes', 'nodes-worker-rejoined.json')

    result = run_module(cluster_info, dict(dashboard_url=dashboard.url, expected_nodes=[HEAD, WORKER], min_nodes=2,
                                           expected_resources={'CPU': 6.0}))

    assert 'failed' not in result
    assert result['alive'] == 2
    assert result['dead'] == 1
    assert result['missing'] == []


def test_too_few_nodes_and_wrong_resources_are_all_listed(run_module, dashboard):
    result = run_module(cluster_info, dict(dashboard_url=dashboard.url, min_nodes=3,
                                           expected_resources={'CPU': 12, 'GPU': 1, 'object_store_memory': 3e8}))

    assert result['failed'] is True
    assert result['msg'].endswith('2 ALIVE nodes, expected at least 3; CPU total 6.0, expected 12.0; '
                                  'GPU total 0.0, expected 1.0')


def test_resources_equal_within_float_tolerance(run_module, dashboard):
    result = run_module(cluster_info, dict(dashboard_url=dashboard.url,
                                           expected_resources={'CPU': '6', 'object_store_memory': 300000000.0000001}))

    assert 'failed' not in result


def test_non_numeric_expected_resource_is_rejected(run_module, dashboard):
    result = run_module(cluster_info, dict(dashboard_url=dashboard.url, expected_resources={'CPU': 'lots'}))

    assert result['failed'] is True
    assert "expected_resources.CPU must be a number, got 'lots'" in result['msg']
    assert dashboard.requests == []


def test_wait_ends_as_soon_as_the_expectations_hold(run_module, dashboard):
    dashboard.serve('/api/v0/nodes', 'nodes-worker-dead.json', 'nodes-worker-dead.json', 'nodes-worker-rejoined.json')

    result = run_module(cluster_info, dict(dashboard_url=dashboard.url, expected_nodes=[HEAD, WORKER],
                                           timeout=30, sleep=0.05))

    assert 'failed' not in result
    assert result['attempts'] == 3
    assert dashboard.count('/api/v0/nodes') == 3
    assert dashboard.count('/api/version') == 1
    assert result['missing'] == []


def test_wait_covers_the_moment_before_the_head_registers(run_module, dashboard):
    dashboard.serve('/api/v0/nodes', 'nodes-empty-just-started.json', 'nodes-head-only.json')

    result = run_module(cluster_info, dict(dashboard_url=dashboard.url, min_nodes=1, timeout=30,
                                           sleep=0.05))

    assert 'failed' not in result
    assert result['attempts'] == 2
    assert result['alive'] == 1


def test_wait_times_out_listing_what_is_still_missing(run_module, dashboard):
    dashboard.serve('/api/v0/nodes', 'nodes-worker-dead.json')

    result = run_module(cluster_info, dict(dashboard_url=dashboard.url, expected_nodes=[HEAD, WORKER],
                                           timeout=1, sleep=0.1))

    assert result['failed'] is True
    assert result['attempts'] > 1
    assert 1 <= result['elapsed'] <= 1 + MARGIN
    assert result['missing'] == [WORKER]
    assert 'missing ALIVE nodes: 172.17.0.2 (DEAD)' in result['msg']


def test_missing_token_fails_at_once_even_when_waiting(run_module, dashboard):
    dashboard.token = 'c0ffee'

    result = run_module(cluster_info, dict(dashboard_url=dashboard.url, timeout=60, sleep=30))

    assert result['failed'] is True
    assert result['attempts'] == 1
    assert result['elapsed'] < 30
    assert 'HTTP 401' in result['msg']
    assert 'Unauthorized: Missing authentication token' in result['msg']
    assert 'authentication required or token wrong' in result['msg']
    assert result['nodes'] == []


def test_wrong_token_fails_with_403(run_module, dashboard):
    dashboard.token = 'c0ffee'

    result = run_module(cluster_info, dict(dashboard_url=dashboard.url, token='tea'))

    assert result['failed'] is True
    assert 'HTTP 403' in result['msg']
    assert 'Forbidden: Invalid authentication token' in result['msg']


def test_right_token_is_sent_as_bearer(run_module, dashboard):
    dashboard.token = 'c0ffee'
    dashboard.serve('/api/v0/nodes', 'nodes-head-only.json')

    result = run_module(cluster_info, dict(dashboard_url=dashboard.url, token='c0ffee', expected_nodes=[HEAD]))

    assert 'failed' not in result
    assert result['alive'] == 1
    assert set(header for _path, header in dashboard.requests) == {'Bearer c0ffee'}
    assert 'c0ffee' not in str(result)


def test_other_head_version_fails_at_once(run_module, dashboard):
    result = run_module(cluster_info, dict(dashboard_url=dashboard.url, expected_version='2.61.0',
                                           timeout=60, sleep=30))

    assert result['failed'] is True
    assert result['attempts'] == 1
    assert result['ray_version'] == '2.60.0'
    assert result['alive'] == 2
    assert 'the head runs Ray 2.60.0, expected 2.61.0' in result['msg']


def test_unreachable_dashboard_fails_with_the_reason(run_module, closed_port):
    result = run_module(cluster_info, dict(host='127.0.0.1', dashboard_port=closed_port))

    assert result['failed'] is True
    assert result['attempts'] == 1
    assert 'connection refused' in result['msg']
    assert result['nodes'] == [] and result['alive'] == 0 and result['ray_version'] is None


def test_single_look_gives_each_request_the_full_connect_timeout(run_module, silent_listener):
    result = run_module(cluster_info, dict(host='127.0.0.1', dashboard_port=silent_listener.port,
                                           connect_timeout=0.5))

    assert result['failed'] is True
    assert result['attempts'] == 1
    assert 0.5 <= result['elapsed'] <= 0.5 + MARGIN
    assert 'no answer within 0.5s' in result['msg']


def test_silent_dashboard_is_waited_for_until_the_timeout(run_module, silent_listener):
    result = run_module(cluster_info, dict(host='127.0.0.1', dashboard_port=silent_listener.port,
                                           timeout=1.5, connect_timeout=0.4, sleep=0.1))

    assert result['failed'] is True
    assert result['attempts'] > 1
    assert 1.5 <= result['elapsed'] <= 1.5 + MARGIN
    assert 'no answer within' in result['msg']


def test_truncated_node_list_is_an_error_not_missing_nodes(run_module, dashboard):
    dashboard.serve('/api/v0/nodes', 'nodes-limit-1.json')

    result = run_module(cluster_info, dict(dashboard_url=dashboard.url))

    assert result['failed'] is True
    assert 'only 1 of 3 nodes returned' in result['msg']


def test_dashboard_url_and_host_are_mutually_exclusive(run_module, dashboard):
    result = run_module(cluster_info, dict(dashboard_url=dashboard.url, host='127.0.0.1'))

    assert result['failed'] is True
    assert 'mutually exclusive' in result['msg']
    assert dashboard.requests == []


def test_dashboard_url_and_dashboard_port_are_mutually_exclusive(run_module, dashboard):
    result = run_module(cluster_info, dict(dashboard_url=dashboard.url, dashboard_port=dashboard.port))

    assert result['failed'] is True
    assert 'mutually exclusive' in result['msg']


def test_one_of_dashboard_url_and_host_is_required(run_module):
    result = run_module(cluster_info, dict())

    assert result['failed'] is True
    assert 'one of the following is required: dashboard_url, host' in result['msg']


def test_check_mode_asks_the_head_all_the_same(run_module, dashboard):
    result = run_module(cluster_info, dict(dashboard_url=dashboard.url, expected_nodes=[HEAD, WORKER]),
                        check_mode=True)

    assert 'failed' not in result
    assert result['changed'] is False
    assert dashboard.count('/api/v0/nodes') == 1


def test_error_after_an_answer_keeps_what_that_answer_showed(run_module, dashboard):
    # The second answer is not JSON (the health body served as the node list).
    dashboard.serve('/api/v0/nodes', 'nodes-worker-dead.json', 'gcs_healthz.txt')

    result = run_module(cluster_info, dict(dashboard_url=dashboard.url, expected_nodes=[HEAD, WORKER],
                                           timeout=1, sleep=0.1))

    assert result['failed'] is True
    assert result['attempts'] > 1
    assert result['missing'] == [WORKER]
    assert 'answer is not JSON: success' in result['msg']
    assert 'the answer before: missing ALIVE nodes: 172.17.0.2 (DEAD)' in result['msg']
