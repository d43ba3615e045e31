# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drain program, run for real by this machine's Python against the stand-in Ray of fixtures/fake-ray (a GCS
played from a scenario), and the reading of what it prints."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from ansible_collections.wizardsofts.ray.plugins.module_utils import _ray_drain

GCS = '198.18.94.84:6379'
WORKER = '198.18.94.81'
HEAD = {'node_id': 'aa' * 28, 'ip': '198.18.94.84', 'is_head': True, 'start_time_ms': 1}
NODE = 'b3' * 28
EARLIER = 'e1' * 28
MESSAGE = 'wizardsofts.ray remove_worker.yml: server81 leaves the cluster'


def run_program(fake_gcs, deadline=5, sleep=0.05, node_ip=WORKER):
    """The program as the module runs it in the container; returns (Outcome, seconds it took)."""
    argv = _ray_drain.program_argv(sys.executable, GCS, node_ip, MESSAGE, deadline, sleep)
    env = dict(fake_gcs.env(), PATH=os.environ.get('PATH', '/usr/bin:/bin'))
    started = time.monotonic()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return _ray_drain.Outcome.parse(done.stdout + done.stderr, done.returncode), time.monotonic() - started


def worker(node_id=NODE, **fields):
    return dict({'node_id': node_id, 'ip': WORKER, 'start_time_ms': 2}, **fields)


def test_a_drained_node_is_waited_for_until_it_left_with_the_drains_reason(fake_gcs):
    fake_gcs.set(nodes=[HEAD, worker()], drain={'leaves_after': 3})
    before = time.time() * 1000

    outcome, _seconds = run_program(fake_gcs, deadline=20)

    assert outcome.outcome == _ray_drain.DRAINED
    assert (outcome.node_id, outcome.death_reason, outcome.death_message) == (NODE, 'AUTOSCALER_DRAIN_PREEMPTED', MESSAGE)
    calls = fake_gcs.calls()
    assert [call['call'] for call in calls] == ['connect', 'get_all_node_info', 'drain_node'] + ['get_all_node_info'] * 4
    assert calls[0]['address'] == GCS
    drain = calls[2]
    assert (drain['node_id'], drain['reason'], drain['message']) == (NODE, 'DRAIN_NODE_REASON_PREEMPTION', MESSAGE)
    # Ray is told when the node will be stopped: the deadline, as a wall-clock time in milliseconds.
    assert before + 15000 < drain['deadline_timestamp_ms'] < time.time() * 1000 + 20000
    # Every request is bounded, by the time left at most.
    assert all(0 < call['timeout'] <= _ray_drain.RPC_TIMEOUT for call in calls if call['call'] == 'get_all_node_info')


def test_at_the_deadline_a_busy_node_is_reported_with_what_keeps_it_busy(fake_gcs):
    fake_gcs.set(nodes=[worker(activity=['Busy workers on node.', 'Resource: CPU currently in use.'])],
                 drain={'leaves_after': None})

    outcome, seconds = run_program(fake_gcs, deadline=0.6, sleep=0.1)

    assert outcome.outcome == _ray_drain.DEADLINE
    assert outcome.seen == 'still ALIVE: Busy workers on node.; Resource: CPU currently in use.'
    assert outcome.activity == ['Busy workers on node.', 'Resource: CPU currently in use.']
    assert 0.6 <= outcome.elapsed < seconds
    assert outcome.needs_warning


def test_of_two_alive_entries_of_the_ip_the_newest_is_drained(fake_gcs):
    # A raylet restarted moments ago: its earlier entry is still ALIVE until the GCS notices.
    fake_gcs.set(nodes=[worker(EARLIER, start_time_ms=5), worker(NODE, start_time_ms=9)], drain={'leaves_after': 0})

    outcome, _seconds = run_program(fake_gcs)

    assert outcome.node_id == NODE
    assert [call['node_id'] for call in fake_gcs.calls() if call['call'] == 'drain_node'] == [NODE]


@pytest.mark.parametrize('nodes, node_ip, seen', [
    ([HEAD], WORKER, 'no node with this IP'),
    ([HEAD, worker(state='DEAD', death_reason='UNEXPECTED_TERMINATION')], WORKER, 'b3b3b3b3b3b3 DEAD'),
    # The head is never drained, even when asked by its IP.
    ([HEAD], HEAD['ip'], 'aaaaaaaaaaaa ALIVE'),
])
def test_no_alive_worker_with_the_ip_is_nothing_to_drain(fake_gcs, nodes, node_ip, seen):
    fake_gcs.set(nodes=nodes)

    outcome, _seconds = run_program(fake_gcs, node_ip=node_ip)

    assert (outcome.outcome, outcome.seen) == (_ray_drain.NOT_MEMBER, seen)
    assert 'drain_node' not in [call['call'] for call in fake_gcs.calls()]
    assert not outcome.needs_warning


