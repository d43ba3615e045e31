"""Ray's sessions on the node's disk stay bounded: every start of a Ray container makes a new session directory
under the data directory, and a run of site.yml removes all but the newest few (and the running one), without
touching the container.

The worker's container is restarted several times (as a crash loop or a reboot would), then site.yml runs with
ray_cluster_sessions_keep=2.
"""

import json
import re
import time

from helpers import NODES, head_api, node_exec, run_playbook

WORKER = NODES["worker"]
SESSION_ROOT = "/var/lib/ray/session"
RESTARTS = 4
KEEP = 2
RECAP = re.compile(r"^(?P<host>\S+)\s+: ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=\d+\s+failed=(?P<failed>\d+)", re.M)


def sessions():
    listing = node_exec(WORKER["container"], f"find {SESSION_ROOT} -mindepth 1 -maxdepth 1 -type d -name 'session_2*'")
    return sorted(line.rsplit("/", 1)[-1] for line in listing.split())


def latest():
    return node_exec(WORKER["container"], f"readlink {SESSION_ROOT}/session_latest").strip().rsplit("/", 1)[-1]


def container():
    return json.loads(node_exec(WORKER["container"], "docker inspect ray-worker"))[0]


def wait_for(condition, what, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout} s: {what}")


def worker_alive():
    nodes = head_api("/api/v0/nodes")["data"]["result"]["result"]
    return any(node["node_ip"] == WORKER["ip"] and node["state"] == "ALIVE" for node in nodes)


def test_restarts_leave_sessions_that_a_run_prunes_without_touching_the_container():
    for _restart in range(RESTARTS):
        before = latest()
        node_exec(WORKER["container"], "docker restart ray-worker")
        # Ray points session_latest at the new session once it starts.
        wait_for(lambda: latest() != before, "a new session after docker restart")
    wait_for(worker_alive, f"the worker {WORKER['ip']} ALIVE again")
    piled_up = sessions()
    assert len(piled_up) >= RESTARTS + 1, piled_up
    running = latest()
    started = container()

    run = run_playbook("site.yml", "-e", json.dumps({"ray_cluster_sessions_keep": KEEP}))

    assert run.returncode == 0, run.stdout[-3000:]
    left = sessions()
    assert left == piled_up[-KEEP:], (piled_up, left)
    assert running in left and latest() == running
    after = container()
    assert (after["Id"], after["State"]["StartedAt"]) == (started["Id"], started["State"]["StartedAt"])
    # Ray's other files in its temp root stay.
    assert node_exec(WORKER["container"], f"test -L {SESSION_ROOT}/session_latest && echo link").strip() == "link"


def test_a_second_run_has_nothing_to_prune():
    kept = sessions()

    run = run_playbook("site.yml", "-e", json.dumps({"ray_cluster_sessions_keep": KEEP}))

    assert run.returncode == 0, run.stdout[-3000:]
    assert {match["host"]: int(match["changed"]) for match in RECAP.finditer(run.stdout)} == {
        "server84": 0, "server80": 0}
    assert sessions() == kept
