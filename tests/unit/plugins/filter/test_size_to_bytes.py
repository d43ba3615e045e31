"""size_to_bytes: the sizes people write in inventories, and the nonsense they must not get away with."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.wizardsofts.ray.plugins.filter.size_to_bytes import size_to_bytes


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2300000000, 2300000000),
        ("2300000000", 2300000000),
        ("2.3GB", 2_300_000_000),  # the seed's head object store: decimal, as Ray's docs write it
        ("16GB", 16_000_000_000),
        ("8 GB", 8_000_000_000),
        ("16GiB", 16 * 2**30),
        ("512MiB", 512 * 2**20),
        ("100kB", 100_000),
        ("1TB", 10**12),
        ("12g", 12 * 2**30),  # Docker's single letters are binary
        ("256m", 256 * 2**20),
        ("2.3GiB", int(2.3 * 2**30)),  # a fraction of a byte rounds down
        (0, 0),
    ],
)
def test_accepts_bytes_and_human_sizes(value, expected):
    assert size_to_bytes(value) == expected


@pytest.mark.parametrize("value", ["", "GB", "16 gigabytes", "-1GB", "1.2.3GB", "16XB", "ten", True, -5, "0x10"])
def test_refuses_nonsense_naming_the_variable_and_value(value):
    with pytest.raises(AnsibleFilterError) as error:
        size_to_bytes(value, "ray_worker_object_store_memory")
    assert "ray_worker_object_store_memory" in str(error.value)
    assert str(value) in str(error.value)
