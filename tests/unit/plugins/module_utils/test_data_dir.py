# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_data_dir: which paths may be Ray's data directory, which sessions go, what a teardown removes. Tables."""

from __future__ import annotations

import pytest

from ansible_collections.wizardsofts.ray.plugins.module_utils import _data_dir

S1 = "session_2026-11-30_08-00-00_000001_17"
S2 = "session_2026-11-30_09-15-42_123456_8"
S3 = "session_2026-12-01_00-00-00_999999_1"
S4 = "session_2026-12-01_00-00-00_999999_20"   # same instant, higher PID: newer
S5 = "session_2026-12-02_04-30-00_500000_3"


@pytest.mark.parametrize(("path", "why"), [
    ("/", "is the root directory, which holds other directories than Ray's"),
    ("/home", "is /home, which holds other directories than Ray's"),
    ("/home/", "is /home, which holds other directories than Ray's"),
    ("//var//lib/", "is /var/lib, which holds other directories than Ray's"),
    ("/opt", "is /opt, which holds other directories than Ray's"),
    ("/data", "is /data, which holds other directories than Ray's"),
    ("/etc", "lies in /etc, a system directory"),
    ("/etc/ray", "lies in /etc, a system directory"),
    ("/usr/local/ray", "lies in /usr, a system directory"),
    ("/tmp/ray", "lies in /tmp, a system directory"),
    ("/var/lib/docker/volumes/ray", "lies in /var/lib/docker, a system directory"),
    ("/proc/1", "lies in /proc, a system directory"),
    ("/root/ray", "lies in /root, a system directory"),
    ("/run/ray", "lies in /run, a system directory"),
    ("/var/log/ray", "lies in /var/log, a system directory"),
    ("ray-data", "is not an absolute path without . or .. parts"),
    ("", "is not an absolute path without . or .. parts"),
    ("/data/ray/../../etc", "is not an absolute path without . or .. parts"),
    ("/data/./ray", "is not an absolute path without . or .. parts"),
    # Accepted: directories of Ray's own.
    ("/var/lib/ray", None),
    ("/var/lib/ray/", None),
    ("/home/ray-data", None),
    ("/data/ray", None),
    ("/opt/ray", None),
    ("/srv/ray", None),
    ("/etcetera/ray", None),      # not /etc: whole path components only
    ("/variable", None),
])
def test_path_problem(path, why):
    assert _data_dir.path_problem(path) == why


@pytest.mark.parametrize(("facts", "marked", "why"), [
    (None, False, None),
    ({"exists": False, "is_dir": False, "entries": None, "names": None}, False, None),
    ({"exists": True, "is_dir": True, "entries": 0, "names": []}, False, None),
    ({"exists": True, "is_dir": True, "entries": 2, "names": ["secrets", "session"]}, False, None),
    ({"exists": True, "is_dir": True, "entries": 3, "names": [".wizardsofts-ray", "secrets", "session"]}, False, None),
    ({"exists": True, "is_dir": True, "entries": 4, "names": ["a", "secrets", "session", "x"]}, True, None),
    ({"exists": True, "is_dir": True, "entries": 900, "names": ["a"] * 20}, True, None),
    ({"exists": True, "is_dir": False, "entries": None, "names": None}, True,
     "exists on the node and is not a directory"),
    ({"exists": True, "is_dir": True, "entries": None, "names": None}, False,
     "cannot be listed, so it cannot be told whether it holds other files than Ray's"),
    ({"exists": True, "is_dir": True, "entries": 3, "names": ["lost+found", "secrets", "session"]}, False,
     "is not empty (3 entries: lost+found) and was not created by this collection (it has no .wizardsofts-ray file), "
     "so it may hold someone else's files"),
    ({"exists": True, "is_dir": True, "entries": 7, "names": ["a", "b", "c", "d", "e", "f", "g"]}, False,
     "is not empty (7 entries: a, b, c, d, e, ...) and was not created by this collection (it has no "
     ".wizardsofts-ray file), so it may hold someone else's files"),
    # Only Ray's names among the first 20, but more entries than were named: it cannot be Ray's alone.
    ({"exists": True, "is_dir": True, "entries": 21, "names": ["secrets", "session"]}, False,
     "is not empty (21 entries: ...) and was not created by this collection (it has no .wizardsofts-ray file), "
     "so it may hold someone else's files"),
])
def test_existing_problem(facts, marked, why):
    assert _data_dir.existing_problem(facts, marked) == why


@pytest.mark.parametrize(("names", "latest", "keep", "pruned"), [
    ([], None, 5, []),
    ([S1, S2, S3], S3, 5, []),
    ([S1, S2, S3, S4, S5], S5, 2, [S1, S2, S3]),
    # Sorted by time then PID, not by the order the directory lists them.
    ([S5, S3, S1, S4, S2], S5, 2, [S1, S2, S3]),
    ([S3, S4], S4, 1, [S3]),
    # The running session is kept even when it is not among the newest (a clock set back).
    ([S1, S2, S3, S4, S5], S1, 2, [S2, S3]),
    # Nothing but Ray's own session names: the link, Ray's other files and anything else stay.
    ([S1, S2, "session_latest", "ray_current_cluster", "session_2026-12-01", "session_x_y", "logs"], S2, 1, [S1]),
    # A link that points nowhere known keeps nothing extra.
    ([S1, S2, S3], None, 1, [S1, S2]),
])
def test_sessions_to_prune(names, latest, keep, pruned):
    assert _data_dir.sessions_to_prune(names, latest, keep) == pruned


def test_at_least_one_session_is_kept():
    with pytest.raises(ValueError, match="keep must be 1 or more, got 0"):
        _data_dir.sessions_to_prune([S1], S1, 0)


@pytest.mark.parametrize(("facts", "keep", "needed"), [
    (None, 5, False),
    ({"exists": False, "entries": None, "names": None}, 5, False),
    ({"exists": True, "entries": 4, "names": [S1, S2, "session_latest", "ray_current_cluster"]}, 2, False),
    ({"exists": True, "entries": 5, "names": [S1, S2, S3, "session_latest", "x"]}, 2, True),
    ({"exists": True, "entries": 30, "names": [S1] + ["x"] * 19}, 5, True),   # more than were named
    ({"exists": True, "entries": None, "names": None}, 5, True),               # could not be listed
])
def test_pruning_needed(facts, keep, needed):
    assert _data_dir.pruning_needed(facts, keep) is needed


@pytest.mark.parametrize(("names", "marked", "removed", "kept", "whole"), [
    ([".wizardsofts-ray", "secrets", "session"], True, ["session", "secrets", ".wizardsofts-ray"], [], True),
    (["session"], True, ["session"], [], True),
    # The operator's files stay, and so do the directory and its marker.
    ([".wizardsofts-ray", "notes.txt", "secrets", "session"], True, ["session", "secrets"], ["notes.txt"], False),
    # Not marked: nothing at all, even Ray's names.
    (["secrets", "session"], False, [], ["secrets", "session"], False),
    (["a.csv", "models"], False, [], ["a.csv", "models"], False),
    ([], False, [], [], False),
])
def test_removal(names, marked, removed, kept, whole):
    assert _data_dir.removal(names, marked) == (removed, kept, whole)


def test_the_marker_says_who_when_and_what_it_means():
    text = _data_dir.marker_text("2026-12-02T04:30:00Z", "root on server84")
    assert text.startswith("Created by the Ansible collection wizardsofts.ray (ray_container) on 2026-12-02T04:30:00Z "
                           "as root on server84.\n")
    assert "It holds Ray's data: session, secrets." in text
    assert "removes only directories\nthat carry this file" in text
