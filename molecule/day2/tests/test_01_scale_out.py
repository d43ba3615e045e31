"""Scale out: the seed's Phase 2 adds server81 to the inventory; site.yml changes only server81.

The cluster runs the previous Ray release here (converge.yml): test_02 upgrades it.
"""

from helpers import HEAD, NODES, SERVER80, SERVER81, alive_ips, changed_per_host, previous_release_vars, ray_container, run_playbook


def test_adding_server81_to_the_inventory_changes_only_server81():
    before = {node["name"]: ray_container(node)["Id"] for node in (HEAD, SERVER80)}
    assert ray_container(SERVER81) is None

    run = run_playbook("site.yml", *previous_release_vars())
    assert run.returncode == 0, run.stdout[-3000:]
    changed = changed_per_host(run.stdout)
    assert changed["server84"] == 0 and changed["server80"] == 0, changed
    assert changed["server81"] > 0, changed
    assert "3 ALIVE node(s)" in run.stdout
    assert {node["name"]: ray_container(node)["Id"] for node in (HEAD, SERVER80)} == before
    assert alive_ips() == sorted(node["ip"] for node in NODES)
