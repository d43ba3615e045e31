"""Token rotation's decisions, one row per situation a run of rotate_token.yml can find: which token is current,
which is pending, which token each node's container runs, and what the run then does.

Nothing is faked: the functions are pure, the inputs are sha256 fingerprints of example tokens."""

from __future__ import annotations

import hashlib

import pytest

from ansible_collections.wizardsofts.ray.plugins.module_utils import _token_rotation as rotation

OLD = "O" * 48
NEW = "N" * 48
OTHER = "X" * 48
FILE = "/srv/inventory/.ray_auth_token"
PENDING = FILE + ".pending"


def sha(token):
    return hashlib.sha256(token.encode()).hexdigest() if token else None


def label(token):
    return rotation.auth_label(sha(token)) if token else None


def nodes(head, worker):
    """The token each node's container runs (None: no container)."""
    return {"server84": label(head), "server80": label(worker)}


# (id, current, pending, running on head and worker, rollback, unreachable,
#  expected: action, write_pending, deploy, promote, remove_pending, restart, changed, a phrase of msg)
CASES = [
    ("first rotation", OLD, None, (OLD, OLD), False, (),
     ("start", True, "pending", True, False, ["server80", "server84"], True, "A new token is written to " + PENDING)),
    ("first rotation of a cluster with a worker not deployed yet", OLD, None, (OLD, None), False, (),
     ("start", True, "pending", True, False, ["server80", "server84"], True, "deployed to every node")),
    ("interrupted before any node took the pending token: the same one is deployed", OLD, NEW, (OLD, OLD), False, (),
     ("resume", False, "pending", True, False, ["server80", "server84"], True, "(not a new one)")),
    ("interrupted after the head took it: only the worker is left", OLD, NEW, (NEW, OLD), False, (),
     ("resume", False, "pending", True, False, ["server80"], True, "it goes to server80")),
    ("interrupted after every node took it, before it became current", OLD, NEW, (NEW, NEW), False, (),
     ("resume", False, "pending", True, False, [], True, "every node runs it already")),
    ("interrupted after the current file was rewritten, before the pending file was removed", NEW, NEW, (NEW, NEW),
     False, (), ("finish", False, "current", False, True, [], True, "already holds the pending token")),
    ("the same, and asked to roll back: too late, the old token is gone", NEW, NEW, (NEW, NEW), True, (),
     ("finish", False, "current", False, True, [], True, "a rollback is no longer possible")),
    ("rollback after the head took the pending token", OLD, NEW, (NEW, OLD), True, (),
     ("rollback", False, "current", False, True, ["server84"], True, "the current token goes back to server84")),
    ("rollback before any node took it", OLD, NEW, (OLD, OLD), True, (),
     ("rollback", False, "current", False, True, [], True, "no node (none runs the pending one)")),
    ("rollback with no rotation under way", OLD, None, (OLD, OLD), True, (),
     ("nothing", False, None, False, False, [], False, "No rotation to roll back")),
    ("a node runs a token that is neither: it is restarted like any other", OLD, NEW, (NEW, OTHER), False, (),
     ("resume", False, "pending", True, False, ["server80"], True, "it goes to server80")),
]


