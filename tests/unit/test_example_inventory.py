# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""inventories/example, the inventory the README tells people to copy, as they would use it: copied, given a
token, its vault.yml encrypted with ansible-vault, then read by Ansible and checked by the collection's
cluster model (the cluster_plan action plugin in its inventory phase, the first step of site.yml's
preflight, run on the head by the `ansible` command; it contacts no node). Its host range, its GPU worker
and every setting must plan without a refusal; the placeholder token it is published with is refused."""

from __future__ import annotations

import json
import os
import pathlib
import secrets
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "inventories" / "example"
BIN = pathlib.Path(sys.executable).parent
PLACEHOLDER = "ray_cluster_auth_token: CHANGE-ME\n"
HOSTS = ["gpu01", "head01", "worker01", "worker02", "worker03"]


def copy_example(tmp_path):
    inventory = tmp_path / "mycluster"
    shutil.copytree(str(EXAMPLE), str(inventory))
    return inventory


def plan(tmp_path, inventory, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="true", ANSIBLE_COLLECTIONS_PATH=str(ROOT / "collections"))
    command = [str(BIN / "ansible"), "ray_head", "-i", str(inventory), "-m", "wizardsofts.ray.cluster_plan",
               "-a", "phase=inventory", *extra]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False)
    assert result.stdout, result.stderr
    [task] = json.loads(result.stdout)["plays"][0]["tasks"]
    return result.returncode, next(iter(task["hosts"].values())), result.stdout + result.stderr


def test_the_example_plans_once_its_token_is_set_and_vaulted(tmp_path):
    """The README's first screen: copy the example, put a token in vault.yml, encrypt it, run."""
    inventory = copy_example(tmp_path)
    vault = inventory / "group_vars" / "ray_cluster" / "vault.yml"
    text = vault.read_text()
    assert text.count(PLACEHOLDER) == 1
    token = secrets.token_hex(32)
    vault.write_text(text.replace(PLACEHOLDER, "ray_cluster_auth_token: %s\n" % token))
    password = tmp_path / "vault-password"
    password.write_text(secrets.token_hex(16))
    subprocess.run([str(BIN / "ansible-vault"), "encrypt", "--vault-password-file", str(password), str(vault)],
                   check=True, capture_output=True)
    assert vault.read_text().startswith("$ANSIBLE_VAULT;")

    code, result, output = plan(tmp_path, inventory, "--vault-password-file", str(password))
    assert code == 0, result.get("msg")
    assert result.get("warnings", []) == []
    cluster = result["plan"]
    # The range is expanded into three workers, each with the address its number gives it.
    assert sorted(cluster["nodes"]) == sorted(cluster["node_plans"]) == HOSTS
    assert cluster["head_host"] == "head01" and cluster["gcs_address"] == "192.0.2.10:6379"
    assert dict((host, node["node_ip"]) for host, node in cluster["nodes"].items()) == {
        "head01": "192.0.2.10", "worker01": "192.0.2.11", "worker02": "192.0.2.12", "worker03": "192.0.2.13",
        "gpu01": "192.0.2.21"}
    # The GPU worker gets its two GPUs, through Docker's device requests and Ray's --num-gpus; nothing else gets any.
    nodes = dict((host, json.loads(node)) for host, node in cluster["node_plans"].items())
    assert cluster["expected_gpus"] == 2 and cluster["expected_cpus"] == 8 + 4 * 16
    assert nodes["gpu01"]["gpus"]["count"] == 2 and nodes["gpu01"]["nvidia_toolkit"] is True
    assert "--num-gpus=2" in nodes["gpu01"]["container"]["command"]
    for host in HOSTS[1:]:
        assert nodes[host]["gpus"]["count"] == 0 and nodes[host]["nvidia_toolkit"] is False, host
        assert "--num-gpus=0" in nodes[host]["container"]["command"], host
    # One image for all, the CUDA one; the admins' network reaches the dashboard.
    assert set(node["container"]["image"] for node in nodes.values()) == {"rayproject/ray:2.60.0-gpu"}
    dashboard = [rule for rule in nodes["head01"]["firewall_rules"] if rule["comment"] == "Ray dashboard and Jobs API"]
    assert dashboard == [{"port": "8265", "sources": ["192.0.2.0/24", "198.51.100.0/24"],
                          "comment": "Ray dashboard and Jobs API"}]
    # The vaulted token is used, never shown, and no token file is generated beside the inventory.
    assert token not in output
    assert not (inventory / ".ray_auth_token").exists()


def test_the_example_as_published_is_refused_for_its_placeholder_token_alone(tmp_path):
    """Copied and run without a token of one's own, every host is refused for the token, and for nothing else."""
    inventory = copy_example(tmp_path)
    code, result, _output = plan(tmp_path, inventory)
    assert code != 0
    assert sorted((problem["host"], problem["variable"]) for problem in result["problems"]) == [
        (host, "ray_cluster_auth_token") for host in HOSTS]
    assert "openssl rand -hex 32" in result["problems"][0]["message"]
