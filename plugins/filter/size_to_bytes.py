# -*- coding: utf-8 -*-
# Copyright: WizardSofts
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``size_to_bytes``: human sizes (``16GiB``, ``2.3GB``, ``512m``) to an exact byte count."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from ansible.errors import AnsibleFilterError

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

_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
    "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40,
}
_SIZE = re.compile(r"^\s*(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[a-zA-Z]*)\s*$")


def size_to_bytes(value, name="size"):
    """Return ``value`` as an int number of bytes, or raise AnsibleFilterError saying why not."""
    if isinstance(value, bool):
        raise AnsibleFilterError(f"{name}: {value!r} is not a size; use bytes (2300000000) or a unit (2.3GB, 16GiB)")
    if isinstance(value, int):
        if value < 0:
            raise AnsibleFilterError(f"{name}: {value} is negative; a size must be 0 or more bytes")
        return value
    match = _SIZE.match(str(value))
    unit = match.group("unit").lower() if match else None
    if not match or unit not in _UNITS:
        raise AnsibleFilterError(
            f"{name}: {value!r} is not a size; use bytes (2300000000) or a number with one of the units "
            "kB, MB, GB, TB (powers of 1000), KiB, MiB, GiB, TiB (powers of 1024)"
        )
    try:
        size = Decimal(match.group("number")) * _UNITS[unit]
    except InvalidOperation as exc:  # the regex makes this unreachable, but never hide why
        raise AnsibleFilterError(f"{name}: {value!r} is not a number: {exc}") from exc
    return int(size)  # a fraction of a byte (2.3GiB) rounds down


class FilterModule:
    """Size filters of wizardsofts.ray."""

    def filters(self):
        return {"size_to_bytes": size_to_bytes}
