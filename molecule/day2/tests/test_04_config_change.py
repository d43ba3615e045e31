"""Configuration changes: one worker's resources, a worker change Ray refuses at start, then the head's."""

import pathlib
import re
import time

import yaml

from helpers import (HEAD, INVENTORY, NODES, SCALE_OUT, SERVER80, SERVER81, DrainJob, alive_ips, alive_node_id, changed_per_host,
                     cluster_nodes, node_exec, ray_container, run_playbook, wait_until)

# server81 offers 6 CPUs instead of 8, in a third inventory source, as an operator edits host_vars.
RESIZED = {"ray_cluster": {"children": {"ray_workers": {"hosts": {"server81": {"ray_worker_num_cpus": 6}}}}}}
# The same, plus a `ray start` flag that Ray does not know: the plan accepts it (it is no flag the collection
# pins), Docker starts the container, and Ray exits at once with "No such option".
REFUSED = {"ray_cluster": {"children": {"ray_workers": {"hosts": {"server81": {
    "ray_worker_num_cpus": 6, "ray_worker_extra_args": ["--no-such-flag"]}}}}}}


def resized_inventory(tmp_path_factory, hosts=None):
    path = pathlib.Path(tmp_path_factory.mktemp("day2")) / "server81.yml"
    path.write_text(yaml.safe_dump(hosts or RESIZED), encoding="utf-8")
    return (INVENTORY, SCALE_OUT, path)


def test_changing_one_workers_resources_drains_it_while_a_job_runs_there_and_recreates_only_that_worker(tmp_path_factory):
    before = {node["name"]: ray_container(node)["Id"] for node in NODES}
    job = DrainJob(SERVER81, tasks=3)
    job.wait_for("running", 180)
    run = run_playbook("site.yml", inventories=resized_inventory(tmp_path_factory))
    assert run.returncode == 0, run.stdout[-3000:]
    changed = changed_per_host(run.stdout)
    assert changed["server84"] == 0 and changed["server80"] == 0 and changed["server81"] > 0, changed
    after = {node["name"]: ray_container(node)["Id"] for node in NODES}
    assert after["server84"] == before["server84"] and after["server80"] == before["server80"]
    assert after["server81"] != before["server81"]
    assert "--num-cpus=6" in ray_container(SERVER81)["Config"]["Cmd"]
    assert "3 ALIVE node(s), " in run.stdout and "18.0 CPUs" in run.stdout  # 4 + 8 + 6
    # The old server81 node was drained (default deadline, 60 s) before its container stopped: the job's tasks on it
    # all finished. The new container has the restart policy of every Ray container again.
    job.assert_drained_without_a_failed_task(
        "wizardsofts.ray site.yml: the Ray container of server81 is replaced (its configuration changed)", deadline=60)
    assert ray_container(SERVER81)["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"


def test_a_change_ray_refuses_at_start_leaves_the_previous_worker_running_and_alive(tmp_path_factory):
    before = {node["name"]: ray_container(node) for node in NODES}
    node_id = alive_node_id(SERVER81["ip"])
    assert node_id is not None
    run = run_playbook("site.yml", inventories=resized_inventory(tmp_path_factory, REFUSED))
    assert run.returncode != 0, run.stdout[-3000:]
    # The failure quotes Ray (its logs) and says what the module did about it.
    assert "No such option" in run.stdout and "--no-such-flag" in run.stdout, run.stdout[-3000:]
    assert "Restored the previous container" in run.stdout, run.stdout[-3000:]
    # Given up on at the crash loop, not after ray_cluster_wait_timeout (the worker asks no Ray API, and Docker's
    # restarts of a Ray that refuses its flags end the wait).
    waited = re.search(r"waited ([\d.]+) s of at most ([\d.]+) s", run.stdout)
    assert waited and float(waited.group(1)) < float(waited.group(2)) / 2, run.stdout[-3000:]
    assert "Ray refuses to start this way" in run.stdout, run.stdout[-3000:]
    assert "healthy again" in run.stdout and "NOT healthy again" not in run.stdout, run.stdout[-3000:]

    # server81 runs its previous container again, under its own name, and nothing else is left behind.
    container = ray_container(SERVER81)
    assert container["Id"] == before["server81"]["Id"]
    assert container["State"]["Running"] is True
    assert "--no-such-flag" not in container["Config"]["Cmd"] and "--num-cpus=6" in container["Config"]["Cmd"]
    names = node_exec(SERVER81, "docker ps -a --format '{{.Names}}'").split()
    assert names == [SERVER81["ray"]], names
    # The restored container is a new Ray node (a restarted raylet registers again) on the same IP, ALIVE.
    assert alive_ips() == sorted(node["ip"] for node in NODES), cluster_nodes()
    assert alive_node_id(SERVER81["ip"]) not in (None, node_id), cluster_nodes()
    # The other nodes were not touched.
    for node in (HEAD, SERVER80):
        assert ray_container(node)["Id"] == before[node["name"]]["Id"], node["name"]
        assert ray_container(node)["RestartCount"] == before[node["name"]]["RestartCount"], node["name"]

    # The same inventory without the flag: nothing to do on any node, server81's restored container included.
    rerun = run_playbook("site.yml", inventories=resized_inventory(tmp_path_factory))
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    assert changed_per_host(rerun.stdout) == {"server84": 0, "server80": 0, "server81": 0}, rerun.stdout[-3000:]
    assert ray_container(SERVER81)["Id"] == before["server81"]["Id"]


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
