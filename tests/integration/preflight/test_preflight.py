"""Issue 5, against real nodes: every bad input fails before any change, with a message that names the fix.

The rules themselves are proven by the unit tests over tests/unit/plugins/module_utils/preflight_cases.yml.
This suite proves what only real nodes can:

1. Every case of that table that the inventory alone refuses, through the real `ansible-playbook site.yml`
   (templating, argument specs, hostvars of every host), twice: on fresh nodes and on a running cluster.
   Each run must fail in the preflight play before any connection, with the table's message for the
   host it names, changed=0; a snapshot of both nodes before and after each batch is identical, and on
   the running cluster the containers keep their Id and StartedAt.
2. The node cases, with the conditions made real on the nodes: a process on a Ray port, a CPU limit and
   a memory size above what the node has, a snap Docker, an unreachable head; then a deployment with an
   unreachable third worker, a rerun that changes nothing, and a foreign process next to running Ray.

To be fast, the runs of each phase go at once (Testbed.run_many), between one snapshot before and one
after: on fresh nodes the inventory cases with the node cases and `firewall.yml --check --diff`, on the
running cluster the inventory cases with the rerun and the foreign process. None of them may change
anything, and the snapshots must show it; each run is also checked on its own. The port held on the
head runs alone (every run that reads the head would see it). The tests run in file order: fresh nodes
first, then the deployment, then the running cluster.
"""

from __future__ import annotations

import os
import re

import pytest

from conftest import (HEAD, NODE_FACTS_TASK, PREFLIGHT_PLAY, TABLE_IMAGE, WORKER, Listener, assert_refused,
                      inventory_cases, named_host, normalised)

CASES = inventory_cases()
IDS = [case["id"] for case in CASES]
_TABLE_IMAGE = re.compile(re.escape(TABLE_IMAGE) + r"(?![\w.-])")
UNREACHABLE = "wizardsofts-ray-preflight-server82"  # no such container: `docker exec` fails
FOREIGN_DATA_DIR = "/home/shared"  # someone else's files, on the worker only


def table_message(case, image):
    """The case's message for this test bed. The table's cluster runs rayproject/ray:2.60.0; this one runs the
    local stand-in for it (`image`): where a message quotes the image the case did not set, it quotes ours."""
    message = normalised(case["message"])
    set_by_case = [value for variables in (case.get("set") or {}).values() for value in variables.values()]
    if TABLE_IMAGE in set_by_case:
        return message
    return _TABLE_IMAGE.sub(image, message)


def assert_case(run, case, image):
    message = table_message(case, image)
    assert_refused(run, named_host(message), message, before_connection=True)
    for problem_host, text in run.problems():
        assert "Fix: " in text, (problem_host, text)
    # A token set by the case is never shown, whatever is wrong with it.
    for variables in (case.get("set") or {}).values():
        if "ray_cluster_auth_token" in variables:
            assert str(variables["ray_cluster_auth_token"]) not in run.output


class Phase:
    """Runs that must all change nothing, at once, between one snapshot of both nodes before and one after.

    `runs`: name -> an Inventory for site.yml, or (inventory, playbook, *options); the table's inventory
    cases are added, under their ids."""

    def __init__(self, testbed, runs):
        self.image = testbed.inventory().all_vars["ray_cluster_image"]
        self.containers_before = testbed.containers()
        self.before = testbed.snapshot()
        # The runs that wait on the nodes first, each with a worker of its own, so that they overlap the
        # CPU-bound inventory cases.
        cases = {case["id"]: testbed.inventory(case) for case in CASES}
        self.runs = testbed.run_many(dict(runs, **cases), workers=len(runs) + (os.cpu_count() or 2) + 1)
        self.after = testbed.snapshot()
        self.containers_after = testbed.containers()


