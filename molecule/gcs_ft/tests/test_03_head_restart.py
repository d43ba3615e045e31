"""With GCS fault tolerance on: the head's container restarts, and nothing on the worker notices for long. A
detached actor counts on from where it was, the worker is not restarted and keeps its node ID, a job whose driver
and task run on the worker finishes, and a Ray Serve application keeps answering (its failed requests counted)."""

import time

from helpers import (HEAD, WORKER, ServeProbe, alive_node_id, gcs_healthy, job_status, node_exec, serve_answers,
                     started, submit_job, wait_until, workload)


def test_a_head_container_restart_loses_nothing_on_the_worker():
    assert workload("counter-start")["count"] == 5
    workload("serve-deploy")
    wait_until(serve_answers, 120, "the Serve application answering through the worker's proxy")
    job = submit_job(45)
    wait_until(lambda: job_status(job) == "RUNNING", 120, f"job {job} RUNNING")
    worker_node = alive_node_id(WORKER["ip"])
    worker_started = started(WORKER, WORKER["ray"])
    probe = ServeProbe()

    down = time.monotonic()
    node_exec(HEAD, f"docker restart {HEAD['ray']}")
    restarted = time.monotonic() - down
    wait_until(gcs_healthy, 180, "the head's GCS healthy again")
    healthy = time.monotonic() - down
    served = probe.result()
    counted = workload("counter-incr")
    wait_until(lambda: job_status(job) in ("SUCCEEDED", "FAILED", "STOPPED"), 240, f"job {job} ended")
    status = job_status(job)
    print(f"\n[gcs_ft] head container restart with fault tolerance: `docker restart` took {restarted:.1f} s, GCS healthy "
          f"{healthy:.1f} s after the restart began; the actor "
          f"counted {counted}; job {job}: {status}; Serve through the worker's proxy from before the restart until the GCS was healthy "
          f"({served['seconds']} s): {served['ok']} "
          f"answered, {served['failed']} failed (at {served['failures'][:20]} s)")
    assert counted.get("count") == 6, counted
    assert alive_node_id(WORKER["ip"]) == worker_node
    assert started(WORKER, WORKER["ray"]) == worker_started
    assert status == "SUCCEEDED", status
    assert served["ok"] > 0 and serve_answers()
