"""The preflight suite's test bed and helpers.

Two "server" containers (testbed/playbooks/create.yml with this directory's inventory, network
wizardsofts-ray-preflight, 198.18.88.0/24) are created once per session and destroyed at its end, even
when a test fails. Each run writes a copy of the inventory (with one case's settings) to its own
directory and runs the real `ansible-playbook site.yml` against the nodes; snapshots of both nodes taken
before and after show that a refused run changed nothing.

The inventory mirrors the test cluster of tests/unit/plugins/module_utils/preflight_cases.yml (head
server84 with 4 CPUs, 8GB, 2.3GB object store; worker server80 with 8 CPUs, 16GB, 16GB), so the table's
messages hold here word for word. The one value the test bed must change is the image: the nodes run
the local stand-in for rayproject/ray (.cache/testbed_images.yml), shipped as an archive.

To run beside another test bed, set WIZARDSOFTS_RAY_PREFLIGHT_TESTBED=NAME:SUBNET (a /24, for example
wizardsofts-ray-hA:198.18.70.0/24): the network is NAME, the nodes NAME-server84 and NAME-server80, and every
198.18.88.x address of the inventory moves to that subnet. The table's messages that quote an address then
no longer hold: run only the tests that do not compare them (test_already_there.py).
"""

from __future__ import annotations

import copy
import json
import os
import re
import secrets
import string
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
BASE_INVENTORY = HERE / "inventory"
IMAGES_VARS = ROOT / ".cache" / "testbed_images.yml"
CASES_FILE = ROOT / "tests" / "unit" / "plugins" / "module_utils" / "preflight_cases.yml"
BIN = ROOT / ".venv" / "bin"
HEAD, WORKER = "server84", "server80"
# The first play of site.yml: a refused run stops there.
PREFLIGHT_PLAY = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())[0]["name"]
# The preflight task that checks the inventory on the controller, before any connection.
INVENTORY_TASK = "Check every host's settings (on the controller, before any connection)"
# The preflight task that reads each node (the first that connects).
NODE_FACTS_TASK = "Read this node's state (one call)"
# The suite's own network (inventory/), and an override to run beside another test bed ("NAME:SUBNET").
DEFAULT_NETWORK, DEFAULT_PREFIX = "wizardsofts-ray-preflight", "198.18.88."
TESTBED_OVERRIDE = os.environ.get("WIZARDSOFTS_RAY_PREFLIGHT_TESTBED", "")
# The image the table's test cluster runs (ray_cluster_image's default for ray_cluster_version 2.60.0).
TABLE_IMAGE = "rayproject/ray:2.60.0"

# What "nothing changed" means on a node: its packages, its containers (and when they started),
# its firewall, and the directories the roles create.
SNAPSHOT_SCRIPT = r"""
dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\n'
if command -v docker >/dev/null; then
  docker ps -a --no-trunc --format '{{.ID}} {{.Names}} {{.Image}} {{.CreatedAt}}'
  ids=$(docker ps -aq --no-trunc)
  [ -z "$ids" ] || docker inspect -f '{{.Id}} {{.Name}} {{.State.Status}} {{.State.StartedAt}} {{.RestartCount}}' $ids
  docker images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}'
fi
if command -v ufw >/dev/null; then ufw status verbose; fi
for path in /etc/docker /var/lib/ray /home/ray-data /opt/ray /var/tmp/wizardsofts-ray-image.tar; do
  if [ -e "$path" ]; then echo "exists $path"; ls -la --time-style=full-iso "$path"; fi
done
"""


def _env():
    env = dict(os.environ)
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
    env["ANSIBLE_NOCOLOR"] = "1"
    return env


def normalised(text) -> str:
    return " ".join(str(text).split())


def inventory_cases():
    """The table's cases that the inventory alone refuses: no node facts, a message."""
    cases = yaml.safe_load(CASES_FILE.read_text())
    return [case for case in cases if not case.get("facts") and case.get("message")]