# --- On fresh nodes: every inventory case of the table, and the node cases -----------------------------------
@pytest.fixture(scope="module")
def fresh(testbed):
    """The table's inventory cases; five node cases, each with one thing the node cannot do; and
    `firewall.yml --check --diff`.

    A snap Docker on the worker stays there for all of them: it is harmless to the other node cases (the
    default data path is under /home: the table's snap_docker_home), as each reporting exactly its one
    problem proves, and the inventory cases never reach a node."""
    vcpus = int(testbed.exec(WORKER, "nproc").stdout)
    meminfo = testbed.exec(WORKER, "cat", "/proc/meminfo").stdout
    memory = int(re.search(r"^MemTotal:\s+(\d+) kB", meminfo, re.M).group(1)) * 1024
    nodes = {name: testbed.inventory()
             for name in ("cpus", "memory", "snap", "unreachable_head", "gpus", "foreign_data")}
    nodes["gpus"].host(WORKER)["ray_worker_num_gpus"] = 1
    nodes["cpus"].host(WORKER)["ray_worker_container_cpus"] = vcpus + 1
    nodes["memory"].host(WORKER)["ray_worker_memory"] = "100TiB"
    nodes["snap"].group_vars["ray_cluster_data_dir"] = "/opt/ray"
    nodes["unreachable_head"].host(HEAD)["ansible_host"] = UNREACHABLE
    # Under /home, which the worker's snap Docker accepts: only the directory's content is wrong.
    nodes["foreign_data"].group_vars["ray_cluster_data_dir"] = FOREIGN_DATA_DIR
    nodes["firewall"] = (testbed.inventory(), "firewall.yml", "--check", "--diff")
    testbed.exec(WORKER, "sh", "-c", "mkdir -p /snap/bin && printf '#!/bin/sh\\nexit 1\\n' > /snap/bin/docker "
                                     "&& chmod 0755 /snap/bin/docker")
    testbed.exec(WORKER, "sh", "-c", f"mkdir -p {FOREIGN_DATA_DIR}/models && echo q3 > {FOREIGN_DATA_DIR}/report.csv")
    try:
        phase = Phase(testbed, nodes)
    finally:
        testbed.exec(WORKER, "rm", "-rf", "/snap", FOREIGN_DATA_DIR)
    phase.vcpus, phase.memory = vcpus, memory
    return phase


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_inventory_case_on_fresh_nodes(fresh, case):
    assert_case(fresh.runs[case["id"]], case, fresh.image)


def test_docker_cpu_limit_above_the_nodes_vcpus(fresh):
    vcpus = fresh.vcpus
    assert_refused(fresh.runs["cpus"], WORKER,
                   f"ray_worker_container_cpus={vcpus + 1} on server80 but the node has {vcpus} vCPU(s): Docker "
                   f"refuses it (\"Range of CPUs is from 0.01 to {vcpus}.00\"). Fix: set it to {vcpus} or less",
                   only=True)


def test_memory_above_the_nodes_ram(fresh):
    memory = fresh.memory
    assert_refused(fresh.runs["memory"], WORKER,
                   f"ray_worker_memory=100TiB on server80 is more than the node's memory, {memory / 1e9:.1f} GB "
                   f"({memory // 1048576} MiB). Fix: set it to less than that", only=True)


def test_gpus_on_a_node_without_the_nvidia_driver(fresh):
    assert_refused(fresh.runs["gpus"], WORKER,
                   "ray_worker_num_gpus=1 on server80: asks for GPUs, but the NVIDIA driver does not answer there: "
                   "nvidia-smi not found (no NVIDIA driver installed). Fix: install the NVIDIA driver", only=True)


def test_snap_docker_with_a_data_dir_outside_home(fresh):
    assert_refused(fresh.runs["snap"], WORKER,
                   "ray_cluster_data_dir=/opt/ray on server80 cannot be mounted: Docker on this node is the snap "
                   "package (/snap/bin/docker), which cannot mount paths outside /home. Fix: set ray_cluster_data_dir "
                   "to a directory under /home, for example /home/ray-data.", only=True)


def test_data_dir_holding_someone_elses_files(fresh):
    assert_refused(fresh.runs["foreign_data"], WORKER,
                   f"ray_cluster_data_dir={FOREIGN_DATA_DIR} on server80 is not empty (2 entries: models, report.csv) "
                   "and was not created by this collection (it has no .wizardsofts-ray file), so it may hold someone "
                   "else's files. Fix: choose a directory of Ray's own that is new or empty", only=True)


def test_unreachable_head_changes_nothing_anywhere(fresh):
    run = fresh.runs["unreachable_head"]
    assert_refused(run, HEAD,
                   "The Ray head server84 could not be reached (see UNREACHABLE above), so nothing was changed on any "
                   "node: no worker can join without the head. Fix: make server84 reachable", only=True)
    # The head could not be read; the worker was, and nothing else was done to it.
    read = {host: result for _, task, host, result in run.results() if task.endswith(NODE_FACTS_TASK)}
    assert read[HEAD].get("failed") or read[HEAD].get("unreachable"), read[HEAD]
    assert not read[WORKER].get("failed") and read[WORKER]["node"]["cpus"], read[WORKER]


