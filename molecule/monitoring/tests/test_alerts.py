"""RayWorkerDown fires when the worker's Ray container stops, and resolves when it starts again.

The scenario's inventory shortens the alerts' `for:` to 10 s and Prometheus' intervals to 2 s; the
rule is otherwise the one a production inventory gets.
"""

import pytest

from helpers import NODES, alerts, node_exec, ray_targets, wait_until

WORKER = NODES["worker"]["container"]


def firing(name):
    return [alert for alert in alerts(name) if alert["state"] == "firing"]


@pytest.fixture()
def stopped_worker():
    wait_until(ray_targets, lambda seen: {health for _, _, health in seen.values()} == {"up"}, 120, "every Ray target up")
    wait_until(lambda: alerts("RayWorkerDown"), lambda seen: seen == [], 60, "no RayWorkerDown before the test")
    node_exec(WORKER, "docker stop ray-worker")
    try:
        yield WORKER
    finally:
        # Started again whatever happened, so that the cluster is whole for the other tests.
        node_exec(WORKER, "docker start ray-worker")


def test_stopping_the_worker_fires_ray_worker_down_and_starting_it_resolves_it(stopped_worker):
    [alert] = wait_until(lambda: firing("RayWorkerDown"), bool, 120, "RayWorkerDown firing")
    assert alert["labels"] == {"alertname": "RayWorkerDown", "cluster": "ray", "severity": "warning"}
    assert alert["annotations"]["summary"] == "Ray cluster ray has 0 of 1 workers up"
    assert ray_targets()["server80"][2] == "down"
    assert firing("RayHeadNodeDown") == []

    node_exec(stopped_worker, "docker start ray-worker")
    wait_until(lambda: alerts("RayWorkerDown"), lambda seen: seen == [], 180, "RayWorkerDown resolved")
    assert ray_targets()["server80"][2] == "up"
