# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The TCP probe against real sockets on 127.0.0.1 and real network namespaces."""

from __future__ import annotations

import json
import time

from ansible_collections.wizardsofts.ray.plugins.module_utils import _tcp_probe as tcp

PROBE_SCRIPT = '''
import json, sys
from ansible_collections.wizardsofts.ray.plugins.module_utils import _tcp_probe as tcp
result = tcp.probe_tcp(sys.argv[1], int(sys.argv[2]), 1.0)
print(json.dumps([result.state, result.detail, tcp.local_source_address(sys.argv[1])]))
'''


def test_listening_port(silent_listener):
    result = tcp.probe_tcp('127.0.0.1', silent_listener.port, 1.0)

    assert result.state == tcp.LISTENING
    assert result.address == '127.0.0.1'


def test_closed_port_is_refused(closed_port):
    result = tcp.probe_tcp('127.0.0.1', closed_port, 1.0)

    assert result.state == tcp.REFUSED
    assert result.detail == 'connection refused'


def test_dropped_port_is_filtered_after_the_timeout(filtering_head):
    started = time.monotonic()
    result = tcp.probe_tcp(filtering_head.head_ip, filtering_head.dropped_port, 0.5)
    took = time.monotonic() - started

    assert result.state == tcp.FILTERED
    assert result.detail == 'no answer within 0.5s'
    assert took >= 0.5


def test_same_host_other_port_is_refused(filtering_head):
    assert tcp.probe_tcp(filtering_head.head_ip, filtering_head.closed_port, 2.0).state == tcp.REFUSED


def test_neighbour_that_never_answers_is_no_route(filtering_head):
    result = tcp.probe_tcp(filtering_head.nobody_ip, 6379, 10.0)

    assert result.state == tcp.NO_ROUTE
    assert result.detail == 'No route to host'


def test_source_address_is_the_local_end_of_the_route(filtering_head):
    assert tcp.local_source_address(filtering_head.head_ip) == filtering_head.host_ip
    assert tcp.local_source_address('127.0.0.1') == '127.0.0.1'


def test_no_network_is_no_route_and_has_no_source_address(isolated_netns, netns_python):
    state, detail, source = json.loads(netns_python(isolated_netns, '-c', PROBE_SCRIPT, '198.18.250.2', '6379'))

    assert state == tcp.NO_ROUTE
    assert detail == 'Network is unreachable'
    assert source is None


def test_unresolvable_name_is_dns_error(isolated_netns, netns_python):
    state, detail, source = json.loads(netns_python(isolated_netns, '-c', PROBE_SCRIPT, 'ray-head.invalid', '6379'))

    assert state == tcp.DNS_ERROR
    assert detail.startswith('cannot resolve ray-head.invalid: ')
    assert source is None


def test_zero_timeout_still_makes_a_blocking_try(closed_port):
    # A zero socket timeout means non-blocking; the probe must still classify, not report EINPROGRESS.
    assert tcp.probe_tcp('127.0.0.1', closed_port, 0).state == tcp.REFUSED
