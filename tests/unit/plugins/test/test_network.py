"""Address tests used by preflight: valid addresses, valid networks, membership."""

import pytest

from ansible_collections.wizardsofts.ray.plugins.test.network import ip_address, ip_in_networks, ip_network


@pytest.mark.parametrize("value", ["10.0.0.84", "198.18.84.80", "fd00::84"])
def test_valid_addresses(value):
    assert ip_address(value)


@pytest.mark.parametrize("value", ["10.0.0.300", "10.0.0", "server84", "", "10.0.0.0/24", None])
def test_invalid_addresses(value):
    assert not ip_address(value)


@pytest.mark.parametrize("value", ["10.0.0.0/24", "198.18.86.0/25", "0.0.0.0/0", "fd00::/64"])
def test_valid_networks(value):
    assert ip_network(value)


@pytest.mark.parametrize("value", ["10.0.0.0/33", "10.0.0.1/24", "10.0.0.300/24", "10.0.0.0", "any", ""])
def test_invalid_networks(value):
    assert not ip_network(value)


def test_membership():
    assert ip_in_networks("10.0.0.84", ["10.0.0.0/24"])
    assert ip_in_networks("198.18.86.80", ["192.168.0.0/16", "198.18.86.0/25"])
    assert not ip_in_networks("198.18.86.200", ["198.18.86.0/25"])
    assert not ip_in_networks("10.0.0.300", ["10.0.0.0/24"])
    assert not ip_in_networks("10.0.0.84", ["10.0.0.0/33"])
    assert not ip_in_networks("10.0.0.84", [])
