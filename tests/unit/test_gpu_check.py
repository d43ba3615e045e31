"""tests/gpu/check_gpu_cluster.py where there is no GPU (this machine), and its comparison of what a task saw.

nvidia-smi, ansible-playbook and docker are scripts on a PATH of their own (the boundary): the check must stop
with exit code 3 before it calls either of the other two."""

from __future__ import annotations

import importlib.util
import pathlib
import stat

import pytest

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "tests" / "gpu" / "check_gpu_cluster.py"
A10G = [{"index": 0, "name": "NVIDIA A10G", "uuid": "GPU-aaaa"}]


@pytest.fixture(scope="module")
def check():
    spec = importlib.util.spec_from_file_location("_wsray_check_gpu_cluster", str(SCRIPT))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tool(directory, name, stdout="", rc=0):
    """A script on PATH that logs its call to NAME.called and prints stdout."""
    path = directory / name
    path.write_text("#!/bin/sh\necho \"$@\" >> '%s'\nprintf '%%s' '%s'\nexit %d\n"
                    % (directory / (name + ".called"), stdout, rc))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.mark.parametrize("smi, reason", [
    (None, "nvidia-smi not found"),
    (("", 9), "nvidia-smi -L failed (rc 9)"),
    (("", 0), "nvidia-smi -L listed no GPU"),
])
def test_no_gpu_exits_3_before_deploying_anything(check, tmp_path, monkeypatch, capsys, smi, reason):
    monkeypatch.setenv("PATH", str(tmp_path))
    tool(tmp_path, "ansible-playbook")
    tool(tmp_path, "docker")
    if smi is not None:
        tool(tmp_path, "nvidia-smi", *smi)

    assert check.main([]) == check.NO_GPU == 3

    out = capsys.readouterr().out
    assert out.startswith("no NVIDIA GPU on this machine (%s" % reason), out
    assert not (tmp_path / "ansible-playbook.called").exists()
    assert not (tmp_path / "docker.called").exists()


def test_a_gpu_machine_without_docker_exits_4_before_deploying(check, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    tool(tmp_path, "nvidia-smi", "GPU 0: NVIDIA A10G (UUID: GPU-aaaa)\n")
    tool(tmp_path, "ansible-playbook")
    tool(tmp_path, "docker", rc=1)

    assert check.main([]) == check.NO_PREREQUISITE == 4
    assert "Docker does not answer" in capsys.readouterr().out
    assert not (tmp_path / "ansible-playbook.called").exists()


GOOD = {"task": {"cuda_visible_devices": "0", "gpu_ids": [0], "nvidia_smi": "0, NVIDIA A10G, GPU-aaaa",
                 "nvidia_smi_rc": 0, "nvidia_smi_err": ""},
        "resources": {"CPU": 8.0, "GPU": 1.0, "accelerator_type:A10G": 1.0}}


@pytest.mark.parametrize("task, resources, problem", [
    ({}, {}, None),
    ({"cuda_visible_devices": None}, {}, "CUDA_VISIBLE_DEVICES=None in a num_gpus=1 task"),
    ({"cuda_visible_devices": "0,1"}, {}, "CUDA_VISIBLE_DEVICES='0,1'"),
    ({"nvidia_smi": "", "nvidia_smi_rc": 127, "nvidia_smi_err": "not found"}, {}, "nvidia-smi in the task failed"),
    ({"nvidia_smi": "0, Tesla T4, GPU-cccc"}, {}, "shows ['Tesla T4'], the host has ['NVIDIA A10G']"),
    ({}, {"GPU": 0.0}, "Ray counts GPU=0.0, the node was given 1"),
    ({}, {"accelerator_type:A10G": None}, "no accelerator_type:A10G resource"),
])
def test_compare(check, task, resources, problem):
    seen = {"task": dict(GOOD["task"], **task), "resources": dict(GOOD["resources"], **resources)}
    seen["resources"] = dict((key, value) for key, value in seen["resources"].items() if value is not None)
    problems = check.compare(seen, A10G, 1)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in text for text in problems), problems
