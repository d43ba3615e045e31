"""Issue 5: every bad input fails before any change, with a message that names the fix.

Each test breaks one thing in a copy of the inventory, runs the real `ansible-playbook site.yml`
against the two test nodes, and asserts: a non-zero exit, the run stopped in the preflight play, the
documented message (docs/preflight.md) for the right host, no change reported, and an identical
snapshot of both nodes (packages, containers and when they started, UFW, Ray's directories).

The tests run in file order: first against fresh nodes, then (case 10) a real deployment of the head
and one worker with a second, unreachable worker in the inventory, then checks against that cluster.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from conftest import assert_refused

HEAD, WORKER = "server84", "server80"


def refused(testbed, inventory, host, pattern):
    before = testbed.snapshot()
    run = testbed.run(inventory)
    assert_refused(testbed, run, before, host, pattern)
    return run


# --- 1. Invalid IP or CIDR ------------------------------------------------------------------------
def test_01_invalid_node_ip(testbed):
    inventory = testbed.inventory()
    inventory.host(WORKER)["ray_cluster_node_ip"] = "10.0.0.300"
    refused(testbed, inventory, WORKER,
            r"^ray_cluster_node_ip=10\.0\.0\.300 on server80 is not a valid IP address\. "
            r"Fix: set ray_cluster_node_ip \(or ansible_host\) to the node's address on the cluster network\.$")


def test_01_invalid_cidr(testbed):
    inventory = testbed.inventory()
    inventory.group_vars["ray_cluster_cidrs"] = ["10.0.0.0/33"]
    refused(testbed, inventory, HEAD,
            r"^ray_cluster_cidrs=\['10\.0\.0\.0/33'\] on server84 must list the cluster's networks in CIDR notation "
            r"with no host bits set; invalid: \['10\.0\.0\.0/33'\]\. Fix: for example ray_cluster_cidrs: \['10\.0\.0\.0/24'\]\.$")


# --- 2. A node's address outside the cluster CIDR ---------------------------------------------------
def test_02_address_outside_cidr(testbed):
    inventory = testbed.inventory()
    inventory.host(WORKER)["ray_cluster_node_ip"] = "198.18.88.200"
    refused(testbed, inventory, WORKER,
            r"^ray_cluster_node_ip=198\.18\.88\.200 on server80 is outside ray_cluster_cidrs=198\.18\.88\.0/25\. Fix: ")


# --- 3. Duplicate node IPs; no head; two heads --------------------------------------------------------
def test_03_duplicate_ips(testbed):
    inventory = testbed.inventory()
    inventory.host(WORKER)["ray_cluster_node_ip"] = "198.18.88.84"
    refused(testbed, inventory, HEAD,
            r"^Two or more hosts in ray_cluster have the same ray_cluster_node_ip: server84=198\.18\.88\.84, "
            r"server80=198\.18\.88\.84\. Fix: give each node its own address\.$")


def test_03_no_head(testbed):
    inventory = testbed.inventory()
    inventory.move(HEAD, "ray_workers")
    refused(testbed, inventory, WORKER,
            r"^The inventory group ray_head must hold exactly one host; it holds 0 \(none\)\. "
            r"Fix: put the head server, and only it, in ray_head; workers go in ray_workers\.$")


def test_03_two_heads(testbed):
    inventory = testbed.inventory()
    inventory.move(WORKER, "ray_head")
    refused(testbed, inventory, HEAD,
            r"^The inventory group ray_head must hold exactly one host; it holds 2 \(server84, server80\)\.")


# --- 4. A Ray port in use by another process --------------------------------------------------------
def _wait_listening(testbed, node, port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if testbed.exec(node, "ss", "-Hltn", f"sport = :{port}").stdout.strip():
            return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on {node}:{port} after {timeout}s")


def test_04_port_in_use(testbed):
    started = testbed.exec(HEAD, "sh", "-c", "nohup python3 -m http.server 8265 >/dev/null 2>&1 & echo $!")
    pid = started.stdout.strip()
    try:
        _wait_listening(testbed, HEAD, 8265)
        refused(testbed, testbed.inventory(), HEAD,
                rf"^ray_cluster_dashboard_port=8265 on server84 is in use: port 8265 \(0\.0\.0\.0\) is held by "
                rf"python3, pid {pid} \(python3 -m http\.server 8265\)\. Fix: stop that process, or move Ray to a free "
                rf"port \(for example ray_cluster_dashboard_port: 8266; the firewall follows the variable\)\.$")
    finally:
        testbed.exec(HEAD, "kill", pid)


# --- 5. Two settings on one port; worker range overlapping a pinned port or too small -----------------
def test_05_same_port_twice(testbed):
    inventory = testbed.inventory()
    inventory.group_vars["ray_cluster_metrics_export_port"] = 8265
    refused(testbed, inventory, HEAD,
            r"^ray_cluster_dashboard_port=8265 and ray_cluster_metrics_export_port=8265 on server84: two Ray settings "
            r"on the same port; Ray would fail to bind the second\. Fix: give each its own port")


def test_05_pinned_port_in_worker_range(testbed):
    inventory = testbed.inventory()
    inventory.group_vars["ray_cluster_metrics_export_port"] = 10500
    refused(testbed, inventory, WORKER,
            r"^ray_cluster_metrics_export_port=10500 on server80 lies inside the worker port range "
            r"ray_cluster_min_worker_port=10002\.\.ray_cluster_max_worker_port=19999, so a worker process could take it\.")


def test_05_worker_range_too_small(testbed):
    inventory = testbed.inventory()
    inventory.group_vars["ray_cluster_max_worker_port"] = 10010
    refused(testbed, inventory, WORKER,
            r"^ray_cluster_min_worker_port=10002 and ray_cluster_max_worker_port=10010 on server80 give 9 worker "
            r"port\(s\); Ray needs one per worker process, at least 100 here")


# --- 6. A container CPU limit above the host's vCPUs --------------------------------------------------
def test_06_container_cpus_above_host(testbed):
    vcpus = int(testbed.exec(WORKER, "nproc").stdout)
    inventory = testbed.inventory()
    inventory.host(WORKER)["ray_worker_num_cpus"] = 64  # Ray's logical CPUs may exceed the host's: not an error
    inventory.host(WORKER)["ray_worker_container_cpus"] = vcpus + 1
    refused(testbed, inventory, WORKER,
            rf"^ray_worker_container_cpus={vcpus + 1} on server80, which has {vcpus} vCPU\(s\): Docker refuses it "
            rf"\(\"Range of CPUs is from 0\.01 to {vcpus}\.00\"\)\. Fix: set it to {vcpus} or less")


# --- 7. Memory / object store above RAM; object store above shm; sizes in a wrong format ---------------
def test_07_memory_above_ram(testbed):
    inventory = testbed.inventory()
    inventory.host(WORKER)["ray_worker_memory"] = "100TiB"
    refused(testbed, inventory, WORKER,
            r"^ray_worker_memory=100TiB on server80 is more than its memory, [0-9.]+ GB \(\d+ MiB\)\. Fix: ")


def test_07_object_store_above_shm(testbed):
    inventory = testbed.inventory()
    inventory.host(HEAD)["ray_head_object_store_memory"] = "2GiB"
    inventory.host(HEAD)["ray_head_shm_size"] = "1GB"
    refused(testbed, inventory, HEAD,
            r"^ray_head_object_store_memory=2GiB on server84 does not fit in ray_head_shm_size=1GB, the container's "
            r"/dev/shm, where Ray keeps the object store\.")


def test_07_size_in_wrong_format(testbed):
    inventory = testbed.inventory()
    inventory.host(WORKER)["ray_worker_memory"] = "16 gigs"
    refused(testbed, inventory, WORKER,
            r"^ray_worker_memory=16 gigs on server80 is not a size\. Fix: use bytes \(2300000000\) or a number")


# --- 8. Head and workers with different images or versions -----------------------------------------------
def test_08_image_mismatch(testbed):
    inventory = testbed.inventory()
    head_image = inventory.all_vars["ray_cluster_image"]
    inventory.host(WORKER)["ray_cluster_image"] = "rayproject/ray:2.60.0"
    refused(testbed, inventory, HEAD,
            rf"^ray_cluster_image=rayproject/ray:2\.60\.0 ray_cluster_version=2\.60\.0 on server80, but "
            rf"ray_cluster_image={head_image} ray_cluster_version=2\.60\.0 on the head server84\. Ray refuses a node")


# --- 9. A Ray version below the floor, unless acknowledged ------------------------------------------------
def test_09_version_below_floor(testbed):
    inventory = testbed.inventory()
    inventory.all_vars["ray_cluster_version"] = "2.53.0"
    refused(testbed, inventory, HEAD,
            r"^ray_cluster_version=2\.53\.0 on server84 is older than 2\.54\.0, the oldest release this collection "
            r"deploys: older ones have published CVEs\. Fix: use 2\.54\.0 or later \(default 2\.60\.0\), or, if you must "
            r"run it, set ray_cluster_allow_insecure_version: true\.$")


def test_09_version_below_floor_acknowledged(testbed):
    """Acknowledged, the old version passes; the run then stops at the next broken thing (a CPU limit)."""
    inventory = testbed.inventory()
    inventory.all_vars["ray_cluster_version"] = "2.53.0"
    inventory.group_vars["ray_cluster_allow_insecure_version"] = True
    inventory.host(WORKER)["ray_worker_container_cpus"] = 1000
    run = refused(testbed, inventory, WORKER, r"^ray_worker_container_cpus=1000 on server80")
    assert not [f for f in run.failures() if "older than" in f[3]], run


# --- 10. An unreachable head: nothing changes anywhere --------------------------------------------------
def test_10_unreachable_head(testbed):
    inventory = testbed.inventory()
    inventory.host(HEAD)["ansible_host"] = "wizardsofts-ray-preflight-server82"  # no such container
    refused(testbed, inventory, WORKER,
            r"^The Ray head server84 \(ansible_host=wizardsofts-ray-preflight-server82\) could not be reached \(see "
            r"UNREACHABLE above\), so nothing was changed on any node: no worker can join without the head\. "
            r"Fix: make server84 reachable")


# --- 11. A firewall source of 0.0.0.0/0 without the opt-in -------------------------------------------------
def test_11_world_open_firewall(testbed):
    inventory = testbed.inventory()
    inventory.group_vars["ray_cluster_admin_cidrs"] = ["0.0.0.0/0"]
    refused(testbed, inventory, HEAD,
            r"^Ray ports would be open to the world on server84: the sources 0\.0\.0\.0/0 come from ray_cluster_cidrs, "
            r"ray_cluster_admin_cidrs or ray_cluster_prometheus_cidrs\. .*set ufw_allow_ray_ports_from_anywhere: true\.$")


# --- 12. Snap Docker with a data path it cannot use ----------------------------------------------------------
def test_12_snap_docker_data_dir(testbed):
    testbed.exec(WORKER, "sh", "-c", "mkdir -p /snap/bin && printf '#!/bin/sh\\nexit 1\\n' > /snap/bin/docker "
                                     "&& chmod 0755 /snap/bin/docker")
    try:
        inventory = testbed.inventory()
        inventory.group_vars["ray_cluster_data_dir"] = "/opt/ray"
        refused(testbed, inventory, WORKER,
                r"^Docker on server80 is the snap package \(/snap/bin/docker\), which cannot mount paths outside "
                r"/home, but ray_cluster_data_dir=/opt/ray\. Fix: set ray_cluster_data_dir to a directory under /home")
    finally:
        testbed.exec(WORKER, "rm", "-rf", "/snap")


# --- 14. The cluster's token (issue 6): too short, or not the same on every node; never shown -----------------
def test_14_token_too_short(testbed):
    inventory = testbed.inventory()
    inventory.group_vars["ray_cluster_auth_token"] = "short-token-123"
    run = refused(testbed, inventory, HEAD,
                  r"^ray_cluster_auth_token on server84 \(not shown\) is 15 characters long, or holds characters other "
                  r"than letters, digits and \._~\+/=- \(an HTTP header carries it\): a token must be at least 32 of those\. "
                  r"Fix: unset it to use the one generated in ray_cluster_auth_token_file=")
    assert "short-token-123" not in json.dumps(run.data) + run.stderr


def test_14_token_differs_between_nodes(testbed):
    inventory = testbed.inventory()
    inventory.host(WORKER)["ray_cluster_auth_token"] = "AnotherTokenForOneWorkerOnly" * 2
    run = refused(testbed, inventory, WORKER,
                  r"^ray_cluster_auth_token on server80 differs from the head's \(server84\); values not shown\. "
                  r"Ray refuses a node whose token differs\. Fix: set ray_cluster_auth_token once, for the whole "
                  r"ray_cluster group, not per host\.$")
    assert "AnotherTokenForOneWorkerOnly" not in json.dumps(run.data) + run.stderr


# --- 15. TLS with only some of the operator's own files ----------------------------------------------------
def test_15_tls_files_incomplete(testbed):
    inventory = testbed.inventory()
    inventory.group_vars.update({"ray_cluster_tls_enabled": True, "ray_cluster_tls_ca_cert": "/etc/pki/ray-ca.crt"})
    refused(testbed, inventory, HEAD,
            r"^ray_cluster_tls_ca_cert=/etc/pki/ray-ca\.crt, ray_cluster_tls_cert=\(empty\), ray_cluster_tls_key=\(empty\) "
            r"on server84: your own TLS files need all three\. Fix: set the CA certificate and this node's certificate "
            r"and key, or none of them")


# --- Issue 4: `firewall.yml --check --diff` on fresh nodes shows the rules it would add, changes nothing ----
def test_firewall_check_diff_on_fresh_nodes_shows_the_rules_it_would_add(testbed):
    before = testbed.snapshot()
    run = testbed.run(testbed.inventory(), "firewall.yml", "--check", "--diff")
    assert run.rc == 0, run
    firewall = {host: result for _, task, host, result in run.results() if "Allow SSH and exactly the Ray ports" in task}
    assert set(firewall) == {HEAD, WORKER}, [task for _, task, _, _ in run.results()]
    for host, result in firewall.items():
        assert result["changed"], result
        after = result["diff"]["after"]
        assert "status: active" in after and "default incoming: deny" in after
        assert "ufw allow 22/tcp comment 'wizardsofts.ray: SSH'" in after, after
        assert re.search(r"ufw allow from 198\.18\.88\.0/25 to any port 8076 proto tcp comment 'wizardsofts\.ray: Ray", after), after
        assert "status: inactive" in result["diff"]["before"]
    assert "ufw allow from 198.18.88.0/25 to any port 6379 proto tcp" in firewall[HEAD]["diff"]["after"]
    assert "port 6379 " not in firewall[WORKER]["diff"]["after"]
    assert testbed.snapshot() == before


# --- 10. An unreachable worker: the rest is deployed, the run fails naming it ---------------------------------
@pytest.fixture(scope="module")
def deployed(testbed):
    inventory = testbed.inventory()
    inventory.groups["ray_workers"]["hosts"]["server82"] = {
        "ansible_host": "wizardsofts-ray-preflight-server82",  # no such container: docker exec fails
        "ray_cluster_node_ip": "198.18.88.82",
    }
    return testbed.run(inventory)


def test_10_unreachable_worker_rest_deployed(testbed, deployed):
    run = deployed
    assert run.rc != 0, run
    assert ("Preflight - check the inventory and every node before anything changes",
            "wizardsofts.ray.ray_cluster : Reach this node and read its CPUs and memory") == \
        next((play, task) for play, task, host, _ in run.failures() if host == "server82")
    final = [message for play, _, _, message in run.failures() if play.startswith("Report")]
    assert final and final[0].startswith("Not deployed: server82 (unreachable); the rest of the cluster "
                                         "(server84, server80) is deployed."), run
    summary = [m for m in run.debug_messages() if m.startswith("Ray 2.60.0 cluster: 2 ALIVE node(s), 0 DEAD")]
    assert summary, run.debug_messages()
    for node, container in ((HEAD, "ray-head"), (WORKER, "ray-worker")):
        state = testbed.exec(node, "docker", "inspect", "-f", "{{.State.Running}}", container).stdout.strip()
        assert state == "true", (node, container)


# --- 4 (second half): our own Ray containers on the ports are not a conflict --------------------------------
def test_04_own_ray_containers_are_not_a_conflict(testbed, deployed):
    before = testbed.snapshot()
    run = testbed.run(testbed.inventory())
    assert run.rc == 0, run
    assert set(run.changed().values()) == {0}, run.changed()
    assert testbed.snapshot() == before


# --- A broken inventory against the running cluster: nothing is restarted ---------------------------------
def test_08_mismatch_on_running_cluster_restarts_nothing(testbed, deployed):
    inventory = testbed.inventory()
    inventory.host(WORKER)["ray_cluster_version"] = "2.59.0"
    inventory.host(WORKER)["ray_cluster_image"] = "rayproject/ray:2.59.0"
    refused(testbed, inventory, HEAD, r"ray_cluster_version=2\.59\.0 on server80, but ray_cluster_image=")


def test_04_other_process_next_to_running_cluster(testbed, deployed):
    """With Ray holding its ports, a foreign process on a port Ray does not hold yet is still found."""
    inventory = testbed.inventory()
    inventory.group_vars["ray_cluster_metrics_export_port"] = 9191
    started = testbed.exec(WORKER, "sh", "-c", "nohup python3 -m http.server 9191 >/dev/null 2>&1 & echo $!")
    pid = started.stdout.strip()
    try:
        _wait_listening(testbed, WORKER, 9191)
        run = refused(testbed, inventory, WORKER,
                      rf"^ray_cluster_metrics_export_port=9191 on server80 is in use: port 9191 \(0\.0\.0\.0\) is held by "
                      rf"python3, pid {pid} ")
        assert not [f for f in run.failures() if f[2] == HEAD], run  # Ray's own ports on the head: no conflict
    finally:
        testbed.exec(WORKER, "kill", pid)
