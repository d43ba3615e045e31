"""Cluster membership as the seed expected it, asked of the head's state API from inside the head."""

import json

testinfra_hosts = ["ray_head"]

HEAD_IP = "198.18.86.84"
WORKER_IP = "198.18.86.80"
EXPECTED_TOTAL_CPUS = 12.0  # the seed: 4 on the head + 8 on the worker


def test_both_seed_nodes_are_alive_with_12_cpus_in_total(host):
    raw = host.check_output("curl -sf http://127.0.0.1:8265/api/v0/nodes")
    nodes = json.loads(raw)["data"]["result"]["result"]
    alive = [node for node in nodes if node["state"] == "ALIVE"]
    assert sorted(node["node_ip"] for node in alive) == sorted([HEAD_IP, WORKER_IP])
    assert [node["node_ip"] for node in alive if node["is_head_node"]] == [HEAD_IP]
    assert sum(node["resources_total"]["CPU"] for node in alive) == EXPECTED_TOTAL_CPUS
