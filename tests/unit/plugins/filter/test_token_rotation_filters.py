"""The token_rotation filters take their input from the plan and the node facts as the preflight registered them,
and never return a token."""

from __future__ import annotations

import hashlib

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.wizardsofts.ray.plugins.filter.token_rotation import token_rotation
from ansible_collections.wizardsofts.ray.plugins.filter.token_rotation_done import token_rotation_done

OLD = "O" * 48
NEW = "N" * 48
FILE = "/srv/inventory/.ray_auth_token"
PLAN = {"nodes": {"server84": {"container": {"name": "ray-head"}}, "server80": {"container": {"name": "ray-worker"}}},
        "unreachable": []}


def facts(head_token, worker_token):
    """hostvars as node_facts left them: each node's container and its auth label (None: no container)."""
    def node(name, token):
        container = None
        if token:
            container = {"id": "c0ffee", "running": True,
                         "labels": {"io.wizardsofts.ray.auth": "token-sha256:" + hashlib.sha256(token.encode()).hexdigest()[:16]}}
        return {"_ray_cluster_node_facts": {"node": {"containers": {name: container}}}}
    return {"server84": node("ray-head", head_token), "server80": node("ray-worker", worker_token)}


@pytest.mark.parametrize("pending, running, action, restart", [
    (None, (OLD, OLD), "start", ["server80", "server84"]),
    ("", (OLD, OLD), "start", ["server80", "server84"]),
    (NEW, (NEW, OLD), "resume", ["server80"]),
    (NEW, (NEW, None), "resume", ["server80"]),
])
def test_token_rotation_reads_each_nodes_label(pending, running, action, restart):
    decision = token_rotation(PLAN, facts(*running), current=OLD, pending=pending, token_file=FILE)
    assert (decision["action"], decision["restart"], decision["problems"]) == (action, restart, [])
    assert OLD not in repr(decision) and NEW not in repr(decision)


def test_an_unreachable_node_of_the_plan_is_a_problem():
    plan = dict(PLAN, unreachable=["server80"])
    decision = token_rotation(plan, {"server84": facts(OLD, OLD)["server84"]}, current=OLD, token_file=FILE)
    assert decision["action"] == "nothing" and "server80 could not be reached" in decision["problems"][0]


def test_a_pending_file_without_a_token_is_a_problem():
    decision = token_rotation(PLAN, facts(OLD, OLD), current=OLD, pending="half-written", token_file=FILE)
    assert decision["action"] == "nothing"
    assert FILE + ".pending does not hold a usable token" in decision["problems"][0]
    assert "half-written" not in repr(decision)


def test_the_input_must_be_the_plan():
    with pytest.raises(AnsibleFilterError, match="must be the cluster plan"):
        token_rotation({"plan": PLAN}, facts(OLD, OLD), current=OLD)


@pytest.mark.parametrize("running, seen, done", [
    ((NEW, NEW), ["server84", "server80"], True),
    ((NEW, OLD), ["server84", "server80"], False),
    ((NEW, NEW), ["server84"], False),
])
def test_token_rotation_done_needs_every_node_on_the_deployed_token(running, seen, done):
    decision = token_rotation(PLAN, facts(OLD, OLD), current=OLD, token_file=FILE)
    problems = token_rotation_done(decision, facts(*running), PLAN, deployed=NEW, seen=seen, token_file=FILE)
    assert (problems == []) is done, problems
    if not done:
        assert "server80" in problems[0] and NEW not in problems[0]
