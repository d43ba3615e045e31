"""rotate_token.yml keeps the current token until every node runs the new one.

The new token waits in the pending file next to the current one; a check that can fail (here: a worker that cannot
be reached) stops the run before anything is written; check mode writes nothing; an interrupted rotation (its
pending file left behind) is completed with that same pending token, or rolled back. The cluster is left running,
with whatever token the last rotation made current (the token file says which)."""

import json
import os
import re
import stat

import pytest

from helpers import INVENTORY, NODES, node_exec, run_playbook

TOKEN_FILE = INVENTORY / ".ray_auth_token"
PENDING_FILE = INVENTORY / ".ray_auth_token.pending"
# What an interrupted run leaves: a pending token of the form rotate_token.yml writes (48 letters and digits).
LEFT_PENDING = "Pend1ng" * 6 + "Tok3n0"


def started_at():
    return {name: node_exec(node["container"], "docker inspect -f '{{.State.StartedAt}}' "
                            + ("ray-head" if name == "head" else "ray-worker")).strip()
            for name, node in NODES.items()}


def token():
    return TOKEN_FILE.read_text(encoding="utf-8").strip()


@pytest.fixture()
def no_pending():
    if PENDING_FILE.exists():
        PENDING_FILE.unlink()
    yield
    if PENDING_FILE.exists():
        PENDING_FILE.unlink()


@pytest.fixture()
def unreachable_worker(tmp_path):
    """An inventory over the scenario's in which server80 cannot be reached (its container name leads nowhere)."""
    extra = tmp_path / "unreachable.yml"
    extra.write_text(json.dumps({"ray_cluster": {"children": {"ray_workers": {"hosts": {"server80": {
        "ansible_host": "wizardsofts-ray-molecule-nowhere",
        # The host's inventory_dir would now be this one: keep the scenario's token file.
        "ray_cluster_auth_token_file": str(TOKEN_FILE)}}}}}}))
    return extra


def test_an_unreachable_worker_stops_the_rotation_before_anything_is_written(no_pending, unreachable_worker):
    before, running = token(), started_at()
    run = run_playbook("rotate_token.yml", "-i", str(unreachable_worker))
    assert run.returncode != 0
    assert "every node must take the new token, and server80 could not be reached. Nothing was changed." in run.stdout
    assert token() == before and not PENDING_FILE.exists()
    assert started_at() == running


def test_check_mode_writes_nothing_and_predicts_every_restart(no_pending):
    before, running = token(), started_at()
    run = run_playbook("rotate_token.yml", "--check")
    assert run.returncode == 0, run.stdout[-3000:]
    assert "Check mode, nothing is written: A new token is written to %s" % PENDING_FILE in run.stdout
    assert "deployed to every node (server80, server84)" in run.stdout
    assert token() == before and not PENDING_FILE.exists()
    assert started_at() == running
    assert re.search(r"server84\s*: ok=\d+\s+changed=[1-9]", run.stdout), run.stdout[-2000:]


def test_an_interrupted_rotation_is_completed_with_its_pending_token(no_pending):
    before = token()
    PENDING_FILE.write_text(LEFT_PENDING + "\n", encoding="utf-8")
    PENDING_FILE.chmod(0o600)
    run = run_playbook("rotate_token.yml")
    assert run.returncode == 0, run.stdout[-3000:]
    assert "Completing the interrupted rotation with the pending token of %s (not a new one)" % PENDING_FILE in run.stdout
    assert re.search(r"Ray [\d.]+ cluster: 2 ALIVE node\(s\)", run.stdout)
    assert token() == LEFT_PENDING != before and not PENDING_FILE.exists()
    assert stat.S_IMODE(os.stat(TOKEN_FILE).st_mode) == 0o600
    assert LEFT_PENDING not in run.stdout + run.stderr


def test_an_interrupted_rotation_is_rolled_back_on_request(no_pending):
    # The scenario's own settings first (a test before may have deployed others, TLS for one).
    deployed = run_playbook("site.yml")
    assert deployed.returncode == 0, deployed.stdout[-3000:]
    before, running = token(), started_at()
    PENDING_FILE.write_text(LEFT_PENDING + "\n", encoding="utf-8")
    PENDING_FILE.chmod(0o600)
    run = run_playbook("rotate_token.yml", "-e", '{"ray_cluster_rotate_token_rollback": true}')
    assert run.returncode == 0, run.stdout[-3000:]
    assert "Rolling the interrupted rotation back" in run.stdout
    assert token() == before and not PENDING_FILE.exists()
    # No node had taken the pending token: none is restarted.
    assert started_at() == running
