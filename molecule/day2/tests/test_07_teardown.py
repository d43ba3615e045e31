"""Teardown: Ray's containers, images, data and firewall rules go; Docker, the operator's rules and the operator's
files in Ray's data directory stay."""

import pytest

from helpers import HEAD, INVENTORY, SERVER80, changed_per_host, load_testbed_images, node_exec, ray_container, run_playbook

EVERYTHING = ["-e", '{"ray_cluster_teardown_images": true, "ray_cluster_teardown_data": true, "ray_cluster_teardown_firewall": true}']
UNRELATED_RULE = "2222/tcp"
OPERATOR_FILE = "/var/lib/ray/operator-notes.txt"


@pytest.fixture(scope="module")
def unrelated_rule():
    node_exec(SERVER80, f"ufw allow {UNRELATED_RULE} comment 'operator: unrelated service'")
    return SERVER80


def test_teardown_in_check_mode_predicts_the_removal_and_changes_nothing():
    before = {node["name"]: ray_container(node)["Id"] for node in (HEAD, SERVER80)}
    rules = {node["name"]: node_exec(node, "ufw show added") for node in (HEAD, SERVER80)}
    run = run_playbook("teardown.yml", "--check", *EVERYTHING, inventories=(INVENTORY,))
    assert run.returncode == 0, run.stdout[-3000:]
    changed = changed_per_host(run.stdout)
    assert changed["server84"] > 0 and changed["server80"] > 0, changed
    assert "server84: 1 Ray container(s) would be removed (ray-head)" in run.stdout
    assert "server80: 1 Ray container(s) would be removed (ray-worker)" in run.stdout
    for node in (HEAD, SERVER80):
        assert ray_container(node)["Id"] == before[node["name"]]
        assert node_exec(node, "ufw show added") == rules[node["name"]]
        assert node_exec(node, "test -e /var/lib/ray && echo present || echo absent").strip() == "present"


@pytest.fixture(scope="module")
def operator_file():
    """A file someone put into the data directory the collection made on server80."""
    node_exec(SERVER80, f"echo 'not Ray' > {OPERATOR_FILE}")
    return SERVER80


def test_teardown_removes_ray_and_keeps_docker_and_the_operators_rules(unrelated_rule, operator_file):
    run = run_playbook("teardown.yml", *EVERYTHING, inventories=(INVENTORY,))
    assert run.returncode == 0, run.stdout[-3000:]
    images = load_testbed_images()
    for node in (HEAD, SERVER80):
        assert ray_container(node) is None
        assert node_exec(node, "docker ps -aq --filter label=io.wizardsofts.ray.role").strip() == ""
        assert node_exec(node, f"docker images -q {images['ray_cluster_image']}").strip() == ""
        if node is operator_file:
            # Only Ray's entries went; the operator's file stays, and with it the directory and its marker.
            assert node_exec(node, "ls -A /var/lib/ray").split() == [".wizardsofts-ray", "operator-notes.txt"]
            assert node_exec(node, f"cat {OPERATOR_FILE}").strip() == "not Ray"
        else:
            assert node_exec(node, "test -e /var/lib/ray && echo present || echo absent").strip() == "absent"
        assert node_exec(node, "systemctl is-active docker").strip() == "active"
        rules = node_exec(node, "ufw show added")
        assert "wizardsofts.ray: Ray" not in rules
        assert "wizardsofts.ray: SSH" in rules  # kept: UFW stays enabled
        assert "Status: active" in node_exec(node, "ufw status")
    assert "operator: unrelated service" in node_exec(unrelated_rule, "ufw show added")
    # The summary is one message that the YAML callback prints single-quoted (Ray's as Ray''s) and folds over
    # lines: compare words, with the quote undone.
    said = " ".join(run.stdout.split()).replace("''", "'")
    assert "/var/lib/ray: Ray's data removed; kept with what else is in it: operator-notes.txt" in said


def test_a_second_teardown_changes_nothing():
    run = run_playbook("teardown.yml", *EVERYTHING, inventories=(INVENTORY,))
    assert run.returncode == 0, run.stdout[-3000:]
    assert changed_per_host(run.stdout) == {"server84": 0, "server80": 0}