class Inventory:
    """A copy of the preflight inventory as data, written out to a directory for one run."""

    def __init__(self):
        self.hosts = yaml.safe_load((BASE_INVENTORY / "hosts.yml").read_text())
        self.group_vars = yaml.safe_load((BASE_INVENTORY / "group_vars" / "ray_cluster.yml").read_text())
        self.all_vars = yaml.safe_load((BASE_INVENTORY / "group_vars" / "all" / "preflight.yml").read_text())
        self.all_vars.update(yaml.safe_load(IMAGES_VARS.read_text()))
        if TESTBED_OVERRIDE:
            self._move(*TESTBED_OVERRIDE.split(":", 1))

    def _move(self, network, subnet):
        """The same test bed on another Docker network and /24: names and addresses replaced throughout."""
        if not re.fullmatch(r"(\d+\.\d+\.\d+\.)0/24", subnet):
            raise AssertionError(f"WIZARDSOFTS_RAY_PREFLIGHT_TESTBED: {subnet} is not a /24 such as 198.18.70.0/24")
        prefix = subnet[:-len("0/24")]

        def moved(value):
            if isinstance(value, str):
                return value.replace(DEFAULT_NETWORK, network).replace(DEFAULT_PREFIX, prefix)
            if isinstance(value, list):
                return [moved(item) for item in value]
            if isinstance(value, dict):
                return {key: moved(item) for key, item in value.items()}
            return value
        self.hosts, self.group_vars, self.all_vars = moved(self.hosts), moved(self.group_vars), moved(self.all_vars)
        self.all_vars["testbed_network"], self.all_vars["testbed_subnet"] = network, subnet

    @property
    def groups(self):
        return self.hosts["ray_cluster"]["children"]

    def host(self, name):
        for group in list(self.groups.values()) + [self.hosts.get("ungrouped") or {}]:
            if name in (group.get("hosts") or {}):
                return group["hosts"][name]
        raise KeyError(name)

    def apply(self, case):
        """One case of preflight_cases.yml: `set` (host -> variables; `all`: ray_cluster's group vars), `groups`."""
        for host, variables in (case.get("set") or {}).items():
            (self.group_vars if host == "all" else self.host(host)).update(copy.deepcopy(variables))
        for group, members in (case.get("groups") or {}).items():
            if group in self.groups:
                self.regroup(group, members)
            else:
                # A group beside ray_cluster (ray_redis): its members are named there, their settings stay where they
                # are (a member outside ray_cluster is a host the run never connects to).
                self.hosts.setdefault(group, {})["hosts"] = {name: None for name in members}
        return self

    def regroup(self, group, members):
        """Make `members` exactly the hosts of `group`; a host left in no group stays in the inventory, ungrouped."""
        settings = {name: self.host(name) for group_ in self.groups.values() for name in (group_.get("hosts") or {})}
        self.groups.setdefault(group, {})["hosts"] = {name: dict(settings[name]) for name in members}
        grouped = {name for group_ in self.groups.values() for name in (group_.get("hosts") or {})}
        left = {name: value for name, value in settings.items() if name not in grouped}
        if left:
            self.hosts.setdefault("ungrouped", {}).setdefault("hosts", {}).update(left)

    def write(self, directory: Path) -> Path:
        (directory / "group_vars" / "all").mkdir(parents=True, exist_ok=True)
        (directory / "hosts.yml").write_text(yaml.safe_dump(self.hosts, sort_keys=False))
        (directory / "group_vars" / "ray_cluster.yml").write_text(yaml.safe_dump(self.group_vars, sort_keys=False))
        (directory / "group_vars" / "all" / "testbed.yml").write_text(yaml.safe_dump(self.all_vars, sort_keys=False))
        return directory


class Run:
    """The outcome of one ansible-playbook run, read from the ansible.posix.json callback."""

    def __init__(self, completed: subprocess.CompletedProcess, seconds: float):
        self.rc = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr
        self.seconds = seconds
        try:
            self.data = json.loads(completed.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"no JSON from ansible-playbook (rc {self.rc}):\n{completed.stdout}\n{completed.stderr}")

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def plays(self):
        return [play["play"]["name"] for play in self.data["plays"]]

    def results(self):
        for play in self.data["plays"]:
            for task in play["tasks"]:
                for host, result in task["hosts"].items():
                    yield play["play"]["name"], task["task"]["name"], host, result

    def tasks(self):
        return [task for _, task, _, _ in self.results()]

    def failures(self):
        """(play, task, host, message) of every failed or unreachable result."""
        return [(play, task, host, normalised(result.get("msg", "")))
                for play, task, host, result in self.results()
                if result.get("failed") or result.get("unreachable")]

    def problems(self):
        """(host, message) of every problem cluster_plan reported, whitespace-normalised."""
        return [(problem["host"], normalised(problem["message"]))
                for _, _, _, result in self.results() for problem in result.get("problems") or []]

    def changed(self):
        return {host: stats["changed"] for host, stats in self.data["stats"].items()}

    def debug_messages(self):
        return [normalised(result.get("msg", "")) for _, _, _, result in self.results()
                if "msg" in result and not result.get("failed")]

    def __repr__(self):
        return (f"Run(rc={self.rc}, {self.seconds:.1f}s, plays={self.plays}, changed={self.changed()}, "
                f"failures={self.failures()})")


