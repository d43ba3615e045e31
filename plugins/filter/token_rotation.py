# -*- coding: utf-8 -*-
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``token_rotation``: what a run of rotate_token.yml does (token_rotation_done.py: whether it may finish).

The decisions are pure functions in plugins/module_utils/_token_rotation.py; these filters only take their input
from the cluster plan and the node facts, and hash the tokens (which never appear in what they return).
"""

from __future__ import annotations

import hashlib

from ansible.errors import AnsibleFilterError

from ansible_collections.wizardsofts.ray.plugins.module_utils import _token_rotation as rotation

DOCUMENTATION = r"""
name: token_rotation
short_description: Decide what a run of rotate_token.yml does with the current and the pending token
version_added: 0.2.0
author: WizardSofts ML platform team
description:
  - Input is the cluster plan (C(_ray_cluster_plan.plan)); the node facts each host registered in the preflight
    (C(_ray_cluster_node_facts)) say which token each node's container runs (its C(io.wizardsofts.ray.auth) label).
  - "Decides one action: C(start) (no pending token: write a new one, deploy it, make it current), C(resume) (a pending
    token from an interrupted run: deploy that same token, make it current), C(finish) (the current file already holds
    the pending token: deploy it where missing, remove the pending file), C(rollback) (O(rollback) with a pending
    token: deploy the current token again, remove the pending file) or C(nothing)."
  - Returns problems instead of an action when something would fail half-way (an unreachable node, no current token,
    a pending file that holds no token); then nothing may change.
  - The tokens are hashed here; the result holds no token.
options:
  _input:
    description: The cluster plan, C(_ray_cluster_plan.plan).
    type: dict
    required: true
  hostvars:
    description: C(hostvars), for each node's C(_ray_cluster_node_facts).
    type: raw
    required: true
  current:
    description: The content of the current token file; empty or null when it does not exist.
    type: str
  pending:
    description: The content of the pending token file; empty or null when there is none.
    type: str
  rollback:
    description: Roll an interrupted rotation back instead of completing it.
    type: bool
    default: false
  token_file:
    description: The current token file's path (C(ray_cluster_auth_token_file)), for messages.
    type: str
    default: the token file
"""

EXAMPLES = r"""
- name: Decide what this rotation does
  ansible.builtin.set_fact:
    _rotation: >-
      {{ _ray_cluster_plan.plan | wizardsofts.ray.token_rotation(hostvars,
           current=lookup('ansible.builtin.file', ray_cluster_auth_token_file),
           pending=_pending_token, rollback=false, token_file=ray_cluster_auth_token_file) }}
"""

RETURN = r"""
_value:
  description: The decision.
  type: dict
  contains:
    action:
      description: V(start), V(resume), V(finish), V(rollback) or V(nothing).
      type: str
    problems:
      description: Why nothing may change; empty when the action may go ahead.
      type: list
      elements: str
    write_pending:
      description: Whether a new pending token is written.
      type: bool
    deploy:
      description: Which token site.yml deploys, V(pending) or V(current); null with C(nothing).
      type: str
    promote:
      description: Whether the pending token becomes current once every node runs it.
      type: bool
    remove_pending:
      description: Whether the pending file is removed once every node runs the deployed token.
      type: bool
    restart:
      description: The nodes whose container the deploy restarts.
      type: list
      elements: str
    changed:
      description: Whether the run changes anything.
      type: bool
    msg:
      description: What the run does, in a sentence, or its problems.
      type: str
"""


def sha(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest() if token else None


def node_labels(plan, hostvars, hosts=None):
    """{host: the auth label of its Ray container, as node_facts read it}."""
    labels = {}
    for host, node in plan["nodes"].items():
        if host in (plan.get("unreachable") or []) or (hosts is not None and host not in hosts):
            continue
        facts = (hostvars[host].get("_ray_cluster_node_facts") or {}).get("node") or {}
        container = (facts.get("containers") or {}).get(node["container"]["name"]) or {}
        labels[host] = (container.get("labels") or {}).get(rotation.AUTH_LABEL)
    return labels


def token_rotation(plan, hostvars, current=None, pending=None, rollback=False, token_file="the token file"):
    """The decision of rotation_plan for this cluster."""
    if not isinstance(plan, dict) or "nodes" not in plan:
        raise AnsibleFilterError("token_rotation: the input must be the cluster plan (_ray_cluster_plan.plan)")
    pending = pending or None
    return rotation.rotation_plan(
        sha(current), sha(pending), node_labels(plan, hostvars), rollback=bool(rollback),
        unreachable=plan.get("unreachable") or [], token_file=token_file,
        pending_problem=rotation.token_problem(pending, token_file + rotation.PENDING_SUFFIX))


class FilterModule:
    """Token rotation filters of wizardsofts.ray."""

    def filters(self):
        return {"token_rotation": token_rotation}
