"""What the scenario's tests share: the nodes, commands inside them, and playbook runs from the controller."""

import os
import pathlib
import re
import subprocess
import sys

import yaml

SCENARIO_DIR = pathlib.Path(os.environ.get("MOLECULE_SCENARIO_DIRECTORY", pathlib.Path(__file__).resolve().parents[1]))
PROJECT_DIR = SCENARIO_DIR.parents[1]
# molecule/shared holds what every scenario's tests use.
sys.path.insert(0, str(PROJECT_DIR / "molecule" / "shared"))
INVENTORY = SCENARIO_DIR / "inventory"
NETWORK = "wizardsofts-ray-molecule"
NODES = {
    "head": {"name": "server84", "container": "wizardsofts-ray-molecule-server84", "ip": "198.18.86.84"},
    "worker": {"name": "server80", "container": "wizardsofts-ray-molecule-server80", "ip": "198.18.86.80"},
}


def node_exec(container, command, stdin=None, check=True):
    """Run a shell command as root inside a test node; returns its stdout."""
    result = subprocess.run(
        ["docker", "exec", "-i", container, "sh", "-c", command],
        input=stdin, capture_output=True, text=True, timeout=300,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{command!r} on {container} exited {result.returncode}: {result.stderr}")
    return result.stdout


def load_testbed_images():
    with open(INVENTORY / "group_vars" / "all" / "testbed_images.yml", encoding="utf-8") as images:
        return yaml.safe_load(images)


def run_playbook(playbook, *args, env=None):
    """ansible-playbook from the project directory against the scenario's inventory, as a user would."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(PROJECT_DIR / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1",
               **(env or {}))
    return subprocess.run(
        ["ansible-playbook", "-i", str(INVENTORY), playbook, *args],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=900,
    )


# A PLAY RECAP line: host, changed, unreachable, failed.
RECAP = re.compile(r"^(?P<host>\S+)\s+: ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)", re.M)


def changed_per_host(output):
    """{host: changed} from a playbook's PLAY RECAP."""
    return {m["host"]: int(m["changed"]) for m in RECAP.finditer(output)}


TOKEN_FILE = INVENTORY / ".ray_auth_token"

# Asks the head's dashboard from inside a node, with the token read from stdin (never on a command line).
_API_GET = r"""
import sys, urllib.request
request = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.stdin.read().strip()})
print(urllib.request.urlopen(request, timeout=10).read().decode())
"""


def head_api(path):
    """GET a path of the head's dashboard API with the cluster's token; returns the parsed JSON."""
    token = TOKEN_FILE.read_text(encoding="utf-8").strip()
    url = f"http://{NODES['head']['ip']}:8265{path}"
    return yaml.safe_load(node_exec(NODES["head"]["container"], f"python3 -c '{_API_GET}' {url}", stdin=token))
