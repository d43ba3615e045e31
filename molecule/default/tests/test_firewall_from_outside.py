"""The firewall proven from outside, and the cluster still working through it.

An "outsider" container joins the scenario's Docker network at 198.18.86.200, outside the cluster
network 198.18.86.0/25: every Ray port must be unreachable from it, and reachable from the other
node inside the CIDR, in both directions, while UFW runs on every node. Then a Ray task on one node
creates an object that a task on the other node reads.
"""

import json
import subprocess
import textwrap

import pytest

from helpers import NETWORK, NODES, load_testbed_images, node_exec
from node_probe import probe_from

OUTSIDER = "wizardsofts-ray-molecule-outsider"
OUTSIDER_IP = "198.18.86.200"

HEAD_PORTS = [6379, 8265, 10001]
NODE_PORTS = [8076, 8077, 8078, 8079, 9091, 52365]



# Ends of the worker port range: no process need listen there, but UFW drops packets (timeout) where
# it does not allow them, so "refused" (an RST from the node) proves the firewall let them through.
WORKER_RANGE_PORTS = [10002, 19999]


def ray_targets(role, ports=None):
    node = NODES[role]
    if ports is None:
        ports = NODE_PORTS + (HEAD_PORTS if role == "head" else []) + WORKER_RANGE_PORTS
    return [f"{node['ip']}:{port}" for port in ports]


@pytest.fixture(scope="module")
def outsider():
    subprocess.run(["docker", "rm", "-f", OUTSIDER], capture_output=True, check=False)
    subprocess.run(
        ["docker", "run", "-d", "--name", OUTSIDER, "--network", NETWORK, "--ip", OUTSIDER_IP,
         "--entrypoint", "sleep", load_testbed_images()["testbed_node_image"], "infinity"],
        capture_output=True, text=True, check=True,
    )
    try:
        yield OUTSIDER
    finally:
        subprocess.run(["docker", "rm", "-f", OUTSIDER], capture_output=True, check=True)


@pytest.mark.parametrize("role", ["head", "worker"])
def test_every_ray_port_is_closed_to_an_outsider(outsider, role):
    results = probe_from(outsider, ray_targets(role))
    assert results and all(state == "timeout" for state in results.values()), results


@pytest.mark.parametrize(("source", "target"), [("worker", "head"), ("head", "worker")])
def test_every_ray_port_is_open_inside_the_cluster_network(source, target):
    listening = NODE_PORTS + (HEAD_PORTS if target == "head" else [])
    results = probe_from(NODES[source]["container"], ray_targets(target, listening))
    assert results and all(state == "open" for state in results.values()), results
    through = probe_from(NODES[source]["container"], ray_targets(target, WORKER_RANGE_PORTS))
    assert all(state in ("open", "refused") for state in through.values()), through


def test_ufw_is_active_on_every_node():
    for node in NODES.values():
        assert "Status: active" in node_exec(node["container"], "ufw status")


CROSS_NODE_OBJECT = textwrap.dedent("""
    import json, sys
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy as On
    worker_ip, head_ip = sys.argv[1:]
    ray.init(address="auto", logging_level="ERROR")
    ids = {n["NodeManagerAddress"]: n["NodeID"] for n in ray.nodes() if n["Alive"]}

    @ray.remote(num_cpus=1)
    def produce():
        return b"x" * (8 * 1024 * 1024)  # large enough to live in the object store, not inline

    @ray.remote(num_cpus=1)
    def consume(data):
        return len(data), ray.util.get_node_ip_address()

    made = produce.options(scheduling_strategy=On(ids[worker_ip], soft=False)).remote()
    size, read_on = ray.get(consume.options(scheduling_strategy=On(ids[head_ip], soft=False)).remote(made))
    holders = ray.experimental.get_object_locations([made])[made]["node_ids"]
    print(json.dumps({"bytes": size, "read_on": read_on, "on_worker": ids[worker_ip] in holders}))
""")


def test_an_object_made_on_one_node_is_read_on_the_other():
    output = node_exec(
        NODES["head"]["container"],
        f"docker exec -i ray-head python3 - {NODES['worker']['ip']} {NODES['head']['ip']}",
        stdin=CROSS_NODE_OBJECT,
    )
    result = json.loads(output.strip().splitlines()[-1])
    assert result == {"bytes": 8 * 1024 * 1024, "read_on": NODES["head"]["ip"], "on_worker": True}
