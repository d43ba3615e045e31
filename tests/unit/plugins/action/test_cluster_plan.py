"""The action plugin cluster_plan, run for real by ansible-playbook on the controller (connection local):
it reads each host's settings as the roles see them (inventory and extra vars over role defaults, templates
resolved), and reports every problem of every host at once. The model's rules are tested in
tests/unit/plugins/module_utils/test_cluster_model.py; this tests the gathering."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[4]
ANSIBLE_PLAYBOOK = pathlib.Path(sys.executable).with_name("ansible-playbook")
PLAYBOOK = """
- hosts: ray_cluster
  gather_facts: false
  tasks:
    - wizardsofts.ray.cluster_plan:
        phase: inventory
      run_once: true
      register: plan
"""


def inventory(tmp_path, workers=None, group_vars=None):
    hosts = {
        "ray_cluster": {
            "children": {
                "ray_head": {"hosts": {"head": {"ansible_host": "10.9.0.1", "ray_head_memory": "4GB"}}},
                "ray_workers": {"hosts": workers if workers is not None else {"worker": {"ansible_host": "10.9.0.2"}}},
            },
            "vars": dict({"ansible_connection": "local", "ray_cluster_cidrs": ["10.9.0.0/24"]}, **(group_vars or {})),
        }
    }
    path = tmp_path / "inventory" / "hosts.yml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(hosts))
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    return path


def run(tmp_path, inventory_path, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / "collections"), ANSIBLE_LOCALHOST_WARNING="false")
    result = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", str(inventory_path), str(tmp_path / "site.yml"), *extra],
                            capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False)
    report = json.loads(result.stdout)
    [task] = report["plays"][0]["tasks"]
    return result.returncode, next(iter(task["hosts"].values()))


def test_a_plan_for_every_host_from_role_defaults_inventory_and_templates(tmp_path):
    code, result = run(tmp_path, inventory(tmp_path))
    assert code == 0, result.get("msg")
    plan = result["plan"]
    assert sorted(plan["nodes"]) == sorted(plan["node_plans"]) == ["head", "worker"]
    head, worker = (json.loads(plan["node_plans"][host]) for host in ("head", "worker"))
    # The summary of each node is its whole plan's, field for field.
    for host, node in (("head", head), ("worker", worker)):
        summary = plan["nodes"][host]
        assert summary.pop("container_name") == node["container"]["name"]
        assert summary == dict((field, node[field]) for field in summary)
        assert sorted(summary) == sorted(("role", "node_ip", "num_cpus", "gpus", "container_state", "in_sync",
                                          "docker_in_sync", "firewall_in_sync", "metrics_targets", "runs_gcs_store",
                                          "gcs_store_in_sync"))
    # ray_cluster_node_ip defaults to "{{ ansible_host }}"; the admin networks to "{{ ray_cluster_cidrs }}".
    assert head["node_ip"] == "10.9.0.1" and worker["node_ip"] == "10.9.0.2"
    assert "--memory=4000000000" in head["container"]["command"]            # the inventory's value
    assert "--memory=16000000000" in worker["container"]["command"]         # the ray_worker role's default
    assert {"port": "8265", "sources": ["10.9.0.0/24"], "comment": "Ray dashboard and Jobs API"} in head["firewall_rules"]
    # The default token is generated next to the inventory, 0600, and only its fingerprint is in the plan.
    token_file = tmp_path / "inventory" / ".ray_auth_token"
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"
    assert token_file.read_text().strip() not in json.dumps(result)


def test_extra_vars_arrive_as_strings_and_are_typed_by_the_argument_spec(tmp_path):
    code, result = run(tmp_path, inventory(tmp_path), "-e", "ray_cluster_metrics_export_port=9191")
    assert code == 0, result.get("msg")
    worker = json.loads(result["plan"]["node_plans"]["worker"])
    assert "--metrics-export-port=9191" in worker["container"]["command"]


def test_every_problem_of_every_host_at_once(tmp_path):
    workers = {"worker": {"ansible_host": "10.9.0.2", "ray_worker_num_cpus": -2},
               "other": {"ansible_host": "10.9.0.3", "ray_worker_memory": "lots"}}
    code, result = run(tmp_path, inventory(tmp_path, workers))
    assert code != 0
    messages = [problem["message"] for problem in result["problems"]]
    assert any(message.startswith("ray_worker_num_cpus=-2 on worker ") for message in messages), messages
    assert any(message.startswith("ray_worker_memory=lots on other is not a size") for message in messages), messages
    assert result["msg"] == "\n".join(messages)


def test_a_broken_template_names_its_variable(tmp_path):
    code, result = run(tmp_path, inventory(tmp_path, group_vars={"ray_cluster_version": "{{ no_such_variable }}"}))
    assert code != 0
    assert "ray_cluster_version=(a template) on head could not be templated" in result["msg"]


def test_a_role_argument_spec_refuses_a_wrong_type_before_any_connection(tmp_path):
    code, result = run(tmp_path, inventory(tmp_path, group_vars={"ufw_remove_stale_rules": "sometimes"}))
    assert code != 0
    assert "ufw_remove_stale_rules=sometimes on head is not valid" in result["msg"]


@pytest.mark.parametrize("phase", ["later", ""])
def test_an_unknown_phase_is_refused(tmp_path, phase):
    inventory_path = inventory(tmp_path)
    (tmp_path / "site.yml").write_text(PLAYBOOK.replace("phase: inventory", "phase: '%s'" % phase))
    code, result = run(tmp_path, inventory_path)
    assert code != 0 and "phase must be inventory or nodes" in result["msg"]
