# -*- coding: utf-8 -*-
# Copyright: WizardSofts
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja test ``size``: is the value a size that the ``size_to_bytes`` filter accepts?"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.wizardsofts.ray.plugins.filter.size_to_bytes import size_to_bytes

DOCUMENTATION = r"""
name: size
short_description: Is the value a size such as C(16GiB), C(2.3GB) or a byte count?
version_added: 0.1.0
author: WizardSofts ML platform team
description:
  - True exactly when P(wizardsofts.ray.size_to_bytes#filter) accepts the value, so a check can fail with its own
    message (the variable, the value, the host, the fix) instead of the filter's error.
  - Same grammar as the filter; false for C(lots), C(-1), C(16 gigs), booleans and empty strings.
options:
  _input:
    description: The value to test.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Refuse a size in a wrong format
  ansible.builtin.assert:
    that: ray_worker_memory is wizardsofts.ray.size
    fail_msg: "ray_worker_memory={{ ray_worker_memory }} is not a size; use bytes or 16GB / 16GiB"
"""

RETURN = r"""
_value:
  description: Whether the value is a size.
  type: bool
"""


def size(value):
    """True when size_to_bytes accepts value."""
    try:
        size_to_bytes(value)
    except AnsibleFilterError:
        return False
    return True


class TestModule:
    """Size tests of wizardsofts.ray."""

    def tests(self):
        return {"size": size}
