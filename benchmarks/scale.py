#!/usr/bin/env python3
"""Scale on paper, on the controller alone (no node, no container):

  plan 1,000 workers     `cluster_plan` (the action plugin and the model) on a generated inventory of a head and
                         1,000 workers, run by ansible-playbook with connection local: the task's own time (from
                         the profile_tasks callback), and the model's evaluate() alone on the same settings.
  cluster_info 1,000     the module's membership check (fetch, parse, compare) against a recorded-shape answer of
                         /api/v0/nodes with 1,000 nodes, served by a local HTTP server on 127.0.0.1.

    benchmarks/scale.py [--workers 1000] [--runs 3]      (bench.py runs it too, in the same table)
"""

from __future__ import annotations

import argparse
import copy
import http.server
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
PROJECT = HERE.parent
# Run as a script from the checkout: the collection resolves only once collections/ is on the path, so these
# imports must come after it (E402 is suppressed on them for that reason alone).
sys.path.insert(0, str(PROJECT / "collections"))

from ansible_collections.wizardsofts.ray.plugins.module_utils import _cluster_model as model  # noqa: E402
from ansible_collections.wizardsofts.ray.plugins.module_utils._ray_dashboard import RayDashboard  # noqa: E402
from ansible_collections.wizardsofts.ray.plugins.modules import cluster_info  # noqa: E402

FIXTURE = PROJECT / "tests" / "unit" / "fixtures" / "ray-2.60.0" / "nodes-two-alive.json"
PLAYBOOK = """
- hosts: head
  gather_facts: false
  tasks:
    - name: Plan the cluster
      wizardsofts.ray.cluster_plan:
        phase: inventory
      register: plan
"""
TASK_TIME = re.compile(r"^Plan the cluster -+ (?P<seconds>[\d.]+)s$", re.M)