class Testbed:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.count = 0
        self._lock = threading.Lock()
        self.nodes = {name: Inventory().host(name)["ansible_host"] for name in (HEAD, WORKER)}
        # The token file is the inventory's (each run writes its inventory to a new directory, so it is set
        # to one path). It exists before the first run, as after a user's first deployment: runs that go
        # in parallel must not each generate their own. Same alphabet and length as the role's lookup.
        self.token_file = tmp / "ray_auth_token"
        self.token = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(48))
        self.token_file.write_text(self.token + "\n")
        self.token_file.chmod(0o600)

    def inventory(self, case=None) -> Inventory:
        inventory = Inventory()
        inventory.all_vars["ray_cluster_auth_token_file"] = str(self.token_file)
        # Each run writes its inventory to a new directory; the CLI environment file a deploy writes stays in one
        # place, as it does for an operator's inventory, so a rerun finds it unchanged.
        inventory.all_vars["ray_cluster_client_env_file"] = str(self.tmp / "ray-client.env")
        return inventory.apply(case) if case else inventory

    def run(self, inventory: Inventory, playbook: str = "site.yml", *options: str) -> Run:
        with self._lock:
            self.count += 1
            directory = self.tmp / f"inventory-{self.count}"
        inventory.write(directory)
        started = time.monotonic()
        completed = subprocess.run(
            [str(BIN / "ansible-playbook"), "-i", str(directory), str(ROOT / playbook), *options],
            cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=1800, check=False,
        )
        run = Run(completed, time.monotonic() - started)
        # Whatever the run did, the cluster's token is never in its output.
        assert self.token not in run.output, "the Ray token appears in the output of ansible-playbook"
        return run

    def run_many(self, runs: dict, workers: int = 0) -> dict:
        """Several runs at once. `runs`: key -> an Inventory (site.yml) or (inventory, playbook, *options).

        A run refused before any connection is one CPU-bound Python process: by default one more run than
        CPUs goes at once; runs that mostly wait on the nodes are given workers of their own."""
        runs = {key: value if isinstance(value, tuple) else (value,) for key, value in runs.items()}
        with ThreadPoolExecutor(max_workers=workers or (os.cpu_count() or 2) + 1) as pool:
            futures = {key: pool.submit(self.run, *arguments) for key, arguments in runs.items()}
            return {key: future.result() for key, future in futures.items()}

    def exec(self, node: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", "exec", self.nodes[node], *argv],
                              capture_output=True, text=True, timeout=120, check=check)

    def snapshot(self) -> dict:
        return {node: self.exec(node, "sh", "-c", SNAPSHOT_SCRIPT).stdout for node in self.nodes}

    def containers(self) -> dict:
        """node -> the Id and StartedAt of every container on it."""
        script = ("command -v docker >/dev/null || exit 0; ids=$(docker ps -aq --no-trunc); "
                  "[ -z \"$ids\" ] || docker inspect -f '{{.Name}} {{.Id}} {{.State.StartedAt}}' $ids")
        return {node: sorted(self.exec(node, "sh", "-c", script).stdout.splitlines()) for node in self.nodes}


