"""A real Prometheus, installed by monitoring.yml, scrapes the real cluster through the firewall.

Expected values are written out here on purpose, not derived from the role's variables.
"""

import json
import os
import pathlib
import subprocess
import textwrap
import urllib.parse

from helpers import (JOB, METRICS_PORT, NODES, PROMETHEUS, changed_per_host, node_exec,
                     prometheus_api, ray_targets, run_playbook, wait_until)
from node_probe import probe_from

EXPECTED_TARGETS = {
    "server84": ("head", "198.18.92.84:9091", "up"),
    "server80": ("worker", "198.18.92.80:9091", "up"),
}
ALERTS = ["RayHeadNodeDown", "RayWorkerDown", "RayHighMemoryUsage", "RayTaskFailures"]


def test_prometheus_is_installed_running_and_enabled():
    assert node_exec(PROMETHEUS, "systemctl is-active prometheus").strip() == "active"
    assert node_exec(PROMETHEUS, "systemctl is-enabled prometheus").strip() == "enabled"
    assert "ii  prometheus " in node_exec(PROMETHEUS, "dpkg -l prometheus")


def test_every_ray_node_of_the_inventory_is_a_target_and_up():
    targets = wait_until(ray_targets, lambda seen: seen == EXPECTED_TARGETS, 60, "both Ray targets up")
    assert targets == EXPECTED_TARGETS


def test_the_four_alert_rules_are_loaded_and_evaluate_without_error():
    [group] = [group for group in prometheus_api("/api/v1/rules")["groups"] if group["name"] == "wizardsofts-ray-ray"]
    assert [rule["name"] for rule in group["rules"]] == ALERTS
    assert all(rule["health"] == "ok" for rule in group["rules"]), group["rules"]
    assert group["interval"] == 2


# A driver on the head runs tasks that fail and tasks that succeed, and keeps an object in the store,
# then waits until Prometheus has scraped what the alerts need.
WORKLOAD = textwrap.dedent("""
    import ray
    ray.init(address="auto", logging_level="ERROR")

    @ray.remote(max_retries=0)
    def fail():
        raise ValueError("a task that fails on purpose")

    for ref in [fail.remote() for _ in range(3)]:
        try:
            ray.get(ref)
        except ray.exceptions.RayTaskError:
            pass
    kept = ray.put(b"x" * 50_000_000)
    print(input())  # hold the driver, its failed tasks' series and the object until the test is done
""")


def query(expression):
    return prometheus_api("/api/v1/query?query=" + urllib.parse.quote(expression))["result"]


def test_the_metrics_the_alerts_use_are_exported_by_ray_and_scraped():
    head = NODES["head"]["container"]
    driver = subprocess.Popen(
        ["docker", "exec", "-i", head, "docker", "exec", "-i", "ray-head", "python3", "-c", WORKLOAD],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        failed = wait_until(lambda: query(f'sum by (node) (ray_tasks{{job="{JOB}",State="FAILED"}})'),
                            lambda seen: seen and float(seen[0]["value"][1]) >= 3, 120, "3 FAILED tasks in ray_tasks")
        assert [series["metric"]["node"] for series in failed] == ["server84"]
        used = wait_until(lambda: query(f'ray_object_store_used_memory{{job="{JOB}",node="server84"}}'),
                          lambda seen: seen and float(seen[0]["value"][1]) >= 50_000_000, 120, "the 50 MB object in the store")
        assert len(used) == 1
        for node in EXPECTED_TARGETS:
            assert query(f'ray_object_store_available_memory{{job="{JOB}",node="{node}"}}'), node
    finally:
        driver.communicate("done\n", timeout=120)


def test_the_metrics_port_is_open_to_prometheus_and_closed_to_the_other_nodes():
    targets = [f"{NODES[role]['ip']}:{METRICS_PORT}" for role in ("head", "worker")]
    assert probe_from(PROMETHEUS, targets) == {target: "open" for target in targets}
    # The head is inside the cluster network, yet not a Prometheus host: the worker's port is filtered for it.
    worker_metrics = f"{NODES['worker']['ip']}:{METRICS_PORT}"
    assert probe_from(NODES["head"]["container"], [worker_metrics]) == {worker_metrics: "timeout"}


def test_the_grafana_dashboards_ray_generated_are_on_the_controller():
    directory = pathlib.Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp/wizardsofts-ray-monitoring")) / "grafana-dashboards"
    dashboards = {path.name: json.loads(path.read_text(encoding="utf-8")) for path in directory.glob("*.json")}
    assert dashboards["default_grafana_dashboard.json"]["uid"] == "rayDefaultDashboard"
    assert all(dashboard["panels"] and dashboard["title"] for dashboard in dashboards.values())


def test_check_mode_on_the_converged_monitoring_predicts_no_change():
    run = run_playbook("monitoring.yml", "--check", "--diff")
    assert run.returncode == 0, run.stdout[-3000:]
    assert changed_per_host(run.stdout) == {"prometheus": 0, "server84": 0}
