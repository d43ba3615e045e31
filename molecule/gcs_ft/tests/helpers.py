"""What the GCS fault-tolerance tests share: the nodes, commands inside them and inside their Ray containers, the
head's state API, playbook runs, the workload driver, a Serve prober, and waiting on a condition with a deadline."""

import json
import os
import pathlib
import shlex
import subprocess
import sys
import time

SCENARIO_DIR = pathlib.Path(os.environ.get("MOLECULE_SCENARIO_DIRECTORY", pathlib.Path(__file__).resolve().parents[1]))
PROJECT_DIR = SCENARIO_DIR.parents[1]
INVENTORY = SCENARIO_DIR / "inventory"
TOKEN_FILE = INVENTORY / ".ray_auth_token"
TESTS = pathlib.Path(__file__).resolve().parent
# molecule/shared holds what every scenario's tests use.
sys.path.insert(0, str(PROJECT_DIR / "molecule" / "shared"))
import playbook_runs  # found through the path above
import head_api as shared_head_api  # likewise

HEAD = {"name": "server84", "container": "wizardsofts-ray-gcsft-server84", "ip": "198.18.90.84", "ray": "ray-head"}
WORKER = {"name": "server80", "container": "wizardsofts-ray-gcsft-server80", "ip": "198.18.90.80", "ray": "ray-worker"}
REDIS = {"container": "ray-gcs-redis", "port": 6380, "data_dir": "/var/lib/ray-redis"}
REDIS_PASSWORD = "wsray-gcsft-test-bed-password-0123456789"
FT_ON = ["-e", "ray_cluster_gcs_ft_enabled=true"]


