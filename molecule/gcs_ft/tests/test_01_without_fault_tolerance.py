"""What a head restart costs WITHOUT GCS fault tolerance (the deployment as converge.yml made it): the worker's
node is told it belongs to another cluster, exits, and Docker restarts it into the new, empty cluster as a new
node; a detached actor that lived on it is gone."""

import time

from helpers import HEAD, WORKER, alive_node_id, gcs_healthy, node_exec, started, wait_until, workload


def test_a_head_restart_without_fault_tolerance_loses_the_workers_node_and_its_actor():
    assert workload("counter-start")["count"] == 5
    worker_node = alive_node_id(WORKER["ip"])
    worker_started = started(WORKER, WORKER["ray"])

    down = time.monotonic()
    node_exec(HEAD, f"docker restart {HEAD['ray']}")
    restarted = time.monotonic() - down
    wait_until(gcs_healthy, 180, "the head's GCS healthy again")
    healthy = time.monotonic() - down
    rejoined = wait_until(lambda: alive_node_id(WORKER["ip"]) not in (None, worker_node), 300,
                          "the worker ALIVE again, as a new node")
    lost = workload("counter-incr")
    print(f"\n[gcs_ft] without fault tolerance: `docker restart` took {restarted:.1f} s, GCS healthy {healthy:.1f} s "
          f"after the restart began, "
          f"the worker back as a new node {healthy + rejoined:.1f} s after it began; its container restarted: {started(WORKER, WORKER['ray'])} "
          f"(was {worker_started}); the detached actor: {lost}")
    assert "error" in lost, lost
    assert started(WORKER, WORKER["ray"]) != worker_started
