# private to this collection; no compatibility guarantees
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Human sizes (16GiB, 2.3GB, 512m) to exact byte counts: one parser for the filter, the test and the model."""

from __future__ import annotations

import re
from decimal import Decimal

UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
    "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40,
}
_SIZE = re.compile(r"^\s*(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[a-zA-Z]*)\s*$")
SIZE_HINT = ("use bytes (2300000000) or a number with one of the units kB, MB, GB, TB (powers of 1000) "
             "or KiB, MiB, GiB, TiB (powers of 1024), for example 16GB or 16GiB")


class SizeError(ValueError):
    """A value that is not a size; str() says why."""


def parse_size(value):
    """Return value as an int number of bytes, or raise SizeError saying why not."""
    if isinstance(value, bool):
        raise SizeError("%r is not a size; %s" % (value, SIZE_HINT))
    if isinstance(value, int):
        if value < 0:
            raise SizeError("%d is negative; a size must be 0 or more bytes" % value)
        return value
    if isinstance(value, float):
        if value < 0:
            raise SizeError("%r is negative; a size must be 0 or more bytes" % value)
        return int(value)
    match = _SIZE.match(str(value))
    unit = match.group("unit").lower() if match else None
    if not match or unit not in UNITS:
        raise SizeError("%r is not a size; %s" % (value, SIZE_HINT))
    return int(Decimal(match.group("number")) * UNITS[unit])  # a fraction of a byte rounds down