class Listener:
    """`python3 -m http.server PORT` inside a node: another team's process on a Ray port.

    Started attached (`docker exec`): its own line "Serving HTTP on ..." says that it listens, so there is
    nothing to poll. Stopped by its PID inside the node, then waited for."""

    def __init__(self, testbed: Testbed, node: str, port: int, timeout: float = 30):
        self.testbed, self.node, self.port = testbed, node, port
        self.pid = None
        self.lines = []
        self._listening = threading.Event()
        self.process = subprocess.Popen(
            ["docker", "exec", testbed.nodes[node], "sh", "-c", f"echo $$; exec python3 -u -m http.server --bind 0.0.0.0 {port}"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._listening.wait(timeout) or self.pid is None:
            self.stop()
            raise AssertionError(f"http.server on {node}:{port} did not listen within {timeout}s: {self.lines}")

    def _read(self):
        # Reads to the end, so that the server's request log never fills the pipe.
        for line in self.process.stdout:
            line = line.strip()
            self.lines.append(line)
            if self.pid is None and line.isdigit():
                self.pid = int(line)
            if line.startswith("Serving HTTP on"):
                self._listening.set()
        self._listening.set()  # it ended: __init__ stops waiting and reports what it said

    def stop(self):
        if self.pid is not None:
            self.testbed.exec(self.node, "kill", str(self.pid), check=False)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        self._reader.join(timeout=30)


def _playbook(inventory_dir: Path, playbook: str):
    subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory_dir), str(ROOT / "testbed" / "playbooks" / playbook)],
                   cwd=ROOT, env={**_env(), "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"},
                   check=True, capture_output=True, text=True, timeout=600)


def _leftovers(inventory: Inventory) -> bool:
    """Whether anything create.yml makes for this inventory exists (an interrupted session): exact names only."""
    names = [inventory.host(node)["ansible_host"] for node in (HEAD, WORKER)]
    found = [subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60).stdout.strip()
             for argv in [["docker", "ps", "-aq", *[f"--filter=name=^/{name}$" for name in names]],
                          ["docker", "volume", "ls", "-q", *[f"--filter=name=^{name}-docker$" for name in names]],
                          ["docker", "network", "ls", "-q", f"--filter=name=^{inventory.all_vars['testbed_network']}$"]]]
    return any(found)


@pytest.fixture(scope="session")
def testbed(tmp_path_factory):
    if not IMAGES_VARS.exists():
        raise AssertionError(f"{IMAGES_VARS} is missing: run `make images` first")
    inventory = Inventory()
    base = inventory.write(tmp_path_factory.mktemp("testbed"))
    if _leftovers(inventory):
        _playbook(base, "destroy.yml")
    try:
        _playbook(base, "create.yml")
        yield Testbed(tmp_path_factory.mktemp("runs"))
    finally:
        # The nodes are thrown away: killed, so that removing them does not wait for systemd to stop their
        # Docker engine and Ray, and removed with their volumes both at once (exact names only); destroy.yml
        # then removes the network and anything else it made.
        names = [inventory.host(node)["ansible_host"] for node in (HEAD, WORKER)]
        subprocess.run(["docker", "kill", *names], capture_output=True, text=True, check=False, timeout=120)
        removals = [subprocess.Popen(["sh", "-c", 'docker rm -f "$1" && docker volume rm "$1-docker"', "sh", name],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for name in names]
        for removal in removals:
            removal.wait(timeout=600)
        _playbook(base, "destroy.yml")


def named_host(message: str):
    """The host a message names ("... on HOST ...", "the head HOST"), or None."""
    match = re.search(r"\bon (server\d+)\b", message) or re.search(r"\bhead (server\d+)\b", message)
    return match.group(1) if match else None


def assert_refused(run: Run, host, message: str, before_connection: bool = False, only: bool = False):
    """The run failed in the preflight play, changed nothing anywhere, and reported `message` for `host`.

    The problem's host is the one its whole message names (or the inventory as a whole); host=None when the
    expected text is a fragment that names none. before_connection: it stopped at the inventory check,
    before any node was contacted. only: `message` was the run's one problem."""
    message = normalised(message)
    assert run.rc != 0, run
    assert run.plays == [PREFLIGHT_PLAY], run
    assert set(run.changed().values()) == {0}, run
    found = [(problem_host, text) for problem_host, text in run.problems() if message in text
             and (host is None or problem_host == host)
             and (problem_host == "the inventory" or named_host(text) == problem_host)]
    assert found, (host, message, run.problems(), run)
    assert any(message in failure[3] for failure in run.failures() if failure[0] == PREFLIGHT_PLAY), run
    if before_connection:
        assert any(task.endswith(INVENTORY_TASK) for _, task, _, _ in run.failures()), run
        assert not [task for task in run.tasks() if task.endswith(NODE_FACTS_TASK)], run
    if only:
        assert len(run.problems()) == 1, run.problems()