# Issue 4: `firewall.yml --check --diff` on fresh nodes shows the rules it would add (and changes nothing).
def test_firewall_check_diff_on_fresh_nodes_shows_the_rules_it_would_add(fresh):
    run = fresh.runs["firewall"]
    assert run.rc == 0, run
    firewall = {host: result for _, task, host, result in run.results() if "Allow SSH and exactly the Ray ports" in task}
    assert set(firewall) == {HEAD, WORKER}, run.tasks()
    for host, result in firewall.items():
        assert result["changed"], result
        after = result["diff"]["after"]
        assert "status: active" in after and "default incoming: deny" in after
        assert "ufw allow 22/tcp comment 'wizardsofts.ray: SSH'" in after, after
        assert re.search(r"ufw allow from 198\.18\.88\.0/25 to any port 8076 proto tcp comment 'wizardsofts\.ray: Ray", after), after
        assert "status: inactive" in result["diff"]["before"]
    assert "ufw allow from 198.18.88.0/25 to any port 6379 proto tcp" in firewall[HEAD]["diff"]["after"]
    assert "port 6379 " not in firewall[WORKER]["diff"]["after"]


def test_fresh_nodes_unchanged(fresh):
    assert fresh.after == fresh.before


def test_ray_port_held_by_another_process(testbed):
    listener = Listener(testbed, HEAD, 8265)
    try:
        before = testbed.snapshot()
        run = testbed.run(testbed.inventory())
        assert_refused(run, HEAD,
                       f"ray_cluster_dashboard_port=8265 on server84 is in use: port 8265 (0.0.0.0) is held by python3, "
                       f"pid {listener.pid}. Fix: stop that process, or move Ray to a free port (for example "
                       f"ray_cluster_dashboard_port: 8266; the firewall follows the variable).", only=True)
        assert testbed.snapshot() == before
    finally:
        listener.stop()


# --- An unreachable third worker: the rest is deployed and verified, the run fails naming it ---------------
@pytest.fixture(scope="module")
def deployed(testbed):
    inventory = testbed.inventory()
    inventory.groups["ray_workers"]["hosts"]["server82"] = {"ansible_host": UNREACHABLE,
                                                            "ray_cluster_node_ip": "198.18.88.82"}
    return testbed.run(inventory)


def test_unreachable_worker_rest_deployed(testbed, deployed):
    run = deployed
    assert run.rc != 0, run
    play, task = next((play, task) for play, task, host, _ in run.failures() if host == "server82")
    assert play == PREFLIGHT_PLAY and task.endswith(NODE_FACTS_TASK), run
    final = [message for play, _, _, message in run.failures() if play.startswith("Report")]
    assert final and final[0].startswith("Not deployed: server82 (unreachable); the rest of the cluster "
                                         "(server84, server80) is deployed."), run
    assert [m for m in run.debug_messages() if m.startswith("Ray 2.60.0 cluster: 2 ALIVE node(s), 0 DEAD")], \
        run.debug_messages()
    for node, container in ((HEAD, "ray-head"), (WORKER, "ray-worker")):
        state = testbed.exec(node, "docker", "inspect", "-f", "{{.State.Running}}", container).stdout.strip()
        assert state == "true", (node, container)


# --- On the running cluster: every inventory case again, a rerun, and a foreign process next to Ray ---------
@pytest.fixture(scope="module")
def running(testbed, deployed):
    """The table's inventory cases; a rerun of the deployed inventory (our own Ray containers hold the ports:
    no conflict); and one that moves the metrics port to 9191, where another process listens on the worker."""
    foreign = testbed.inventory()
    foreign.group_vars["ray_cluster_metrics_export_port"] = 9191
    listener = Listener(testbed, WORKER, 9191)
    try:
        phase = Phase(testbed, {"rerun": testbed.inventory(), "foreign": foreign})
    finally:
        listener.stop()
    phase.foreign_pid = listener.pid
    return phase


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_inventory_case_on_the_running_cluster(running, case):
    assert_case(running.runs[case["id"]], case, running.image)


def test_rerun_over_the_running_cluster_changes_nothing(running):
    run = running.runs["rerun"]
    assert run.rc == 0, run
    assert run.changed() == {HEAD: 0, WORKER: 0}, run


def test_other_process_next_to_the_running_cluster(running):
    """With Ray holding its ports, a foreign process on a port Ray does not hold yet is found, and only it."""
    assert_refused(running.runs["foreign"], WORKER,
                   f"ray_cluster_metrics_export_port=9191 on server80 is in use: port 9191 (0.0.0.0) is held by "
                   f"python3, pid {running.foreign_pid}. Fix:", only=True)


def test_running_cluster_unchanged(running):
    assert running.containers_after == running.containers_before
    assert [line.split()[0] for line in running.containers_after[HEAD]] == ["/ray-head"]
    assert [line.split()[0] for line in running.containers_after[WORKER]] == ["/ray-worker"]
    assert running.after == running.before