def node_exec(node, command, check=True, timeout=300):
    """A shell command as root inside a test node (a "server"); its stdout."""
    result = subprocess.run(["docker", "exec", node["container"], "sh", "-c", command],
                            capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{command!r} on {node['name']} exited {result.returncode}: {result.stderr}")
    return result.stdout


def ray_exec(node, command, check=True, timeout=300):
    """A shell command inside the node's Ray container (Ray's Python and CLI, the token in its environment)."""
    return node_exec(node, f"docker exec {node['ray']} sh -c {shlex.quote(command)}", check=check, timeout=timeout)


def inspect(node, container):
    """`docker inspect` of a container on the node's own engine; None if there is none."""
    result = subprocess.run(["docker", "exec", node["container"], "docker", "inspect", container],
                            capture_output=True, text=True, timeout=120)
    return json.loads(result.stdout)[0] if result.returncode == 0 else None


def started(node, container):
    """(StartedAt, RestartCount) of a container: both stay the same when it was not restarted."""
    info = inspect(node, container)
    return info["State"]["StartedAt"], info["RestartCount"]


def run_playbook(playbook, *args):
    return playbook_runs.run_playbook(PROJECT_DIR, [INVENTORY], "gcs_ft", playbook, *args)


changed_per_host = playbook_runs.changed_per_host


def head_api(path):
    """GET a path of the head's dashboard API inside the head, with the token: parsed JSON, or None (restarting)."""
    return shared_head_api.head_api(HEAD["container"], TOKEN_FILE, path)


def gcs_healthy():
    token = TOKEN_FILE.read_text(encoding="utf-8").strip()
    return node_exec(HEAD, f"curl -sf -m 3 -H 'Authorization: Bearer {token}' http://127.0.0.1:8265/api/gcs_healthz",
                     check=False).strip() == "success"


def cluster_nodes():
    """Every node the head's GCS knows, as (ip, state, node_id)."""
    try:
        nodes = head_api("/api/v0/nodes")["data"]["result"]["result"]
    except (KeyError, TypeError):
        return []
    return [(n["node_ip"], n["state"], n["node_id"]) for n in nodes]


def alive_node_id(ip):
    ids = [node_id for node_ip, state, node_id in cluster_nodes() if node_ip == ip and state == "ALIVE"]
    return ids[0] if len(ids) == 1 else None


def wait_until(condition, timeout, what, sleep=0.25):
    """Polls condition() until it is true; the seconds it took; fails with `what` after timeout."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s: {what}; the cluster: {cluster_nodes()}")
        time.sleep(sleep)
    return time.monotonic() - start


def copy_into_head_ray(name, directory="/tmp/ray"):
    """A file of this directory into the head's Ray container (/tmp/ray is its session mount)."""
    copy = subprocess.run(["docker", "exec", "-i", HEAD["container"], "docker", "exec", "-i", HEAD["ray"], "sh", "-c",
                           f"mkdir -p {directory} && cat > {directory}/{name}"],
                          input=(TESTS / name).read_text(encoding="utf-8"), text=True, capture_output=True, timeout=60)
    assert copy.returncode == 0, copy.stderr
    return f"{directory}/{name}"


def workload(command):
    """ft_workload.py COMMAND as a driver inside the head's Ray container: its JSON answer."""
    path = copy_into_head_ray("ft_workload.py")
    out = ray_exec(HEAD, f"python {path} {command}", timeout=180)
    return json.loads(out.strip().splitlines()[-1])


def submit_job(seconds):
    """ft_job.py as a Ray job whose driver runs on the worker (entrypoint resources); its submission ID. The script
    reaches the worker as the job's working directory, which Ray uploads to the GCS."""
    copy_into_head_ray("ft_job.py", "/tmp/ray/ft_job")
    key = f"wsray-ft-{int(time.time() * 1000)}"
    ray_exec(HEAD, f"ray job submit --address http://127.0.0.1:8265 --submission-id {key} --no-wait "
                   f"--working-dir /tmp/ray/ft_job --entrypoint-resources '{{\"ft_worker\": 0.01}}' "
                   f"--entrypoint-num-cpus 0 -- python ft_job.py {seconds}")
    return key


def job_status(key):
    answer = head_api(f"/api/jobs/{key}")
    return answer.get("status") if isinstance(answer, dict) else None


# Asks the Serve application through the worker's own HTTP proxy, from inside the worker's server, every 0.1 s until
# the stop file exists (at most SECONDS); prints how many requests there were, how many failed, and when.
SERVE_PROBE = r"""
import json, os, sys, time, urllib.request
stop, end = sys.argv[2], time.monotonic() + float(sys.argv[1])
start = time.monotonic()
ok, failed, failures = 0, 0, []
while time.monotonic() < end and not os.path.exists(stop):
    at = time.monotonic() - start
    try:
        with urllib.request.urlopen("http://127.0.0.1:8000/", timeout=2) as answer:
            good = answer.status == 200 and answer.read().startswith(b"hello from")
    except Exception:
        good = False
    if good:
        ok += 1
    else:
        failed += 1
        failures.append(round(at, 1))
    time.sleep(0.1)
print(json.dumps({"ok": ok, "failed": failed, "failures": failures, "seconds": round(time.monotonic() - start, 1)}))
"""
SERVE_PROBE_STOP = "/tmp/wsray-serve-probe-stop"


class ServeProbe(object):
    """The prober above, running in the background while the head restarts, until result() stops it."""

    def __init__(self, seconds=600):
        node_exec(WORKER, f"rm -f {SERVE_PROBE_STOP}")
        self.process = subprocess.Popen(["docker", "exec", WORKER["container"], "python3", "-c", SERVE_PROBE, str(seconds),
                                         SERVE_PROBE_STOP], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def result(self):
        node_exec(WORKER, f"touch {SERVE_PROBE_STOP}")
        out, err = self.process.communicate(timeout=120)
        assert self.process.returncode == 0, err
        return json.loads(out.strip().splitlines()[-1])


# AUTH and PING to the GCS store, from inside a node; prints Redis's two answers. Reads until both are in (3 s at most).
REDIS_PING = r"""
import socket, sys
host, port, password = sys.argv[1], int(sys.argv[2]), sys.stdin.read().encode()
s = socket.create_connection((host, port), timeout=3)
s.sendall(b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r\n" % (len(password), password))
answer = b""
while answer.count(b"\r\n") < 2:
    chunk = s.recv(100)
    if not chunk:
        break
    answer += chunk
print(" ".join(answer.decode().split()))
"""


def redis_ping_from(node):
    """Redis's answers to AUTH and PING, asked from the node (the password on stdin)."""
    result = subprocess.run(["docker", "exec", "-i", node["container"], "python3", "-c", REDIS_PING, WORKER["ip"],
                             str(REDIS["port"])], input=REDIS_PASSWORD, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def serve_answers():
    out = node_exec(WORKER, "curl -sf -m 3 http://127.0.0.1:8000/", check=False)
    return out.startswith("hello from")