@pytest.mark.parametrize('scenario, outcome, error', [
    ({'connect_error': 'GCS unreachable'}, _ray_drain.ERROR,
     "could not start a GCS client for ['198.18.94.84:6379']: ConnectionError: GCS unreachable"),
    ({'list_error': 'Unauthenticated: invalid token'}, _ray_drain.ERROR,
     'reading the nodes from the GCS at 198.18.94.84:6379 failed: Unauthenticated: invalid token'),
    ({'drain': {'error': 'RPC timed out'}}, _ray_drain.ERROR, 'the drain request failed: RPC timed out'),
    ({'drain': {'accepted': False, 'rejection': 'The node to be idle terminated is no longer idle.'}},
     _ray_drain.REJECTED, 'The node to be idle terminated is no longer idle.'),
])
def test_a_drain_that_cannot_be_had_says_why(fake_gcs, scenario, outcome, error):
    fake_gcs.set(nodes=[worker()], **scenario)

    result, _seconds = run_program(fake_gcs)

    assert (result.outcome, result.error) == (outcome, error)
    assert result.needs_warning


def test_a_gcs_that_stops_answering_during_the_drain_ends_at_the_deadline_saying_so(fake_gcs):
    fake_gcs.set(nodes=[worker()], drain={'leaves_after': None}, list_error_after_drain='GCS connection lost')

    outcome, _seconds = run_program(fake_gcs, deadline=0.4, sleep=0.1)

    assert outcome.outcome == _ray_drain.DEADLINE
    assert outcome.seen == 'reading the node failed: GCS connection lost'


# ----------------------------------------------------------------------------- reading the report

@pytest.mark.parametrize('output, outcome, summary', [
    ('2026-12-02 WARNING something Ray logged\n{"outcome": "drained", "node_id": "%s", "elapsed": 4.25, '
     '"death_reason": "AUTOSCALER_DRAIN_PREEMPTED", "death_message": "bye", "activity": []}\n' % NODE,
     _ray_drain.DRAINED,
     'Ray node b3b3b3b3b3b3 drained and left after 4.2 s (AUTOSCALER_DRAIN_PREEMPTED: bye)'),
    ('{"outcome": "deadline", "node_id": "%s", "elapsed": 60.01, "seen": "still ALIVE: Busy workers on node."}'
     % NODE, _ray_drain.DEADLINE,
     'Ray node b3b3b3b3b3b3 was still busy at the drain deadline (60 s; still ALIVE: Busy workers on node.): stopped '
     'anyway, so what still ran there is interrupted (Ray retries tasks that have retries left)'),
    ('{"outcome": "not_member", "seen": "b3b3b3b3b3b3 DEAD", "elapsed": 1.0}', _ray_drain.NOT_MEMBER,
     'nothing to drain: the GCS lists no ALIVE worker with this IP (b3b3b3b3b3b3 DEAD)'),
    ('{"outcome": "rejected", "node_id": "%s", "error": "no"}' % NODE, _ray_drain.REJECTED,
     'Ray refused to drain Ray node b3b3b3b3b3b3 (no): stopped without a drain'),
    ('Traceback (most recent call last):\n  File "<string>", line 1\nSyntaxError: invalid syntax\n', _ray_drain.ERROR,
     'the drain failed (the drain program gave no report (exit code 1): Traceback (most recent call last): | '
     '  File "<string>", line 1 | SyntaxError: invalid syntax): stopped without a drain'),
    ('', _ray_drain.ERROR, 'the drain failed (the drain program gave no report (exit code 1): no output): stopped '
     'without a drain'),
    # A JSON line that is not the report does not count as one.
    ('{"outcome": "maybe"}\n[1, 2]\n', _ray_drain.ERROR,
     'the drain failed (the drain program gave no report (exit code 1): {"outcome": "maybe"} | [1, 2]): stopped '
     'without a drain'),
])
def test_the_report_is_the_last_line_that_is_one(output, outcome, summary):
    result = _ray_drain.Outcome.parse(output, exit_code=1)

    assert result.outcome == outcome
    assert result.summary(60) == summary
    assert result.as_dict(60)['msg'] == summary


def test_the_program_gets_its_arguments_in_order_and_the_exec_time_covers_the_deadline():
    argv = _ray_drain.program_argv('python', GCS, WORKER, MESSAGE, 60, 0.5)

    assert argv[:2] == ['python', '-c'] and argv[2] == _ray_drain.PROGRAM
    assert argv[3:] == [GCS, WORKER, MESSAGE, '60', '0.5', str(_ray_drain.RPC_TIMEOUT)]
    assert _ray_drain.exec_timeout(60) == 60 + _ray_drain.STARTUP_SLACK
