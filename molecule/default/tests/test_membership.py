"""Cluster membership as the seed expected it, and wizardsofts.ray.cluster_info's `missing` and `unexpected`
on the real cluster: an unlisted node, then a worker stopped and started again."""

import json
import time

import pytest

from helpers import NODES, PROJECT_DIR, head_api, node_exec, run_playbook

HEAD_IP = NODES["head"]["ip"]
WORKER_IP = NODES["worker"]["ip"]
EXPECTED_TOTAL_CPUS = 12.0  # the seed: 4 on the head + 8 on the worker
CLUSTER_INFO = str(PROJECT_DIR / "molecule" / "default" / "tests" / "playbooks" / "cluster_info.yml")


def alive_ips():
    nodes = head_api("/api/v0/nodes")["data"]["result"]["result"]
    return sorted(node["node_ip"] for node in nodes if node["state"] == "ALIVE")


def cluster_info(expected_nodes, timeout):
    """Runs the module through a playbook; returns (return code, the module's result)."""
    run = run_playbook(CLUSTER_INFO, "-e", json.dumps({"expected_nodes": expected_nodes, "timeout": timeout}),
                       env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"})
    task = json.loads(run.stdout)["plays"][0]["tasks"][0]
    return run.returncode, task["hosts"]["server84"]


def test_both_seed_nodes_are_alive_with_12_cpus_in_total():
    nodes = head_api("/api/v0/nodes")["data"]["result"]["result"]
    alive = [node for node in nodes if node["state"] == "ALIVE"]
    assert sorted(node["node_ip"] for node in alive) == sorted([HEAD_IP, WORKER_IP])
    assert [node["node_ip"] for node in alive if node["is_head_node"]] == [HEAD_IP]
    assert sum(node["resources_total"]["CPU"] for node in alive) == EXPECTED_TOTAL_CPUS


def test_cluster_info_lists_an_alive_node_the_inventory_does_not_as_unexpected_and_still_passes():
    returncode, result = cluster_info([HEAD_IP], timeout=0)
    assert returncode == 0
    assert result["unexpected"] == [WORKER_IP]
    assert result["missing"] == []


@pytest.fixture()
def stopped_worker():
    worker = NODES["worker"]["container"]
    node_exec(worker, "docker stop ray-worker")
    try:
        yield worker
    finally:
        node_exec(worker, "docker start ray-worker")


def test_cluster_info_lists_a_stopped_worker_as_missing_then_sees_it_rejoin(stopped_worker):
    deadline = time.monotonic() + 60
    while WORKER_IP in alive_ips() and time.monotonic() < deadline:
        time.sleep(1)
    returncode, result = cluster_info([HEAD_IP, WORKER_IP], timeout=0)
    assert returncode != 0
    assert result["missing"] == [WORKER_IP]
    assert f"missing ALIVE nodes: {WORKER_IP}" in result["msg"]

    node_exec(stopped_worker, "docker start ray-worker")
    returncode, result = cluster_info([HEAD_IP, WORKER_IP], timeout=120)
    assert returncode == 0, result.get("msg")
    assert result["missing"] == [] and result["dead"] >= 1
