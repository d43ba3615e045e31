# -*- coding: utf-8 -*-
# Copyright: WizardSofts
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``size_to_bytes``: human sizes (``16GiB``, ``2.3GB``, ``512m``) to an exact byte count."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.wizardsofts.ray.plugins.module_utils._sizes import SizeError, parse_size

DOCUMENTATION = r"""
name: size_to_bytes
short_description: Turn a human size such as C(16GiB) or C(2.3GB) into bytes
version_added: 0.1.0
author: WizardSofts ML platform team
description:
  - Accepts an integer byte count, a string of digits, or a number with a unit.
  - Decimal units are powers of 1000 (C(kB), C(MB), C(GB), C(TB)), as Ray's own docs and the seed
    deployment use them (C(2.3GB) is 2,300,000,000 bytes).
  - Binary units are powers of 1024 (C(KiB), C(MiB), C(GiB), C(TiB)).
  - Docker-style single letters (C(k), C(m), C(g), C(t), any case) are binary, as C(docker run --shm-size) reads them.
  - Fails with a message naming the value for anything else (negative numbers, unknown units, empty strings).
options:
  _input:
    description: The size.
    type: raw
    required: true
  name:
    description: The variable's name, used in the error message.
    type: str
    default: size
"""

EXAMPLES = r"""
- name: Object store size in bytes for ray start
  ansible.builtin.debug:
    msg: "{{ '2.3GB' | wizardsofts.ray.size_to_bytes }}"  # 2300000000
"""

RETURN = r"""
_value:
  description: The size in bytes.
  type: int
"""


def size_to_bytes(value, name="size"):
    """Return ``value`` as an int number of bytes, or raise AnsibleFilterError saying why not."""
    try:
        return parse_size(value)
    except SizeError as exc:
        raise AnsibleFilterError("%s: %s" % (name, exc)) from exc


class FilterModule:
    """Size filters of wizardsofts.ray."""

    def filters(self):
        return {"size_to_bytes": size_to_bytes}