@pytest.mark.parametrize("current, pending, running, rollback, unreachable, expected",
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_rotation_plan(current, pending, running, rollback, unreachable, expected):
    plan = rotation.rotation_plan(sha(current), sha(pending), nodes(*running), rollback=rollback,
                                  unreachable=unreachable, token_file=FILE)
    action, write_pending, deploy, promote, remove_pending, restart, changed, phrase = expected
    assert plan["problems"] == []
    assert (plan["action"], plan["write_pending"], plan["deploy"], plan["promote"], plan["remove_pending"],
            plan["restart"], plan["changed"]) == (action, write_pending, deploy, promote, remove_pending, restart, changed)
    assert phrase in plan["msg"], plan["msg"]
    assert OLD not in repr(plan) and NEW not in repr(plan)


PROBLEMS = [
    ("a worker that cannot be reached: nothing changes", OLD, None, False, ["server80"], None,
     "every node must take the new token, and server80 could not be reached. Nothing was changed."),
    ("no current token file", None, None, False, (), None, FILE + " does not exist: there is no current token"),
    ("a pending file that holds no token", OLD, "short", False, (), rotation.token_problem("short", PENDING),
     PENDING + " does not hold a usable token (at least 32 letters and digits; it holds 5 characters)"),
    ("an unreachable worker stops a resume too", OLD, NEW, False, ["server80"], None, "server80 could not be reached"),
    ("and a rollback", OLD, NEW, True, ["server80"], None, "server80 could not be reached"),
]


@pytest.mark.parametrize("current, pending, rollback, unreachable, pending_problem, message",
                         [case[1:] for case in PROBLEMS], ids=[case[0] for case in PROBLEMS])
def test_rotation_plan_refuses_before_any_change(current, pending, rollback, unreachable, pending_problem, message):
    plan = rotation.rotation_plan(sha(current), sha(pending), nodes(OLD, OLD), rollback=rollback,
                                  unreachable=unreachable, token_file=FILE, pending_problem=pending_problem)
    assert plan["action"] == "nothing" and plan["changed"] is False
    assert not (plan["write_pending"] or plan["promote"] or plan["remove_pending"] or plan["deploy"])
    assert any(message in problem for problem in plan["problems"]), plan["problems"]
    assert "short" not in repr(plan)


@pytest.mark.parametrize("token, problem", [
    (None, None),
    ("A1" * 24, None),
    ("a" * 32, None),
    ("a" * 31, "holds 31 characters"),
    ("", "holds 0 characters"),
    ("tok-with-dashes-" * 3, "holds 48 characters"),
    ("é" * 40, "holds 40 characters"),
])
def test_token_problem(token, problem):
    found = rotation.token_problem(token, PENDING)
    if problem is None:
        assert found is None
    else:
        assert problem in found and PENDING in found and (not token or token not in found)


# (id, decision, deployed token, running on head and worker, nodes not read after the deploy, a phrase or None)
COMPLETION = [
    ("every node runs the new token: it becomes current", "start", NEW, (NEW, NEW), (), None),
    ("a worker still on the old token: the pending token is kept", "start", NEW, (NEW, OLD), (),
     "not every node runs the new token (server80), so it does not become current: " + PENDING + " is kept"),
    ("a worker that failed in the deploy and was not read", "resume", NEW, (NEW, NEW), ("server80",),
     "not every node runs the new token (server80)"),
    ("rolled back everywhere: the pending file goes", "rollback", OLD, (OLD, OLD), (), None),
    ("rolled back but a node still runs the pending token: it is kept", "rollback", OLD, (OLD, NEW), (),
     "not every node runs the current token again (server80), so " + PENDING + " is kept"),
    ("finished everywhere", "finish", NEW, (NEW, NEW), (), None),
    ("nothing to do is always done", "nothing", None, (OLD, OLD), (), None),
]


@pytest.mark.parametrize("action, deployed, running, missing, phrase", [case[1:] for case in COMPLETION],
                         ids=[case[0] for case in COMPLETION])
def test_completion_problems(action, deployed, running, missing, phrase):
    current, pending = {"start": (OLD, None), "resume": (OLD, NEW), "rollback": (OLD, NEW), "finish": (NEW, NEW),
                        "nothing": (OLD, None)}[action]
    decision = rotation.rotation_plan(sha(current), sha(pending), nodes(OLD, OLD), rollback=action in ("rollback", "nothing"),
                                      token_file=FILE)
    assert decision["action"] == action
    running_nodes = dict((host, value) for host, value in nodes(*running).items() if host not in missing)
    problems = rotation.completion_problems(decision, sha(deployed), running_nodes, missing=missing, token_file=FILE)
    if phrase is None:
        assert problems == []
    else:
        assert len(problems) == 1 and phrase in problems[0], problems
        assert "rotate_token.yml" in problems[0]


def test_the_label_is_the_one_the_container_plan_writes():
    from ansible_collections.wizardsofts.ray.plugins.module_utils import _cluster_model as model

    assert rotation.auth_label(model.token_fingerprint(NEW)) == "token-sha256:" + sha(NEW)[:16]
    assert rotation.runs(rotation.auth_label(sha(NEW)), sha(NEW))
    assert not rotation.runs(rotation.auth_label(sha(NEW)), sha(OLD))
    assert not rotation.runs(None, sha(NEW)) and not rotation.runs("disabled", sha(NEW))


def test_the_roles_pending_file_is_the_one_the_decisions_name():
    """The role stats and writes the pending file; the messages name it: one suffix, checked here."""
    import pathlib

    import yaml

    role_vars = yaml.safe_load((pathlib.Path(__file__).resolve().parents[4] / "roles/ray_cluster/vars/main.yml").read_text())
    assert role_vars["_ray_cluster_pending_token_file"] == "{{ ray_cluster_auth_token_file }}" + rotation.PENDING_SUFFIX
