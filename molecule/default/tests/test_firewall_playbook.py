"""firewall.yml run as the seed's unprivileged user, and the seed's incident reproduced.

The scenario's nodes are reached as `wizardsofts`, root only through sudo (ansible_become: true in
the inventory), like the seed's servers.
"""

import pytest

from helpers import NODES, changed_per_host, node_exec, run_playbook

UNRELATED_RULE = "2222/tcp"


def test_without_become_the_firewall_play_stops_with_a_clear_message():
    run = run_playbook("firewall.yml", "-e", "ansible_become=false")
    assert run.returncode != 0
    assert "Changing the firewall needs root on server84" in run.stdout
    assert "--become" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr


@pytest.fixture()
def unrelated_rule():
    head = NODES["head"]["container"]
    node_exec(head, f"ufw allow {UNRELATED_RULE} comment 'operator: unrelated service'")
    try:
        yield head
    finally:
        node_exec(head, f"ufw delete allow {UNRELATED_RULE}")


def test_a_second_firewall_run_changes_nothing_and_keeps_the_operators_rules(unrelated_rule):
    run = run_playbook("firewall.yml", "--become")
    assert run.returncode == 0, run.stdout[-3000:]
    assert changed_per_host(run.stdout) == {"server84": 0, "server80": 0}
    assert "operator: unrelated service" in node_exec(unrelated_rule, "ufw status")


def test_check_mode_on_the_converged_firewall_predicts_no_change():
    run = run_playbook("firewall.yml", "--become", "--check", "--diff")
    assert run.returncode == 0, run.stdout[-3000:]
    assert changed_per_host(run.stdout) == {"server84": 0, "server80": 0}


def test_the_seeds_incident_is_diagnosed_and_firewall_yml_then_site_yml_fix_it():
    head, worker = NODES["head"], NODES["worker"]
    # The seed's state: a worker that has to join a head whose firewall does not (yet) allow the GCS port. (A
    # worker that is already a member is left alone: its connections are established and nothing is to change.)
    node_exec(head["container"], "ufw delete allow from 198.18.86.0/25 to any port 6379 proto tcp")
    node_exec(worker["container"], "docker rm -f ray-worker")

    blocked = run_playbook("site.yml", "--skip-tags", "firewall", "-e", "ray_cluster_wait_timeout=10")
    assert blocked.returncode != 0
    failure = blocked.stdout
    assert "filtered" in failure
    assert f"{head['ip']}:6379" in failure
    assert f"ufw allow proto tcp from {worker['ip']} to any port 6379" in failure

    opened = run_playbook("firewall.yml", "--become")
    assert opened.returncode == 0, opened.stdout[-3000:]
    assert changed_per_host(opened.stdout)["server84"] == 1  # exactly the GCS rule came back

    deployed = run_playbook("site.yml")
    assert deployed.returncode == 0, deployed.stdout[-3000:]
    assert "2 ALIVE node(s)" in deployed.stdout
