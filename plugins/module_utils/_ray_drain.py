# private to this collection; no compatibility guarantees
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Draining a Ray worker through Ray's own drain mechanism before its container stops.

What Ray does with a drain request of reason DRAIN_NODE_REASON_PREEMPTION (Ray 2.60): the GCS passes it to the
node's raylet, which accepts it always (a preemption cannot be refused), takes no new tasks from then on, lets the
running ones go on, and once the node is idle (no leased worker, no resource in use, an empty object store) it
unregisters from the GCS and exits by itself. The GCS then lists the node DEAD with the death reason
AUTOSCALER_DRAIN_PREEMPTED and the request's message; the head's state API shows it as "Terminated due to
preemption: MESSAGE". Ray never enforces the deadline itself: whoever asked stops the node when it passes.

PROGRAM runs that in the node's own container (docker exec, so it has the container's token and TLS settings and
reaches the GCS the way the raylet does; nothing secret is in its arguments): it finds the node's ALIVE entry by
IP, asks for the drain, and waits until the node has left or the deadline passed, then prints one JSON line. One
program for the whole wait, not one exec per try: each start of Ray's Python costs seconds of CPU.
"""

from __future__ import annotations

import json

# The interpreter of the Ray images (rayproject/ray and the test bed's): Ray's own, on the PATH.
DEFAULT_PYTHON = 'python'
# Seconds a GCS request of the program may take, capped at the time left.
RPC_TIMEOUT = 10
# Seconds the exec may take beyond the deadline: starting Ray's Python, the first requests, the answer.
STARTUP_SLACK = 60

DRAINED, DEADLINE, NOT_MEMBER, REJECTED, ERROR = 'drained', 'deadline', 'not_member', 'rejected', 'error'
OUTCOMES = (DRAINED, DEADLINE, NOT_MEMBER, REJECTED, ERROR)

# Run as: python -c PROGRAM GCS_ADDRESS NODE_IP MESSAGE DEADLINE_SECONDS SLEEP RPC_TIMEOUT
PROGRAM = r'''
import json
import sys
import time

started = time.monotonic()
report = {"node_id": None, "activity": []}


def finish(outcome, **fields):
    report.update(fields, outcome=outcome, elapsed=round(time.monotonic() - started, 3))
    print(json.dumps(report, sort_keys=True), flush=True)
    sys.exit(0)


try:
    address, node_ip, message = sys.argv[1], sys.argv[2], sys.argv[3]
    deadline = started + float(sys.argv[4])
    sleep, rpc_timeout = float(sys.argv[5]), float(sys.argv[6])
    from ray._raylet import GcsClient
    from ray.core.generated import autoscaler_pb2
    client = GcsClient(address=address)
except Exception as exc:
    finish("error", error="could not start a GCS client for %s: %s: %s" % (sys.argv[1:2], type(exc).__name__, exc))


def left():
    return deadline - time.monotonic()


def nodes():
    answer = client.get_all_node_info(timeout=max(0.05, min(rpc_timeout, left())))
    return dict((node_id.hex(), info) for node_id, info in answer.items())


try:
    mine = dict((node_id, info) for node_id, info in nodes().items() if info.node_manager_address == node_ip)
except Exception as exc:
    finish("error", error="reading the nodes from the GCS at %s failed: %s" % (address, exc))
# Enums are read from the messages' own classes, which every Ray version since the drain API has.
alive = [(node_id, info) for node_id, info in mine.items()
         if info.state == type(info).ALIVE and not info.is_head_node]
if not alive:
    finish("not_member", seen=", ".join("%s %s" % (node_id[:12], type(info).GcsNodeState.Name(info.state))
                                          for node_id, info in sorted(mine.items())) or "no node with this IP")
# A node restarted moments ago may still have its earlier entry ALIVE: the newest one is this container's.
node_id = max(alive, key=lambda item: item[1].start_time_ms)[0]
report["node_id"] = node_id
try:
    accepted, rejection = client.drain_node(
        node_id, autoscaler_pb2.DrainNodeReason.Value("DRAIN_NODE_REASON_PREEMPTION"), message,
        int(time.time() * 1000 + max(0.0, left()) * 1000))
except Exception as exc:
    finish("error", error="the drain request failed: %s" % exc)
if not accepted:
    finish("rejected", error=str(rejection))
seen = "the drain was accepted"
while True:
    try:
        info = nodes().get(node_id)
    except Exception as exc:
        seen = "reading the node failed: %s" % exc
    else:
        if info is None:
            finish("drained", death_reason="UNKNOWN", death_message="the GCS no longer lists the node")
        if info.state != type(info).ALIVE:
            finish("drained", death_reason=type(info.death_info).Reason.Name(info.death_info.reason),
                   death_message=info.death_info.reason_message)
        report["activity"] = list(info.state_snapshot.node_activity)
        seen = "still ALIVE" + (": " + "; ".join(report["activity"]) if report["activity"] else "")
    if left() <= 0:
        finish("deadline", seen=seen)
    time.sleep(max(0.0, min(sleep, left())))
'''


def program_argv(python, gcs_address, node_ip, message, deadline, sleep):
    """The exec's command line."""
    return [python, '-c', PROGRAM, gcs_address, node_ip, message, '%g' % deadline, '%g' % sleep, '%g' % RPC_TIMEOUT]


