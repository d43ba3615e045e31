"""What the day2 tests share: the nodes, commands inside them, the cluster's membership as the head's
state API reports it, playbook runs from the controller, and waiting on a condition with a deadline."""

import json
import os
import pathlib
import re
import shlex
import subprocess
import sys
import time

import yaml

SCENARIO_DIR = pathlib.Path(os.environ.get("MOLECULE_SCENARIO_DIRECTORY", pathlib.Path(__file__).resolve().parents[1]))
PROJECT_DIR = SCENARIO_DIR.parents[1]
INVENTORY = SCENARIO_DIR / "inventory"
SCALE_OUT = SCENARIO_DIR / "scale_out"
TOKEN_FILE = INVENTORY / ".ray_auth_token"
# molecule/shared holds what every scenario's tests use.
sys.path.insert(0, str(PROJECT_DIR / "molecule" / "shared"))
import playbook_runs  # found through the path above
import head_api as shared_head_api  # likewise

HEAD = {"name": "server84", "container": "wizardsofts-ray-day2-server84", "ip": "198.18.94.84", "ray": "ray-head"}
SERVER80 = {"name": "server80", "container": "wizardsofts-ray-day2-server80", "ip": "198.18.94.80", "ray": "ray-worker"}
SERVER81 = {"name": "server81", "container": "wizardsofts-ray-day2-server81", "ip": "198.18.94.81", "ray": "ray-worker"}
NODES = [HEAD, SERVER80, SERVER81]



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
    return playbook_runs.run_playbook(PROJECT_DIR, inventories, "day2", playbook, *args)


changed_per_host = playbook_runs.changed_per_host


def head_api(path):
    """GET a path of the head's dashboard API inside the head, with the token: parsed JSON, or None (restarting)."""
    return shared_head_api.head_api(HEAD["container"], TOKEN_FILE, path)


def state_api_nodes():
    """Every node the head's GCS knows, as the head's state API lists it (/api/v0/nodes)."""
    try:
        return head_api("/api/v0/nodes")["data"]["result"]["result"]
    except (KeyError, TypeError):
        return []  # the head is restarting


def cluster_nodes():
    """Every node the head's GCS knows, as (ip, state, node_id)."""
    return [(n["node_ip"], n["state"], n["node_id"]) for n in state_api_nodes()]


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


class DrainJob(object):
    """drain_job.py as a Ray job: tasks pinned to a worker that wait until Ray drains it (see that file).

    Submitted with `ray job submit` inside the head's Ray container, which has the token in its environment: the
    token is in no command line. The job's state file is in the container's /tmp/ray.
    """

    SCRIPT = pathlib.Path(__file__).with_name("drain_job.py")

    def __init__(self, node, tasks=3):
        self.node = node
        self.tasks = tasks
        self.key = f"wsray-drain-{int(time.time() * 1000)}"
        self.path = f"/tmp/ray/{self.key}"
        copy = subprocess.run(["docker", "exec", "-i", HEAD["container"], "docker", "exec", "-i", HEAD["ray"], "sh", "-c",
                               f"cat > {self.path}.py"], input=self.SCRIPT.read_text(encoding="utf-8"), text=True,
                              capture_output=True, timeout=60)
        assert copy.returncode == 0, copy.stderr
        head_ray_exec(f"ray job submit --address http://127.0.0.1:8265 --submission-id {self.key} --no-wait -- "
                      f"python {self.path}.py {node['ip']} {tasks} {self.path}.json {self.key}")

    def state(self):
        raw = head_ray_exec(f"cat {self.path}.json", check=False)
        try:
            return json.loads(raw)
        except ValueError:
            return {}

    def wait_for(self, stage, timeout):
        """Waits until the job reached the stage ("running": every task runs on the node); returns its state."""
        wait_until(lambda: self.state().get("stage") in (stage, "done"), timeout, f"drain job {self.key} at stage {stage}")
        return self.state()

    def status(self):
        """The job's status in the Jobs API (PENDING, RUNNING, SUCCEEDED, FAILED, STOPPED); the API's JSON, not
        `ray job status`, whose wording is not an interface."""
        answer = head_api(f"/api/jobs/{self.key}")
        return answer.get("status") if isinstance(answer, dict) else answer

    def assert_drained_without_a_failed_task(self, message, deadline):
        """The job ended with every task done on the drained node, which left with the drain's reason."""
        done = self.wait_for("done", 300)
        print(f"\n[day2] drain job on {self.node['name']}: {done}")
        assert done["failed"] == [] and done["ok"] == self.tasks, done
        assert done["ran_on"] == [done["node_id"]] * self.tasks, done
        # Ray drained the node while the tasks ran, with the playbook's deadline (counted from the request, which
        # the job saw moments later), and ran a new task elsewhere: a draining node takes none.
        assert done["draining"] is True, done
        assert deadline - 30 < (done["drain_deadline_ms"] - done["seen_ms"]) / 1000 <= deadline, done
        assert re.fullmatch(r"[0-9a-f]{56}", done["probe_node"] or "") and done["probe_node"] != done["node_id"], done
        wait_until(lambda: self.status() == "SUCCEEDED", 120, f"drain job {self.key} SUCCEEDED")
        node = [n for n in state_api_nodes() if n["node_id"] == done["node_id"]]
        assert node and node[0]["state"] == "DEAD", node
        assert node[0]["state_message"] == f"Terminated due to preemption: {message}", node
        return done


def head_ray_exec(command, check=True):
    """A shell command in the head's Ray container (Ray's Python and CLI, the cluster's token in its environment)."""
    return node_exec(HEAD, f"docker exec {HEAD['ray']} sh -c {shlex.quote(command)}", check=check)
