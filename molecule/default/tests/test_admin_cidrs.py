"""ray_cluster_admin_cidrs narrowed to one admin network that holds no node, as docs/security.md recommends.

The collection's own API checks run on the head against its loopback, and a worker asks no Ray API at all, so the
cluster deploys (the worker replaced, to go through its whole join path), verifies and runs a job while the worker
cannot reach the head's dashboard port. At the end the scenario's own settings are deployed again, for the tests
after this one.
"""

import json
import re

import pytest

from helpers import NODES, node_exec, run_playbook
from node_probe import probe_from

ADMIN_NETWORK = "198.18.86.240/28"  # in the scenario's Docker network, outside the cluster's 198.18.86.0/25
NARROWED = json.dumps({"ray_cluster_admin_cidrs": [ADMIN_NETWORK],
                       # A worker setting only: the worker's container is replaced under the narrowed firewall.
                       "ray_worker_num_cpus": 7})
HEAD_IP = NODES["head"]["ip"]


@pytest.fixture(scope="module")
def narrowed():
    run = run_playbook("site.yml", "-e", NARROWED)
    try:
        yield run
    finally:
        restored = run_playbook("site.yml")
        assert restored.returncode == 0, restored.stdout[-3000:]


def test_the_cluster_deploys_and_verifies_with_the_worker_outside_the_admin_networks(narrowed):
    assert narrowed.returncode == 0, narrowed.stdout[-3000:]
    # The head's 4 CPUs and the replaced worker's 7 (its old node stays listed as DEAD).
    assert re.search(r"Ray [\d.]+ cluster: 2 ALIVE node\(s\), \d+ DEAD; 11\.0 CPUs", narrowed.stdout), narrowed.stdout[-3000:]
    # Only the worker restarted: the admin networks are firewall rules, not part of the head's container.
    assert re.search(r"This run:   started or restarted Ray on server80(;|\s*$)", narrowed.stdout, re.MULTILINE), \
        narrowed.stdout[-3000:]


def test_the_heads_dashboard_port_is_filtered_from_the_worker_and_its_gcs_open(narrowed):
    results = probe_from(NODES["worker"]["container"], [f"{HEAD_IP}:8265", f"{HEAD_IP}:10001", f"{HEAD_IP}:6379"])
    assert results == {f"{HEAD_IP}:8265": "timeout", f"{HEAD_IP}:10001": "timeout", f"{HEAD_IP}:6379": "open"}, results


def test_the_heads_firewall_opens_the_dashboard_to_the_admin_network_only(narrowed):
    status = node_exec(NODES["head"]["container"], "ufw status")
    dashboard = [line for line in status.splitlines() if line.startswith("8265")]
    assert dashboard and all(ADMIN_NETWORK in line for line in dashboard), status


def test_verify_runs_its_membership_check_and_a_job_through_the_heads_loopback(narrowed):
    run = run_playbook("verify.yml", "-e", NARROWED, "-e", json.dumps({"ray_cluster_verify_workloads": ["hello_world"]}))
    assert run.returncode == 0, run.stdout[-3000:]
    # The hello-world row of the job's result, with tasks on both nodes: the Jobs API answered on the head.
    row = re.search(r"^\s*hello_world\s+(\d+)\s+[\d.]+\s+.*$", run.stdout, re.MULTILINE)
    assert row and int(row.group(1)) > 0, run.stdout[-3000:]
    assert "server84=" in row.group(0) and "server80=" in row.group(0), row.group(0)
