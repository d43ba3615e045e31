"""A Ray job for the day2 drain tests: tasks pinned to one worker, still running when a playbook drains it.

    python drain_job.py NODE_IP TASKS STATE_FILE KEY

TASKS tasks of one CPU each are pinned to the worker at NODE_IP, without retries: a task that the stop of its node
killed fails, instead of being retried out of sight. Each waits at a gate in the GCS's key-value store (not in
ray.get, so that only the running task itself keeps the node busy). The job writes STATE_FILE as it goes: stage
"running" once every task runs; then, once Ray lists the worker as draining, it asks for one more task with a soft
preference for that worker (Ray must run it elsewhere: a draining node takes no new task), opens the gate, gathers
every result and writes stage "done" with what it saw. It exits 1 when a task failed.
"""

import json
import os
import sys
import time

import ray
from ray.experimental.internal_kv import _internal_kv_get, _internal_kv_put
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

NODE_IP, TASKS, STATE_FILE, KEY = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
# Seconds the job waits for its tasks to start, for the drain, and for each result; for the extra task.
WAIT = 900
PROBE_WAIT = 20
STATE = {"stage": "starting", "node_ip": NODE_IP}


def write(**fields):
    STATE.update(fields)
    with open(STATE_FILE + ".tmp", "w", encoding="utf-8") as out:
        json.dump(STATE, out)
    os.replace(STATE_FILE + ".tmp", STATE_FILE)


@ray.remote(num_cpus=1, max_retries=0)
def pinned(index, key):
    _internal_kv_put("%s-started-%d" % (key, index), "1")
    while not _internal_kv_get(key + "-gate"):
        time.sleep(0.2)
    return ray.get_runtime_context().get_node_id()


@ray.remote(num_cpus=1, max_retries=0)
def probe():
    return ray.get_runtime_context().get_node_id()


ray.init(address="auto")
node_id = next(node["NodeID"] for node in ray.nodes() if node["Alive"] and node["NodeManagerAddress"] == NODE_IP)
write(node_id=node_id)
refs = [pinned.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False)).remote(index, KEY)
        for index in range(TASKS)]

give_up = time.monotonic() + WAIT
while sum(1 for index in range(TASKS) if _internal_kv_get("%s-started-%d" % (KEY, index))) < TASKS:
    if time.monotonic() > give_up:
        write(stage="done", error="the tasks did not all start", ok=0, failed=[])
        sys.exit(1)
    time.sleep(0.2)
write(stage="running")

# Until the worker is draining; a task that ends before the gate opened ends the wait too (its node went away).
draining = {}
while time.monotonic() < give_up:
    draining = ray._private.state.state.get_draining_nodes()  # {node ID: deadline in ms}
    if node_id in draining:
        break
    finished, _pending = ray.wait(refs, num_returns=1, timeout=0.2)
    if finished:
        break
seen_ms = int(time.time() * 1000)
probe_node = None
if node_id in draining:
    # Bounded well below the drain's deadline: the pinned tasks still hold the node meanwhile.
    try:
        probe_node = ray.get(probe.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=True)).remote(), timeout=PROBE_WAIT)
    except ray.exceptions.GetTimeoutError:
        probe_node = "no node within %d s" % PROBE_WAIT
_internal_kv_put(KEY + "-gate", "1")

ran_on, failed = [], []
for ref in refs:
    try:
        ran_on.append(ray.get(ref, timeout=WAIT))
    except Exception as exc:  # a task that failed, whatever the reason: counted, with Ray's words
        failed.append("%s: %s" % (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else ""))
write(stage="done", draining=node_id in draining, drain_deadline_ms=draining.get(node_id), seen_ms=seen_ms,
      probe_node=probe_node, ok=len(ran_on), ran_on=ran_on, failed=failed)
sys.exit(1 if failed else 0)
