# -*- coding: utf-8 -*-
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``token_rotation_done``: whether rotate_token.yml may finish what token_rotation decided."""

from __future__ import annotations

from ansible_collections.wizardsofts.ray.plugins.filter.token_rotation import node_labels, sha
from ansible_collections.wizardsofts.ray.plugins.module_utils import _token_rotation as rotation

DOCUMENTATION = r"""
name: token_rotation_done
short_description: Say whether rotate_token.yml may make the pending token current, or drop it
version_added: 0.2.0
author: WizardSofts ML platform team
description:
  - Input is the decision of the C(wizardsofts.ray.token_rotation) filter. After the deploy, each node's freshly read
    C(_ray_cluster_node_facts) must show its Ray container running the token just deployed (label
    C(io.wizardsofts.ray.auth)); a node that does not, or that was not read, is a problem.
  - With a problem the pending token is kept, so a rerun completes (or rolls back) the same rotation.
  - The token is hashed here; the result holds no token.
options:
  _input:
    description: The decision of C(token_rotation).
    type: dict
    required: true
  hostvars:
    description: C(hostvars), for each node's C(_ray_cluster_node_facts).
    type: raw
    required: true
  plan:
    description: The cluster plan, C(_ray_cluster_plan.plan).
    type: dict
    required: true
  deployed:
    description: The content of the token just deployed (the pending or the current one).
    type: str
  seen:
    description: The hosts whose node facts were read after the deploy (C(ansible_play_hosts)).
    type: list
    elements: str
  token_file:
    description: The current token file's path (C(ray_cluster_auth_token_file)), for messages.
    type: str
    default: the token file
"""

EXAMPLES = r"""
- name: Check that every node runs the deployed token
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join(' ') }}"
  vars:
    _problems: >-
      {{ _rotation | wizardsofts.ray.token_rotation_done(hostvars, _ray_cluster_plan.plan,
           deployed=_deployed_token, seen=ansible_play_hosts) }}
"""

RETURN = r"""
_value:
  description: Why the run may not finish; empty when it may.
  type: list
  elements: str
"""


def token_rotation_done(rotation_decision, hostvars, plan, deployed=None, seen=(), token_file="the token file"):
    """Problems that keep the run from finishing the decision (see completion_problems); empty when it may."""
    seen = list(seen)
    missing = [host for host in plan["nodes"] if host not in seen]
    return rotation.completion_problems(rotation_decision, sha(deployed), node_labels(plan, hostvars, seen),
                                        missing=missing, token_file=token_file)


class FilterModule:
    """Token rotation filters of wizardsofts.ray."""

    def filters(self):
        return {"token_rotation_done": token_rotation_done}
