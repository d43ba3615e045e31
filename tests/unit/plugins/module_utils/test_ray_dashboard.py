# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dashboard client against a local server answering with recorded Ray 2.60.0 responses."""

from __future__ import annotations

import pytest

from ansible_collections.wizardsofts.ray.plugins.module_utils._ray_dashboard import (
    NODES_LIMIT,
    DashboardError,
    RayDashboard,
)


def test_health_success(dashboard):
    assert RayDashboard(dashboard.url).gcs_healthz() == (True, 'HTTP 200 "success"')


def test_health_503_raises_with_status_and_body(dashboard):
    dashboard.serve('/api/gcs_healthz', 'gcs_healthz-gcs-stopped.txt')

    with pytest.raises(DashboardError) as error:
        RayDashboard(dashboard.url).gcs_healthz()

    assert error.value.status == 503
    assert error.value.auth_failed is False
    assert error.value.answer == 'HTTP 503 "503: Health check failed: RPC error: Deadline Exceeded"'


def test_health_body_other_than_success_is_unhealthy(dashboard):
    # Any 200 whose body is not "success", here the recorded version JSON.
    dashboard.serve('/api/gcs_healthz', 'version.json')

    healthy, answer = RayDashboard(dashboard.url).gcs_healthz()

    assert healthy is False
    assert answer.startswith('HTTP 200 "{"version": "4"')


def test_version(dashboard):
    assert RayDashboard(dashboard.url).version() == '2.60.0'


def test_nodes_are_normalised_and_asked_for_with_limit_and_detail(dashboard):
    nodes = RayDashboard(dashboard.url).nodes()

    assert [(node['ip'], node['state'], node['is_head']) for node in nodes] == [
        ('192.0.2.2', 'ALIVE', True), ('172.17.0.2', 'ALIVE', False)]
    assert nodes[1]['resources_total']['CPU'] == 2.0
    assert set(nodes[0]) == {'node_id', 'ip', 'state', 'state_message', 'is_head', 'node_name', 'resources_total',
                             'labels'}


def test_nodes_ask_for_rays_maximum_and_detail(dashboard):
    # Ray returns 100 entries unless asked for more; DEAD entries count too.
    RayDashboard(dashboard.url).nodes()

    assert dashboard.query_strings == ['limit=%d&detail=true' % NODES_LIMIT]
    assert NODES_LIMIT == 10000


def test_nodes_without_detail_have_the_same_fields(dashboard):
    dashboard.serve('/api/v0/nodes', 'nodes-two-alive-no-detail.json')

    nodes = RayDashboard(dashboard.url).nodes(detail=False)

    assert [node['ip'] for node in nodes] == ['192.0.2.2', '172.17.0.2']


def test_truncated_list_raises(dashboard):
    dashboard.serve('/api/v0/nodes', 'nodes-limit-1.json')

    with pytest.raises(DashboardError, match='only 1 of 3 nodes returned'):
        RayDashboard(dashboard.url).nodes()


def test_bad_request_carries_rays_message(dashboard):
    dashboard.serve('/api/v0/nodes', 'nodes-bad-limit.json')

    with pytest.raises(DashboardError) as error:
        RayDashboard(dashboard.url).nodes()

    assert error.value.status == 400
    assert "invalid literal for int() with base 10: 'abc'" in error.value.answer


def test_not_json_raises(dashboard):
    dashboard.serve('/api/v0/nodes', 'gcs_healthz.txt')

    with pytest.raises(DashboardError, match='answer is not JSON: success'):
        RayDashboard(dashboard.url).nodes()


@pytest.mark.parametrize('token, status, body', [
    (None, 401, 'Unauthorized: Missing authentication token'),
    ('wrong', 403, 'Forbidden: Invalid authentication token'),
])
def test_auth_failures_say_so(dashboard, token, status, body):
    dashboard.token = 'c0ffee'

    with pytest.raises(DashboardError) as error:
        RayDashboard(dashboard.url, token=token).version()

    assert error.value.status == status
    assert error.value.auth_failed is True
    assert body in error.value.answer
    assert error.value.answer.endswith('authentication required or token wrong')


def test_token_is_sent_as_bearer_header(dashboard):
    dashboard.token = 'c0ffee'

    assert RayDashboard(dashboard.url, token='c0ffee').version() == '2.60.0'
    assert dashboard.requests == [('/api/version', 'Bearer c0ffee')]


def test_health_needs_no_token_on_a_token_head(dashboard):
    dashboard.token = 'c0ffee'

    assert RayDashboard(dashboard.url).gcs_healthz()[0] is True


def test_refused(closed_port):
    with pytest.raises(DashboardError) as error:
        RayDashboard('http://127.0.0.1:%d' % closed_port).version()

    assert error.value.refused is True
    assert error.value.status is None
    assert error.value.answer == 'connection refused'


def test_no_answer_times_out(silent_listener):
    with pytest.raises(DashboardError) as error:
        RayDashboard('http://127.0.0.1:%d' % silent_listener.port).gcs_healthz(timeout=0.3)

    assert error.value.timed_out is True
    assert error.value.answer == 'no answer within 0.3s'


def test_health_url_overrides_the_base(dashboard):
    client = RayDashboard('http://127.0.0.1:1', health_url=dashboard.url + '/api/gcs_healthz')

    assert client.gcs_healthz()[0] is True
