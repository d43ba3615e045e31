# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ray_data against real directories in a temp dir: pruning Ray's sessions, and removing only what is ours."""

from __future__ import annotations

import os

import pytest

from ansible_collections.wizardsofts.ray.plugins.modules import ray_data

# Ray's names, as a restarted container leaves them (oldest first).
SESSIONS = ["session_2026-12-0%d_10-00-00_00000%d_1" % (day, day) for day in range(1, 9)]


def ray_data_dir(tmp_path, sessions=SESSIONS, latest=SESSIONS[-1], marked=True):
    """A data directory as ray_container and Ray leave it: marker, secrets, session/ with sessions and Ray's files."""
    base = tmp_path / "ray"
    root = base / "session"
    root.mkdir(parents=True)
    (base / "secrets").mkdir()
    (base / "secrets" / "auth_token").write_text("t" * 40)
    if marked:
        (base / ".wizardsofts-ray").write_text("Created by the Ansible collection wizardsofts.ray\n")
    for name in sessions:
        (root / name / "logs").mkdir(parents=True)
        (root / name / "logs" / "raylet.out").write_text("log\n")
    if latest:
        # As Ray writes it: the path the container sees.
        os.symlink("/tmp/ray/" + latest, str(root / "session_latest"))
    (root / "ray_current_cluster").write_text("10.0.0.84:6379\n")
    return base


def sessions_in(base):
    return sorted(name for name in os.listdir(str(base / "session")) if name.startswith("session_2"))


def test_old_sessions_are_pruned_once_and_the_newest_kept(run_module, tmp_path):
    base = ray_data_dir(tmp_path)

    result = run_module(ray_data, dict(path=str(base), sessions_keep=3))
    again = run_module(ray_data, dict(path=str(base), sessions_keep=3))

    assert result["changed"] is True
    assert result["removed"] == [str(base / "session" / name) for name in SESSIONS[:5]]
    assert result["kept"] == SESSIONS[5:]
    assert result["msg"] == "%s: 5 old Ray session(s) removed, 3 kept (the 3 newest and the running one)" % base
    assert sessions_in(base) == SESSIONS[5:]
    # Ray's other files, the link, the secrets and the marker stay.
    assert sorted(os.listdir(str(base / "session"))) == sorted(SESSIONS[5:] + ["ray_current_cluster", "session_latest"])
    assert (base / "secrets" / "auth_token").exists() and (base / ".wizardsofts-ray").exists()
    assert again["changed"] is False and again["removed"] == []
    assert again["msg"] == "%s: 3 Ray session(s), none to remove" % base


def test_the_running_session_is_kept_even_when_it_is_old(run_module, tmp_path):
    base = ray_data_dir(tmp_path, latest=SESSIONS[0])

    result = run_module(ray_data, dict(path=str(base), sessions_keep=2))

    assert sessions_in(base) == [SESSIONS[0]] + SESSIONS[-2:]
    assert result["kept"] == [SESSIONS[0]] + SESSIONS[-2:]


def test_check_mode_says_what_would_go_and_removes_nothing(run_module, tmp_path):
    base = ray_data_dir(tmp_path)

    result = run_module(ray_data, dict(path=str(base), sessions_keep=5, _ansible_diff=True), check_mode=True)

    assert result["changed"] is True
    assert result["removed"] == [str(base / "session" / name) for name in SESSIONS[:3]]
    assert "would be removed" in result["msg"]
    assert sessions_in(base) == SESSIONS
    assert result["diff"]["before"] == "".join(name + "\n" for name in SESSIONS)
    assert result["diff"]["after"] == "".join(name + "\n" for name in SESSIONS[3:])


@pytest.mark.parametrize("layout", ["unmarked", "missing", "no sessions yet"])
def test_nothing_is_pruned_where_there_is_nothing_of_ours(run_module, tmp_path, layout):
    if layout == "missing":
        base = tmp_path / "absent"
    elif layout == "unmarked":
        base = ray_data_dir(tmp_path, marked=False)
    else:
        base = tmp_path / "ray"
        base.mkdir()
        (base / ".wizardsofts-ray").write_text("x\n")

    result = run_module(ray_data, dict(path=str(base), sessions_keep=1))

    assert result["changed"] is False and result["removed"] == []
    assert result["marked"] is (layout == "no sessions yet")
    if layout == "unmarked":
        assert sessions_in(base) == SESSIONS
        assert result["msg"] == ("%s carries no .wizardsofts-ray file: no session pruned (only a directory the "
                                 "collection made is touched)" % base)


def test_teardown_removes_a_directory_the_collection_made(run_module, tmp_path):
    base = ray_data_dir(tmp_path)

    checked = run_module(ray_data, dict(path=str(base), state="absent"), check_mode=True)
    assert checked["changed"] is True and base.exists()

    result = run_module(ray_data, dict(path=str(base), state="absent"))
    again = run_module(ray_data, dict(path=str(base), state="absent"))

    assert result["changed"] is True and result["marked"] is True
    assert result["removed"] == [str(base / name) for name in ("session", "secrets", ".wizardsofts-ray")] + [str(base)]
    assert result["removed"] == checked["removed"]
    assert not base.exists() and tmp_path.exists()
    assert again["changed"] is False and again["msg"] == "%s does not exist: nothing to remove" % base


def test_teardown_keeps_what_else_is_in_a_directory_the_collection_made(run_module, tmp_path):
    base = ray_data_dir(tmp_path)
    (base / "notes.txt").write_text("mine\n")

    result = run_module(ray_data, dict(path=str(base), state="absent"))

    assert result["changed"] is True and result["kept"] == ["notes.txt"]
    assert sorted(os.listdir(str(base))) == [".wizardsofts-ray", "notes.txt"]
    assert result["msg"] == "%s: Ray's data removed; kept with what else is in it: notes.txt" % base


def test_teardown_never_removes_a_directory_the_collection_did_not_make(run_module, tmp_path):
    base = ray_data_dir(tmp_path, marked=False)
    (base / "a.csv").write_text("someone's data\n")
    before = sorted(os.listdir(str(base)))

    result = run_module(ray_data, dict(path=str(base), state="absent"))

    assert result["changed"] is False and result["removed"] == [] and result["marked"] is False
    assert sorted(os.listdir(str(base))) == before and sessions_in(base) == SESSIONS
    assert result["kept"] == before
    assert "left alone: it carries no .wizardsofts-ray file" in result["msg"]


@pytest.mark.parametrize(("path", "why"), [
    ("/", "is the root directory, which holds other directories than Ray's"),
    ("/var/lib", "is /var/lib, which holds other directories than Ray's"),
])
def test_teardown_leaves_directories_of_everyone_alone(run_module, path, why):
    result = run_module(ray_data, dict(path=path, state="absent"), check_mode=True)

    assert result["changed"] is False and result["removed"] == []
    assert result["msg"] == "%s %s: left alone" % (path, why)


@pytest.mark.parametrize(("args", "message"), [
    (dict(path="ray-data"), "path must be absolute, got ray-data"),
    (dict(path="/var/lib/ray", sessions_keep=0), "sessions_keep must be 1 or more (the running session is always kept), got 0"),
])
def test_bad_options(run_module, args, message):
    result = run_module(ray_data, args)
    assert result["failed"] is True and result["msg"] == message
