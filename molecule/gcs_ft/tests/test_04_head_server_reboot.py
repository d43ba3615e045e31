"""With GCS fault tolerance on: the head's whole server reboots (systemd, then Docker, then the head's container by
its restart policy). The worker, on its own server with Redis, keeps its node, its container and its actor."""

import subprocess
import time

from helpers import HEAD, WORKER, ServeProbe, alive_node_id, gcs_healthy, serve_answers, started, wait_until, workload


def test_a_head_server_reboot_loses_nothing_on_the_worker():
    before = workload("counter-incr")
    assert "count" in before, before
    worker_node = alive_node_id(WORKER["ip"])
    worker_started = started(WORKER, WORKER["ray"])
    probe = ServeProbe()

    down = time.monotonic()
    reboot = subprocess.run(["docker", "restart", HEAD["container"]], capture_output=True, text=True, timeout=300)
    assert reboot.returncode == 0, reboot.stderr
    wait_until(gcs_healthy, 300, "the head's GCS healthy again after the reboot")
    healthy = time.monotonic() - down
    served = probe.result()
    counted = workload("counter-incr")
    print(f"\n[gcs_ft] head server reboot with fault tolerance: GCS healthy {healthy:.1f} s after `docker restart` of "
          f"the server began; the actor counted {before['count']} -> {counted}; Serve until the GCS was healthy ({served['seconds']} s): {served['ok']} "
          f"answered, {served['failed']} failed")
    assert counted.get("count") == before["count"] + 1, counted
    assert alive_node_id(WORKER["ip"]) == worker_node
    assert started(WORKER, WORKER["ray"]) == worker_started
    assert served["ok"] > 0 and serve_answers()
