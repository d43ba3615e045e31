"""The preflight suite's test bed and helpers.

Two "server" containers (testbed/playbooks/create.yml with this directory's inventory, network
wizardsofts-ray-preflight, 198.18.88.0/24) are created once per session and destroyed at its end.
Each test writes a deliberately broken copy of the inventory, runs the real `ansible-playbook site.yml`
against the nodes, and compares a snapshot of every node taken before and after the run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
BASE_INVENTORY = HERE / "inventory"
IMAGES_VARS = ROOT / ".cache" / "testbed_images.yml"
BIN = ROOT / ".venv" / "bin"

# What "nothing changed" means on a node: its packages, its containers (and when they started),
# its firewall, and the directories the roles create.
SNAPSHOT_SCRIPT = r"""
dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\n'
if command -v docker >/dev/null; then
  docker ps -a --no-trunc --format '{{.ID}} {{.Names}} {{.Image}} {{.CreatedAt}}'
  ids=$(docker ps -aq --no-trunc)
  [ -z "$ids" ] || docker inspect -f '{{.Name}} {{.State.Status}} {{.State.StartedAt}} {{.RestartCount}}' $ids
  docker images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}'
fi
if command -v ufw >/dev/null; then ufw status verbose; fi
for path in /etc/docker /var/lib/ray /home/ray-data /var/tmp/wizardsofts-ray-image.tar; do
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


class Inventory:
    """A copy of the preflight inventory as data, written out to a directory for one run."""

    def __init__(self):
        self.hosts = yaml.safe_load((BASE_INVENTORY / "hosts.yml").read_text())
        self.group_vars = yaml.safe_load((BASE_INVENTORY / "group_vars" / "ray_cluster.yml").read_text())
        self.all_vars = yaml.safe_load((BASE_INVENTORY / "group_vars" / "all" / "preflight.yml").read_text())
        self.all_vars.update(yaml.safe_load(IMAGES_VARS.read_text()))

    @property
    def groups(self):
        return self.hosts["ray_cluster"]["children"]

    def host(self, name):
        for group in self.groups.values():
            if name in (group.get("hosts") or {}):
                return group["hosts"][name]
        raise KeyError(name)

    def move(self, name, group):
        """Move host `name` into `group` (ray_head or ray_workers)."""
        settings = self.host(name)
        for members in self.groups.values():
            (members.get("hosts") or {}).pop(name, None)
        self.groups.setdefault(group, {}).setdefault("hosts", {})[name] = settings

    def write(self, directory: Path) -> Path:
        (directory / "group_vars" / "all").mkdir(parents=True, exist_ok=True)
        (directory / "hosts.yml").write_text(yaml.safe_dump(self.hosts, sort_keys=False))
        (directory / "group_vars" / "ray_cluster.yml").write_text(yaml.safe_dump(self.group_vars, sort_keys=False))
        (directory / "group_vars" / "all" / "testbed.yml").write_text(yaml.safe_dump(self.all_vars, sort_keys=False))
        return directory


class Run:
    """The outcome of one ansible-playbook run, read from the ansible.posix.json callback."""

    def __init__(self, completed: subprocess.CompletedProcess):
        self.rc = completed.returncode
        self.stderr = completed.stderr
        try:
            self.data = json.loads(completed.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"no JSON from ansible-playbook (rc {self.rc}):\n{completed.stdout}\n{completed.stderr}")

    @property
    def plays(self):
        return [play["play"]["name"] for play in self.data["plays"]]

    def results(self):
        for play in self.data["plays"]:
            for task in play["tasks"]:
                for host, result in task["hosts"].items():
                    yield play["play"]["name"], task["task"]["name"], host, result

    def failures(self):
        """(play, task, host, message) of every failed or unreachable result."""
        return [(play, task, host, " ".join(str(result.get("msg", "")).split()))
                for play, task, host, result in self.results()
                if result.get("failed") or result.get("unreachable")]

    def changed(self):
        return {host: stats["changed"] for host, stats in self.data["stats"].items()}

    def debug_messages(self):
        return [" ".join(str(result.get("msg", "")).split()) for _, _, _, result in self.results()
                if "msg" in result and not result.get("failed")]

    def __repr__(self):
        return f"Run(rc={self.rc}, plays={self.plays}, failures={self.failures()})"


class Testbed:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.count = 0
        self.nodes = {name: Inventory().host(name)["ansible_host"] for name in ("server84", "server80")}

    def inventory(self) -> Inventory:
        inventory = Inventory()
        # Each run writes its inventory to a new directory; the token file (by default next to the
        # inventory) must stay the same across runs, as it does for a user's one inventory.
        inventory.all_vars["ray_cluster_auth_token_file"] = str(self.tmp / "ray_auth_token")
        return inventory

    def run(self, inventory: Inventory, playbook: str = "site.yml", *options: str) -> Run:
        self.count += 1
        directory = inventory.write(self.tmp / f"inventory-{self.count}")
        completed = subprocess.run(
            [str(BIN / "ansible-playbook"), "-i", str(directory), str(ROOT / playbook), *options],
            cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=1800, check=False,
        )
        return Run(completed)

    def exec(self, node: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", "exec", self.nodes[node], *argv],
                              capture_output=True, text=True, timeout=120, check=check)

    def snapshot(self) -> dict:
        return {node: self.exec(node, "sh", "-c", SNAPSHOT_SCRIPT).stdout for node in self.nodes}


def _playbook(inventory_dir: Path, playbook: str):
    subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory_dir), str(ROOT / "testbed" / "playbooks" / playbook)],
                   cwd=ROOT, env={**_env(), "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"},
                   check=True, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def testbed(tmp_path_factory):
    if not IMAGES_VARS.exists():
        raise AssertionError(f"{IMAGES_VARS} is missing: run `make images` first")
    base = Inventory().write(tmp_path_factory.mktemp("testbed"))
    _playbook(base, "destroy.yml")  # leftovers of an interrupted session
    _playbook(base, "create.yml")
    try:
        yield Testbed(tmp_path_factory.mktemp("runs"))
    finally:
        _playbook(base, "destroy.yml")


def assert_refused(testbed: Testbed, run: Run, before: dict, host: str, pattern: str):
    """The run failed in preflight on `host` with a message matching `pattern`, and changed nothing."""
    assert run.rc != 0, run
    assert run.plays == ["Preflight - check the inventory and every node before anything changes"], run
    messages = [message for _, _, failed_host, message in run.failures() if failed_host == host]
    assert any(re.search(pattern, message) for message in messages), (pattern, run)
    assert set(run.changed().values()) == {0}, run.changed()
    assert testbed.snapshot() == before
