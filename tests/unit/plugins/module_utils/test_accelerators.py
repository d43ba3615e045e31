"""GPUs, custom resources and labels (plugins/module_utils/_accelerators.py): the pure rules, table by table.

The preflight refusals with their whole messages are rows of preflight_cases.yml (rules GPUs and custom resources
and labels); the plan that comes out of them is tested in test_cluster_model.py."""

from __future__ import annotations

import pytest

from ansible_collections.wizardsofts.ray.plugins.module_utils import _accelerators as acc

A10G = [{"index": 0, "name": "NVIDIA A10G", "uuid": "GPU-aaaa"}, {"index": 1, "name": "NVIDIA A10G", "uuid": "GPU-bbbb"}]


# Names as nvidia-smi -L prints them; types as Ray 2.60.0's _gpu_name_to_accelerator_type makes them (its own
# docstring's examples, and ray.util.accelerators' constants V100, T4, A10G, L4, A100).
@pytest.mark.parametrize("name, expected", [
    ("NVIDIA A10G", "A10G"),
    ("Tesla V100-SXM2-16GB", "V100"),
    ("Tesla T4", "T4"),
    ("NVIDIA L4", "L4"),
    ("NVIDIA A100-SXM4-40GB", "A100"),
    ("NVIDIA H100 80GB HBM3", "H100"),
    ("NVIDIA RTX PRO 6000 Blackwell Server Edition", "RTX-PRO-6000"),
    ("NVIDIA GeForce RTX 4090", "GeForce-RTX-4090"),
    ("", None),
    (None, None),
])
def test_accelerator_type_is_rays_name_for_the_model(name, expected):
    assert acc.accelerator_type(name) == expected


@pytest.mark.parametrize("value, parsed", [
    (0, (0, False)), (2, (2, False)), ("3", (3, False)), (2.0, (2, False)), ("auto", (None, True)),
    ("AUTO", (None, True)), (-1, (None, False)), (1.5, (None, False)), (True, (None, False)), ("two", (None, False)),
])
def test_gpu_count_setting(value, parsed):
    assert acc.gpu_count_setting(value) == parsed


@pytest.mark.parametrize("num_gpus, devices, facts, expected", [
    (0, [], None, (0, [], None, None)),
    (0, [], {"gpus": A10G}, (0, [], None, None)),
    (2, [], {"gpus": A10G}, (2, [], "A10G", None)),
    ("auto", [], {"gpus": A10G}, (2, [], "A10G", None)),
    ("auto", [], {"gpus": [], "gpus_reason": "nvidia-smi not found"}, (0, [], None, "auto: no GPU found (nvidia-smi not found)")),
    ("auto", [], None, (0, [], None, "auto: not counted yet (the node is read in the second phase)")),
    ("auto", ["GPU-bbbb"], {"gpus": A10G}, (1, ["GPU-bbbb"], "A10G", None)),
    (1, [1], {"gpus": A10G}, (1, ["1"], "A10G", None)),
])
def test_resolve_gpus(num_gpus, devices, facts, expected):
    gpus = acc.resolve_gpus(num_gpus, devices, facts)
    assert (gpus.count, gpus.device_ids, gpus.accelerator_type, gpus.note) == expected


@pytest.mark.parametrize("count, devices, requests", [
    (0, [], []),
    (2, [], [{"driver": "nvidia", "count": 2, "capabilities": [["gpu"]]}]),
    (2, ["0", "GPU-bbbb"], [{"driver": "nvidia", "device_ids": ["0", "GPU-bbbb"], "capabilities": [["gpu"]]}]),
])
def test_device_requests_exactly_when_there_are_gpus(count, devices, requests):
    assert acc.GPUPlan(count, devices).device_requests() == requests


@pytest.mark.parametrize("resources, bad", [
    ({}, None), ({"special_hardware": 1, "licence": 0.5, "slots": "2"}, None),
    ({"CPU": 1}, "'CPU', which Ray reserves"), ({"GPU": 1}, "'GPU', which Ray reserves"),
    ({"memory": 1}, "'memory', which Ray reserves"), ({"object_store_memory": 1}, "which Ray reserves"),
    ({"accelerator_type:A100": 1}, "which Ray reserves"), ({"node:10.0.0.1": 1}, "which Ray reserves"),
    ({"special": -1}, "the quantity -1"), ({"special": True}, "the quantity True"), ({"special": "x"}, "the quantity 'x'"),
    ([], "is not a dict"),
])
def test_custom_resources(resources, bad):
    problems = acc.check_resources("ray_worker_", resources)
    if bad is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problems[0][0] == "ray_worker_resources" and bad in problems[0][2], problems


@pytest.mark.parametrize("labels, bad", [
    ({}, None), ({"zone": "eu-west-1a", "example.com/team": "ml", "empty": ""}, None),
    ({"ray.io/accelerator-type": "A100"}, "prefix ray.io/ is reserved"), ({"ray.io/node-id": "x"}, "reserved"),
    ({"zone": "eu west"}, "the value 'eu west'"), ({"zone": "a,b=c"}, "the value 'a,b=c'"), ({"zone": 3}, "the value 3"),
    ({"-zone": "a"}, "uses the label key '-zone'"), ({"bad_/zone": "a"}, "prefix is not a DNS subdomain"),
    ("zone=a", "is not a dict"),
])
def test_node_labels(labels, bad):
    problems = acc.check_labels("ray_head_", labels)
    if bad is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problems[0][0] == "ray_head_labels" and bad in problems[0][2], problems


@pytest.mark.parametrize("resources, labels, flags", [
    ({}, {}, []),
    ({"b": 2, "a": 0.5}, {}, ['--resources={"a":0.5,"b":2}']),
    ({}, {"zone": "eu-west-1a", "team": "ml"}, ["--labels=team=ml,zone=eu-west-1a"]),
])
def test_resource_and_label_flags(resources, labels, flags):
    assert acc.resource_flags(resources, labels) == flags