def exec_timeout(deadline):
    """How long the exec may take in all."""
    return deadline + STARTUP_SLACK


class Outcome(object):
    """What a drain did, from the program's last line (or from what went wrong around it)."""

    def __init__(self, outcome, node_id=None, elapsed=None, death_reason=None, death_message=None, activity=(),
                 seen=None, error=None):
        self.outcome = outcome
        self.node_id = node_id
        self.elapsed = elapsed
        self.death_reason = death_reason
        self.death_message = death_message
        self.activity = list(activity or [])
        self.seen = seen
        self.error = error

    @classmethod
    def failed(cls, error):
        return cls(ERROR, error=error)

    @classmethod
    def parse(cls, output, exit_code=None):
        """The last line of the output that is the program's report; an ERROR outcome when there is none."""
        for line in reversed((output or '').splitlines()):
            try:
                report = json.loads(line)
            except ValueError:
                continue
            if isinstance(report, dict) and report.get('outcome') in OUTCOMES:
                return cls(report['outcome'], node_id=report.get('node_id'), elapsed=report.get('elapsed'),
                           death_reason=report.get('death_reason'), death_message=report.get('death_message'),
                           activity=report.get('activity'), seen=report.get('seen'), error=report.get('error'))
        tail = ' | '.join((output or '').strip().splitlines()[-3:]) or 'no output'
        return cls.failed('the drain program gave no report (exit code %s): %s' % (exit_code, tail))

    @property
    def needs_warning(self):
        """Whether the node may still have had work when it was stopped (or nothing is known about it)."""
        return self.outcome in (DEADLINE, REJECTED, ERROR)

    def summary(self, deadline):
        node = 'Ray node %s' % self.node_id[:12] if self.node_id else 'the Ray node'
        waited = ' after %.1f s' % self.elapsed if self.elapsed is not None else ''
        if self.outcome == DRAINED:
            return '%s drained and left%s (%s: %s)' % (node, waited, self.death_reason, self.death_message)
        if self.outcome == DEADLINE:
            return ('%s was still busy at the drain deadline (%g s; %s): stopped anyway, so what still ran there is '
                    'interrupted (Ray retries tasks that have retries left)' % (node, deadline, self.seen))
        if self.outcome == NOT_MEMBER:
            return 'nothing to drain: the GCS lists no ALIVE worker with this IP (%s)' % self.seen
        if self.outcome == REJECTED:
            return 'Ray refused to drain %s (%s): stopped without a drain' % (node, self.error)
        return 'the drain failed (%s): stopped without a drain' % self.error

    def as_dict(self, deadline):
        return {'outcome': self.outcome, 'node_id': self.node_id, 'elapsed': self.elapsed,
                'death_reason': self.death_reason, 'death_message': self.death_message,
                'activity': self.activity, 'deadline': deadline, 'msg': self.summary(deadline)}
