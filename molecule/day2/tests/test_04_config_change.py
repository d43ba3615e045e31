"""Configuration changes: one worker's resources, then the head's."""

import pathlib
import time

import yaml

from helpers import HEAD, INVENTORY, NODES, SCALE_OUT, SERVER80, SERVER81, alive_ips, changed_per_host, cluster_nodes, ray_container, run_playbook, wait_until

# server81 offers 6 CPUs instead of 8, in a third inventory source, as an operator edits host_vars.
RESIZED = {"ray_cluster": {"children": {"ray_workers": {"hosts": {"server81": {"ray_worker_num_cpus": 6}}}}}}


def resized_inventory(tmp_path_factory):
    path = pathlib.Path(tmp_path_factory.mktemp("day2")) / "server81_resized.yml"
    path.write_text(yaml.safe_dump(RESIZED), encoding="utf-8")
    return (INVENTORY, SCALE_OUT, path)


def test_changing_one_workers_resources_recreates_only_that_worker(tmp_path_factory):
    before = {node["name"]: ray_container(node)["Id"] for node in NODES}
    run = run_playbook("site.yml", inventories=resized_inventory(tmp_path_factory))
    assert run.returncode == 0, run.stdout[-3000:]
    changed = changed_per_host(run.stdout)
    assert changed["server84"] == 0 and changed["server80"] == 0 and changed["server81"] > 0, changed
    after = {node["name"]: ray_container(node)["Id"] for node in NODES}
    assert after["server84"] == before["server84"] and after["server80"] == before["server80"]
    assert after["server81"] != before["server81"]
    assert "--num-cpus=6" in ray_container(SERVER81)["Config"]["Cmd"]
    assert "3 ALIVE node(s), " in run.stdout and "18.0 CPUs" in run.stdout  # 4 + 8 + 6


def test_changing_the_heads_configuration_restarts_the_head_and_every_worker_rejoins(tmp_path_factory):
    workers = (SERVER80, SERVER81)
    before = {node["name"]: ray_container(node) for node in NODES}
    start = time.monotonic()
    run = run_playbook("site.yml", "-e", "ray_head_num_cpus=3", inventories=resized_inventory(tmp_path_factory))
    assert run.returncode == 0, run.stdout[-3000:]
    changed = changed_per_host(run.stdout)
    assert changed["server84"] > 0 and changed["server80"] == 0 and changed["server81"] == 0, changed
    head = ray_container(HEAD)
    assert head["Id"] != before["server84"]["Id"] and "--num-cpus=3" in head["Config"]["Cmd"]
    # The workers' containers are the same ones, restarted by Docker: their raylets exited when the new
    # head's GCS refused them (another cluster ID), and `ray start --block` exited with them.
    for node in workers:
        container = ray_container(node)
        assert container["Id"] == before[node["name"]]["Id"]
        assert container["RestartCount"] > before[node["name"]]["RestartCount"], node["name"]
        print(f"[day2] head config change: {node['name']} restarted {container['State']['StartedAt']} "
              f"(head started {head['State']['StartedAt']})")
    wait_until(lambda: alive_ips() == sorted(node["ip"] for node in NODES), 120, "all three nodes ALIVE")
    print(f"[day2] head config change: site.yml and the rejoin took {time.monotonic() - start:.0f} s; {cluster_nodes()}")
