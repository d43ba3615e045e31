"""Playbook runs from the scenarios' tests, as a user runs them: ansible-playbook from the project directory with
its ansible.cfg, no colour; and what the recap says each host changed."""

import os
import re
import subprocess
import time

RECAP = re.compile(r"^(?P<host>\S+)\s+: ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=\d+\s+failed=(?P<failed>\d+)", re.M)


def run_playbook(project_dir, inventories, label, playbook, *args):
    """ansible-playbook PLAYBOOK ARGS with the given inventories; prints how long it took, under `label`."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(project_dir / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    command = ["ansible-playbook"] + [f"--inventory={inventory}" for inventory in inventories] + [playbook, *args]
    start = time.monotonic()
    run = subprocess.run(command, cwd=project_dir, env=env, capture_output=True, text=True, timeout=1500)
    print(f"\n[{label}] {playbook} {' '.join(args)}: exit {run.returncode} after {time.monotonic() - start:.0f} s")
    return run


def changed_per_host(output):
    return {m["host"]: int(m["changed"]) for m in RECAP.finditer(output)}
