"""What the day2 tests share: the nodes, commands inside them, the cluster's membership as the head's
state API reports it, playbook runs from the controller, and waiting on a condition with a deadline."""

import json
import os
import pathlib
import re
import subprocess
import time

import yaml

SCENARIO_DIR = pathlib.Path(os.environ.get("MOLECULE_SCENARIO_DIRECTORY", pathlib.Path(__file__).resolve().parents[1]))
PROJECT_DIR = SCENARIO_DIR.parents[1]
INVENTORY = SCENARIO_DIR / "inventory"
SCALE_OUT = SCENARIO_DIR / "scale_out"
TOKEN_FILE = INVENTORY / ".ray_auth_token"

HEAD = {"name": "server84", "container": "wizardsofts-ray-day2-server84", "ip": "198.18.94.84", "ray": "ray-head"}
SERVER80 = {"name": "server80", "container": "wizardsofts-ray-day2-server80", "ip": "198.18.94.80", "ray": "ray-worker"}
SERVER81 = {"name": "server81", "container": "wizardsofts-ray-day2-server81", "ip": "198.18.94.81", "ray": "ray-worker"}
NODES = [HEAD, SERVER80, SERVER81]

RECAP = re.compile(r"^(?P<host>\S+)\s+: ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=\d+\s+failed=(?P<failed>\d+)", re.M)


def node_exec(node, command, check=True):
    """Run a shell command as root inside a test node (a "server"); returns its stdout."""
    result = subprocess.run(["docker", "exec", node["container"], "sh", "-c", command],
                            capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"{command!r} on {node['name']} exited {result.returncode}: {result.stderr}")
    return result.stdout


def ray_container(node):
    """`docker inspect` of the node's Ray container, from the node's own Docker engine; None if there is none."""
    result = subprocess.run(["docker", "exec", node["container"], "docker", "inspect", node["ray"]],
                            capture_output=True, text=True, timeout=120)
    return json.loads(result.stdout)[0] if result.returncode == 0 else None


def load_testbed_images():
    with open(INVENTORY / "group_vars" / "all" / "testbed_images.yml", encoding="utf-8") as images:
        return yaml.safe_load(images)


def previous_release_vars():
    """Extra vars that deploy the previous Ray release, as converge.yml does."""
    images = load_testbed_images()
    return ["-e", json.dumps({
        "ray_cluster_version": images["testbed_previous_ray_version"],
        "ray_cluster_image": images["testbed_previous_ray_image"],
        "ray_cluster_image_archive": images["testbed_previous_ray_image_archive"],
    })]


def run_playbook(playbook, *args, inventories=(INVENTORY, SCALE_OUT)):
    """ansible-playbook from the project directory, as a user would; prints how long it took."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(PROJECT_DIR / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    command = ["ansible-playbook"] + [f"--inventory={inventory}" for inventory in inventories] + [playbook, *args]
    start = time.monotonic()
    run = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=1500)
    print(f"\n[day2] {playbook} {' '.join(args)}: exit {run.returncode} after {time.monotonic() - start:.0f} s")
    return run


def changed_per_host(output):
    return {m["host"]: int(m["changed"]) for m in RECAP.finditer(output)}


def cluster_nodes():
    """Every node the head's GCS knows, as (ip, state, node_id), asked from inside the head."""
    token = TOKEN_FILE.read_text(encoding="utf-8").strip()
    raw = node_exec(HEAD, f"curl -sf -m 5 -H 'Authorization: Bearer {token}' http://127.0.0.1:8265/api/v0/nodes", check=False)
    try:
        nodes = json.loads(raw)["data"]["result"]["result"]
    except (ValueError, KeyError, TypeError):
        return []  # the head is restarting
    return [(n["node_ip"], n["state"], n["node_id"]) for n in nodes]


def alive_ips():
    return sorted(ip for ip, state, _ in cluster_nodes() if state == "ALIVE")


def alive_node_id(ip):
    ids = [node_id for node_ip, state, node_id in cluster_nodes() if node_ip == ip and state == "ALIVE"]
    return ids[0] if len(ids) == 1 else None


def wait_until(condition, timeout, what):
    """Polls condition() until it is true; returns the seconds it took, fails with `what` after timeout."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s: {what}; the cluster: {cluster_nodes()}")
        time.sleep(0.5)
    return time.monotonic() - start
