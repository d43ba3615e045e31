"""Token authentication, on by default: the APIs refuse strangers, a worker without the token cannot
join, the token rotates, and it never shows up in output or in files outside its 0600 home."""

import json
import os
import re
import stat
import subprocess
import time

import pytest

from helpers import INVENTORY, NODES, PROJECT_DIR, load_testbed_images, node_exec, run_playbook

TOKEN_FILE = INVENTORY / ".ray_auth_token"
TOKEN_ON_NODE = "/var/lib/ray/secrets/auth_token"
HEAD_URL = f"http://{NODES['head']['ip']}:8265"
WRONG_TOKEN = "NotTheClusterToken" * 3

# Asks the head's dashboard from inside the cluster network; prints the HTTP status.
HTTP_STATUS = r"""
import json, sys, urllib.error, urllib.request
method, url, token = sys.argv[1], sys.argv[2], sys.stdin.read().strip()
body = json.dumps({"entrypoint": "echo refused"}).encode() if method == "POST" else None
request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
if token:
    request.add_header("Authorization", "Bearer " + token)
try:
    print(urllib.request.urlopen(request, timeout=10).status)
except urllib.error.HTTPError as error:
    print(error.code)
"""


def cluster_token():
    return TOKEN_FILE.read_text(encoding="utf-8").strip()


def http_status(method, path, token=""):
    command = f"python3 -c '{HTTP_STATUS}' {method} {HEAD_URL}{path}"
    return int(node_exec(NODES["worker"]["container"], command, stdin=token).strip())


@pytest.mark.parametrize("method, path", [("GET", "/api/v0/nodes"), ("GET", "/api/jobs/"), ("POST", "/api/jobs/")])
def test_the_apis_refuse_a_request_without_the_token_or_with_a_wrong_one(method, path):
    assert http_status(method, path) == 401
    assert http_status(method, path, WRONG_TOKEN) in (401, 403)


@pytest.mark.parametrize("path", ["/api/v0/nodes", "/api/jobs/"])
def test_the_apis_answer_a_request_with_the_token(path):
    assert http_status("GET", path, cluster_token()) == 200


def test_the_token_is_kept_in_0600_files_and_never_in_the_container_configuration():
    assert stat.S_IMODE(TOKEN_FILE.stat().st_mode) == 0o600
    token = cluster_token()
    for node in NODES.values():
        listing = node_exec(node["container"], f"stat -c '%a %u' {TOKEN_ON_NODE} /var/lib/ray/secrets").split()
        assert listing == ["600", "1000", "700", "1000"]
        container = "ray-head" if node is NODES["head"] else "ray-worker"
        inspect = node_exec(node["container"], f"docker inspect {container}")
        assert token not in inspect
        config = json.loads(inspect)[0]["Config"]
        assert "RAY_AUTH_MODE=token" in config["Env"]
        assert config["User"] == "1000:100"


@pytest.fixture()
def intruder():
    """A Ray node started on the worker's host without the cluster's token, on ports of its own."""
    worker = NODES["worker"]["container"]
    image = load_testbed_images()["ray_cluster_image"]
    node_exec(worker, (
        f"docker run -d --name ray-intruder --network host -e RAY_AUTH_MODE=token -e RAY_AUTH_TOKEN={WRONG_TOKEN} "
        f"{image} ray start --block --address={NODES['head']['ip']}:6379 --node-ip-address={NODES['worker']['ip']} "
        "--node-manager-port=8176 --object-manager-port=8177 --runtime-env-agent-port=8178 "
        "--dashboard-agent-grpc-port=8179 --dashboard-agent-listen-port=52366 --metrics-export-port=9191 "
        "--min-worker-port=20002 --max-worker-port=20999 --disable-usage-stats"
    ))
    try:
        yield worker
    finally:
        node_exec(worker, "docker rm -f ray-intruder")


def test_a_worker_without_the_token_cannot_join(intruder):
    deadline = time.monotonic() + 90
    logs = ""
    while time.monotonic() < deadline and "Authentication token is missing or incorrect" not in logs:
        logs = node_exec(intruder, "docker logs ray-intruder 2>&1", check=False)
        time.sleep(1)
    assert "Authentication token is missing or incorrect" in logs, logs[-3000:]
    # Every node, filtered here: with a state filter, Ray 2.60's list_nodes counts the DEAD entries of earlier
    # incarnations (a replaced worker) as output it could not return, and raises.
    nodes = json.loads(node_exec(NODES["head"]["container"],
                                 "docker exec ray-head python -c 'import json, ray.util.state as s; "
                                 "print(json.dumps([n.node_ip for n in s.list_nodes() if n.state == \"ALIVE\"]))'"))
    assert sorted(nodes) == sorted(node["ip"] for node in NODES.values())


def test_the_worker_play_with_a_wrong_token_stops_and_says_why():
    worker = NODES["worker"]["container"]
    started = node_exec(worker, "docker inspect -f '{{.State.StartedAt}}' ray-worker")
    run = run_playbook("site.yml", "--limit", "server80", "-e", f"ray_cluster_auth_token={WRONG_TOKEN}",
                       "-e", "ray_cluster_wait_timeout=10")
    assert run.returncode != 0
    assert "authentication required or token wrong: pass the cluster token" in run.stdout
    assert node_exec(worker, "docker inspect -f '{{.State.StartedAt}}' ray-worker") == started


def test_rotation_restarts_every_node_with_a_new_token_that_never_leaks():
    old_token = cluster_token()
    run = run_playbook("rotate_token.yml", "-vvv")
    assert run.returncode == 0, run.stdout[-3000:]
    new_token = cluster_token()
    assert new_token != old_token and len(new_token) == 48
    assert re.search(r"Ray [\d.]+ cluster: 2 ALIVE node\(s\)", run.stdout)
    output = run.stdout + run.stderr
    assert old_token not in output and new_token not in output

    # On the nodes: only the token file holds it (not logs, the journal, Ray's session, Docker's state).
    for node in NODES.values():
        holders = node_exec(node["container"], (
            f"grep -rlF -s -e '{new_token}' / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev; "
            f"journalctl --no-pager | grep -cF -e '{new_token}'; "
            f"for c in $(docker ps -aq); do docker logs $c 2>&1; done | grep -cF -e '{new_token}'"
        ), check=False).split()
        assert holders == [TOKEN_ON_NODE, "0", "0"], (node["name"], holders)

    # On the controller: only the token file (the project, Ansible's and the system's temporary files).
    places = [str(PROJECT_DIR), os.path.expanduser("~/.ansible"), "/tmp"]
    found = subprocess.run(
        ["grep", "-rlF", "-s", "--exclude-dir=.venv", "--exclude-dir=.cache", "-e", new_token, *places],
        capture_output=True, text=True,
    ).stdout.split()
    # A checkout under /tmp is searched twice (as the project and as /tmp): the same file, found twice, is one place.
    assert sorted(set(os.path.realpath(path) for path in found)) == [os.path.realpath(TOKEN_FILE)]