def address(index):
    return "10.%d.%d.%d" % (1 + index // 62500, (index // 250) % 250, index % 250 + 1)


def write_inventory(directory, workers):
    hosts = dict(("w%05d" % index, {"ansible_host": address(index)}) for index in range(workers))
    inventory = {"ray_cluster": {
        "children": {"ray_head": {"hosts": {"head": {"ansible_host": "10.0.0.1"}}}, "ray_workers": {"hosts": hosts}},
        "vars": {"ansible_connection": "local", "ray_cluster_cidrs": ["10.0.0.0/8"], "ray_cluster_auth_token": "T" * 48}}}
    path = directory / "hosts.json"
    path.write_text(json.dumps(inventory))
    (directory / "plan.yml").write_text(PLAYBOOK)
    return path


def plan_with_ansible(workers):
    """Seconds of the cluster_plan task on a generated inventory, as profile_tasks measures it."""
    with tempfile.TemporaryDirectory() as directory:
        directory = pathlib.Path(directory)
        inventory = write_inventory(directory, workers)
        env = dict(os.environ, ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"),
                   ANSIBLE_COLLECTIONS_PATH=str(PROJECT / "collections"),
                   ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks")
        result = subprocess.run([str(pathlib.Path(sys.executable).with_name("ansible-playbook")), "-i", str(inventory),
                                 str(directory / "plan.yml")], capture_output=True, text=True, env=env, check=False)
        match = TASK_TIME.search(result.stdout)
        if result.returncode != 0 or not match:
            raise RuntimeError("cluster_plan on %d workers failed:\n%s" % (workers, result.stdout[-3000:]))
        return float(match.group("seconds"))


def plan_with_model(workers):
    """Seconds of the model's evaluate() on the settings the roles' defaults give a head and the workers."""
    import yaml

    def role_settings(role):
        settings, spec = {}, {}
        for name in ("ray_cluster", "docker", "ufw", "ray_%s" % role):
            settings.update(yaml.safe_load((PROJECT / "roles" / name / "defaults" / "main.yml").read_text()))
            options = yaml.safe_load((PROJECT / "roles" / name / "meta" / "argument_specs.yml").read_text())
            spec.update(model.validator_spec(options["argument_specs"]["main"]["options"]))
        settings.update({"ray_cluster_cidrs": ["10.0.0.0/8"], "ray_cluster_admin_cidrs": ["10.0.0.0/8"],
                         "ray_cluster_prometheus_cidrs": ["10.0.0.0/8"], "ray_cluster_auth_token": "T" * 48,
                         "ray_cluster_image": "rayproject/ray:2.60.0", "ufw_ssh_port": 22,
                         "ray_cluster_auth_token_file": "/srv/inventory/.ray_auth_token"})
        return settings, spec

    head, head_spec = role_settings(model.HEAD)
    worker, worker_spec = role_settings(model.WORKER)
    hosts = {"head": (model.HEAD, dict(head, ray_cluster_node_ip="10.0.0.1"))}
    specs = {"head": head_spec}
    for index in range(workers):
        hosts["w%05d" % index] = (model.WORKER, dict(copy.deepcopy(worker), ray_cluster_node_ip=address(index)))
        specs["w%05d" % index] = worker_spec
    start = time.perf_counter()
    plan, problems, _warnings = model.evaluate(hosts, ["head"], specs, None)
    seconds = time.perf_counter() - start
    if problems or len(plan["nodes"]) != workers + 1:
        raise RuntimeError("the model refused the generated cluster: %s" % problems[:3])
    return seconds


class _Answer(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def recorded_answer(nodes):
    """The recorded Ray 2.60 answer of /api/v0/nodes, grown to `nodes` entries of the same shape."""
    answer = json.loads(FIXTURE.read_text())
    head, worker = answer["data"]["result"]["result"]
    entries = [head]
    for index in range(nodes - 1):
        entry = copy.deepcopy(worker)
        entry["node_ip"] = entry["node_name"] = address(index)
        entry["node_id"] = "%056x" % index
        entry["resources_total"] = {"CPU": 8.0, "memory": 16e9, "object_store_memory": 16e9, "node:" + address(index): 1.0}
        entries.append(entry)
    answer["data"]["result"].update(result=entries, total=nodes, num_after_truncation=nodes, num_filtered=nodes)
    return answer


def cluster_info_check(nodes):
    """Seconds for one membership check of cluster_info against an answer of `nodes` nodes: fetch, parse, compare."""
    _Answer.body = json.dumps(recorded_answer(nodes)).encode()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        params = type("Params", (), {})()
        params.expected_nodes = [address(index) for index in range(nodes - 1)] + ["192.0.2.2"]
        params.min_nodes, params.expected_resources = None, {"CPU": 4.0 + 8.0 * (nodes - 1)}
        start = time.perf_counter()
        found = RayDashboard("http://127.0.0.1:%d" % server.server_address[1], timeout=10).nodes()
        report = cluster_info.ClusterReport(found).compare(params)
        seconds = time.perf_counter() - start
    finally:
        server.shutdown()
        server.server_close()
    if report.differences or report.alive != nodes:
        raise RuntimeError("cluster_info saw differences in its own recorded answer: %s" % report.differences[:3])
    return seconds


def measure(workers=1000, runs=3):
    """{figure: [seconds per run]}."""
    figures = {"plan_ansible": [], "plan_model": [], "cluster_info": []}
    for _run in range(runs):
        figures["plan_ansible"].append(plan_with_ansible(workers))
        figures["plan_model"].append(plan_with_model(workers))
        figures["cluster_info"].append(cluster_info_check(workers))
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    figures = measure(options.workers, options.runs)
    for name, target in (("plan_ansible", 2.0), ("plan_model", 2.0), ("cluster_info", 1.0)):
        median = statistics.median(figures[name])
        print("%-14s %d workers: median %.2f s of %s (target <= %.2f s: %s)" % (
            name, options.workers, median, ", ".join("%.2f" % value for value in figures[name]), target,
            "met" if median <= target else "MISSED"))


if __name__ == "__main__":
    main()
