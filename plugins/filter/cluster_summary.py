# -*- coding: utf-8 -*-
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``cluster_summary``: the deploy summary's table of nodes (logic in module_utils/_summary.py)."""

from __future__ import annotations

from ansible_collections.wizardsofts.ray.plugins.module_utils._summary import summary

DOCUMENTATION = r"""
name: cluster_summary
short_description: The table of a Ray cluster's nodes, as the deploy summary prints it
version_added: 0.3.0
author: WizardSofts ML platform team
description:
  - Takes the result of M(wizardsofts.ray.cluster_info) and returns the totals line and a table with one row per
    node (host, IP, role, state, CPUs, GPUs with their accelerator type, memory, object store).
  - A node Ray lists several times (DEAD entries of its earlier incarnations, and the ALIVE one it rejoined as) is
    one row; its DEAD entries are counted in the column C(EARLIER), not listed. A node with no ALIVE entry is shown
    with its latest DEAD one.
  - Nodes with custom resources or labels of the operator's get a line each below the table (Ray's own
    C(ray.io/) labels and C(node:)/C(accelerator_type:) markers are left out).
options:
  _input:
    description: The registered result of M(wizardsofts.ray.cluster_info).
    type: dict
    required: true
  plan_nodes:
    description: The plan's nodes (C(_ray_cluster_plan.plan.nodes)), host to plan; names the rows by host.
    type: dict
    required: true
  ray_version:
    description: The Ray version to print when the result carries none.
    type: str
"""

EXAMPLES = r"""
- name: Print the nodes
  ansible.builtin.debug:
    msg: "{{ _ray_cluster_info | wizardsofts.ray.cluster_summary(_ray_cluster_plan.plan.nodes, ray_cluster_version) }}"
"""

RETURN = r"""
_value:
  description: The lines of the summary's node part, joined by newlines.
  type: str
"""


def cluster_summary(info, plan_nodes, ray_version=None):
    return summary(info, plan_nodes, ray_version)


class FilterModule:
    """Summary filters of wizardsofts.ray."""

    def filters(self):
        return {"cluster_summary": cluster_summary}
