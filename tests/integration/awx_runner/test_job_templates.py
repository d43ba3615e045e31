"""Every AWX job template of awx/vars/controller.yml, launched as AWX launches it (see conftest.py),
against the suite's own head and worker. The steps build on each other, in this order:

1. Firewall with privilege escalation switched off: stops before changing anything, saying why.
2. The workflow firewall -> deploy -> verify, with the worker not yet in the inventory: the head alone,
   firewalled, verified.
3. Scale out: the worker is committed to the inventory, the inventory syncs, and the template runs
   with the limit "ray_head:server80" and a survey answer for the worker's CPUs: only the worker
   changes, and it offers the CPUs the survey gave.
4. Teardown, with the survey's answer that also removes the collection's firewall rules: no
   Ray container and no Ray rule is left on either node; the SSH rule stays.

Each playbook runs once (a full deployment takes minutes here); idempotence through AWX shows in
step 3, where the head, already deployed, reports changed=0.
"""

from __future__ import annotations

import json

import yaml

from conftest import NODES, node_exec

HEAD_IP = "198.18.96.84"
WORKER_IP = "198.18.96.80"
RAY_CONTAINERS = {"ray-head", "ray-worker"}


def alive_nodes(awx) -> dict:
    """{ip: CPUs} of the ALIVE nodes, from the head's state API (with the token the credential injects)."""
    answer = node_exec("server84", "curl", "-sf", "--max-time", "20", "-H", f"Authorization: Bearer {awx.token}",
                       f"http://{HEAD_IP}:8265/api/v0/nodes?limit=100&detail=false")
    assert answer.returncode == 0, answer.stderr
    nodes = json.loads(answer.stdout)["data"]["result"]["result"]
    return {node["node_ip"]: node["resources_total"].get("CPU") for node in nodes if node["state"] == "ALIVE"}


def ray_containers(node: str) -> set:
    listed = node_exec(node, "sh", "-c", "command -v docker >/dev/null && docker ps -a --format '{{.Names}}' || true")
    assert listed.returncode == 0, listed.stderr
    return set(listed.stdout.split()) & RAY_CONTAINERS


def test_step1_firewall_without_privilege_escalation_changes_nothing(awx):
    awx.commit_inventory(["server84"])
    awx.sync_inventory()
    assert awx.templates["Ray - Firewall"]["become_enabled"] is True

    job = awx.launch("Ray - Firewall", become_enabled=False)

    assert job.status == "failed", job
    assert any("--become" in message for _task, host, message in job.failures() if host == "server84"), job
    assert set(job.changed().values()) == {0}, job.changed()
    assert node_exec("server84", "sh", "-c", "command -v ufw").returncode != 0, "ufw was installed"


def test_step2_workflow_firewall_deploy_verify_on_the_head(awx):
    jobs = awx.launch_workflow("Ray - Firewall, deploy, verify")

    assert [job.name for job in jobs] == ["Ray - Firewall", "Ray - Deploy", "Ray - Verify"], jobs
    firewall, deploy, verify = jobs
    assert firewall.status == "successful", firewall
    assert firewall.changed()["server84"] > 0
    assert deploy.status == "successful", deploy
    assert "server80" not in deploy.changed()
    assert alive_nodes(awx) == {HEAD_IP: 2.0}
    status = node_exec("server84", "ufw", "status")
    assert "Status: active" in status.stdout, status.stdout + status.stderr
    assert "198.18.96.0/25" in status.stdout
    assert verify.status == "successful", verify
    # The deploy's stats reach the next job of the workflow as extra variables, as AWX passes artifacts on.
    handed_on = {"wizardsofts_ray_cluster": {"dashboard_url": f"http://{HEAD_IP}:8265", "alive_nodes": 1,
                                             "ray_version": "2.60.0"}}
    assert deploy.artifacts() == handed_on, deploy.artifacts()
    assert yaml.safe_load((verify.private_data_dir / "env" / "extravars").read_text())["wizardsofts_ray_cluster"] == \
        handed_on["wizardsofts_ray_cluster"]


def test_step3_scale_out_changes_only_the_new_worker(awx):
    awx.commit_inventory(["server84", "server80"])
    awx.sync_inventory()

    job = awx.launch("Ray - Scale out", limit="ray_head:server80", answers={"ray_worker_num_cpus": 3})

    assert job.status == "successful", job
    changed = job.changed()
    assert changed["server84"] == 0, changed
    assert changed["server80"] > 0, changed
    assert alive_nodes(awx) == {HEAD_IP: 2.0, WORKER_IP: 3.0}


def test_step4_teardown_removes_the_ray_containers_and_rules(awx):
    assert ray_containers("server84") == {"ray-head"}
    assert ray_containers("server80") == {"ray-worker"}

    job = awx.launch("Ray - Teardown", answers={"ray_cluster_teardown_firewall": "true"})

    assert job.status == "successful", job
    assert {node: ray_containers(node) for node in NODES} == {"server84": set(), "server80": set()}
    for node in NODES:
        rules = node_exec(node, "ufw", "status").stdout
        assert "198.18.96.0/25" not in rules, rules
        assert "22/tcp" in rules, rules
