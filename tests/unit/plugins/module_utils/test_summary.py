"""The deploy summary's node table (plugins/module_utils/_summary.py) from recorded Ray 2.60.0 node lists.

The node lists are the recorded /api/v0/nodes answers (tests/unit/fixtures/ray-2.60.0), normalised by the same
function cluster_info uses; a GPU node is such a recorded entry with the resources and labels Ray gives a node
with one A10G (GPU, accelerator_type:A10G, ray.io/accelerator-type), since no GPU was there to record."""

from __future__ import annotations

import copy
import json
import pathlib

import pytest

from ansible_collections.wizardsofts.ray.plugins.filter.cluster_summary import FilterModule
from ansible_collections.wizardsofts.ray.plugins.module_utils import _summary
from ansible_collections.wizardsofts.ray.plugins.module_utils._ray_dashboard import normalise_node

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "ray-2.60.0"
PLAN = {"server84": {"node_ip": "192.0.2.2", "role": "head"}, "server80": {"node_ip": "172.17.0.2", "role": "worker"}}


def recorded(name):
    body = json.loads((FIXTURES / name).read_text())
    return [normalise_node(raw) for raw in body["data"]["result"]["result"]]


def with_gpu(nodes, ip, count=1.0, accelerator="A10G"):
    nodes = copy.deepcopy(nodes)
    for node in nodes:
        if node["ip"] == ip and node["state"] == "ALIVE":
            node["resources_total"].update({"GPU": count, "accelerator_type:" + accelerator: 1.0})
            node["labels"]["ray.io/accelerator-type"] = accelerator
    return nodes


def test_a_rejoined_worker_is_one_row_with_its_earlier_incarnation_counted():
    nodes = recorded("nodes-worker-rejoined.json")
    assert sorted(node["state"] for node in nodes if node["ip"] == "172.17.0.2") == ["ALIVE", "DEAD"]

    rows = _summary.node_rows(nodes, PLAN)

    assert [(row["host"], row["state"], row["earlier"]) for row in rows] == [
        ("server84", "ALIVE", 0), ("server80", "ALIVE", 1)]


def test_a_dead_worker_without_an_alive_entry_is_shown_dead():
    rows = _summary.node_rows(recorded("nodes-worker-dead.json"), PLAN)
    assert [(row["host"], row["state"], row["earlier"]) for row in rows] == [
        ("server84", "ALIVE", 0), ("server80", "DEAD", 0)]


def test_the_head_comes_first_and_a_stranger_is_named_so():
    nodes = list(reversed(recorded("nodes-two-alive.json")))
    rows = _summary.node_rows(nodes, {"server84": PLAN["server84"]})
    assert [(row["host"], row["role"]) for row in rows] == [("server84", "head"), ("(not in inventory)", "worker")]


@pytest.mark.parametrize("count, accelerator, cell", [
    (0.0, None, "0"),
    (1.0, "A10G", "1 A10G"),
    (2.0, "V100", "2 V100"),
    (0.5, "T4", "0.5 T4"),
])
def test_the_gpu_column(count, accelerator, cell):
    nodes = recorded("nodes-two-alive.json")
    if accelerator:
        nodes = with_gpu(nodes, "172.17.0.2", count, accelerator)
    rows = _summary.node_rows(nodes, PLAN)
    worker = [row for row in rows if row["host"] == "server80"][0]
    assert _summary.gpu_cell(worker) == cell
    # Ray's markers are not custom resources, nor its labels the operator's.
    assert worker["resources"] == {} and worker["labels"] == {}


def test_the_rendered_table_has_a_gpu_column_and_lines_for_resources_and_labels():
    nodes = with_gpu(recorded("nodes-worker-rejoined.json"), "172.17.0.2")
    worker = [node for node in nodes if node["state"] == "ALIVE" and node["ip"] == "172.17.0.2"][0]
    worker["resources_total"]["special_hardware"] = 2.0
    worker["labels"]["zone"] = "eu-west-1a"
    info = {"nodes": nodes, "alive": 2, "dead": 1, "ray_version": "2.60.0",
            "totals": {"CPU": 6.0, "GPU": 1.0, "memory": 49e9, "object_store_memory": 3e8}}

    text = FilterModule().filters()["cluster_summary"](info, PLAN)
    lines = text.splitlines()

    assert lines[0] == ("Ray 2.60.0 cluster: 2 ALIVE node(s), 1 DEAD; 6.0 CPUs, 1 GPUs, 49.0 GB memory, "
                        "0.3 GB object store")
    assert lines[1].split() == ["NODE", "IP", "ROLE", "STATE", "CPUS", "GPUS", "MEMORY", "OBJECT", "STORE", "EARLIER"]
    assert len(lines) == 5  # header, columns, one row per node (the DEAD incarnation only counted), one extras line
    assert lines[2].split()[:6] == ["server84", "192.0.2.2", "head", "ALIVE", "4.0", "0"]
    assert lines[3].split()[:7] == ["server80", "172.17.0.2", "worker", "ALIVE", "2.0", "1", "A10G"]
    assert lines[3].split()[-1] == "1"
    assert lines[4] == "  server80: resources special_hardware=2; labels zone=eu-west-1a"


def test_no_answer_gives_an_empty_table_not_an_error():
    text = _summary.summary({}, PLAN, "2.60.0")
    assert text.splitlines()[0].startswith("Ray 2.60.0 cluster: 0 ALIVE node(s), 0 DEAD; 0.0 CPUs, 0 GPUs")
