"""What the scenario's tests share: the nodes, commands inside them, Prometheus' API, playbook runs."""

import json
import os
import pathlib
import re
import subprocess
import sys
import time

SCENARIO_DIR = pathlib.Path(os.environ.get("MOLECULE_SCENARIO_DIRECTORY", pathlib.Path(__file__).resolve().parents[1]))
PROJECT_DIR = SCENARIO_DIR.parents[1]
# molecule/shared holds what every scenario's tests use.
sys.path.insert(0, str(PROJECT_DIR / "molecule" / "shared"))
INVENTORY = SCENARIO_DIR / "inventory"
NODES = {
    "head": {"name": "server84", "container": "wizardsofts-ray-monitoring-server84", "ip": "198.18.92.84"},
    "worker": {"name": "server80", "container": "wizardsofts-ray-monitoring-server80", "ip": "198.18.92.80"},
    "prometheus": {"name": "prometheus", "container": "wizardsofts-ray-monitoring-prometheus", "ip": "198.18.92.190"},
}
PROMETHEUS = NODES["prometheus"]["container"]
JOB = "ray-cluster"
METRICS_PORT = 9091
RECAP = re.compile(r"^(?P<host>\S+)\s+: ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=\d+\s+failed=(?P<failed>\d+)", re.M)


def node_exec(container, command, stdin=None, check=True):
    """Run a shell command as root inside a test node; returns its stdout."""
    result = subprocess.run(
        ["docker", "exec", "-i", container, "sh", "-c", command],
        input=stdin, capture_output=True, text=True, timeout=300, check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{command!r} on {container} exited {result.returncode}: {result.stderr}")
    return result.stdout


def prometheus_api(path):
    """GET Prometheus' HTTP API from inside its own host (it listens on the scenario's network only)."""
    return json.loads(node_exec(PROMETHEUS, f"curl -sSf 'http://127.0.0.1:9090{path}'"))["data"]


def wait_until(look, done, timeout, what):
    """Calls look() until done(its result); returns that result, or fails after timeout seconds with the last one."""
    deadline = time.monotonic() + timeout
    while True:
        seen = look()
        if done(seen):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout} s still waiting for {what}; last seen: {seen!r}")
        time.sleep(1)  # between the polls of a deadline loop, as ansible's wait_for does


def ray_targets():
    """{node label: (role label, instance, health)} of the Ray job's active targets."""
    return {target["labels"]["node"]: (target["labels"]["role"], target["labels"]["instance"], target["health"])
            for target in prometheus_api("/api/v1/targets?state=active")["activeTargets"]
            if target["labels"]["job"] == JOB}


def alerts(name):
    """The alerts named name that Prometheus holds (pending or firing)."""
    return [alert for alert in prometheus_api("/api/v1/alerts")["alerts"] if alert["labels"]["alertname"] == name]


def run_playbook(playbook, *args, env=None):
    """ansible-playbook from the project directory against the scenario's inventory, as a user would."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(PROJECT_DIR / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1",
               **(env or {}))
    return subprocess.run(
        ["ansible-playbook", "-i", str(INVENTORY), playbook, *args],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=900, check=False,
    )


def changed_per_host(output):
    return {m["host"]: int(m["changed"]) for m in RECAP.finditer(output)}


