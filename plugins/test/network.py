# -*- coding: utf-8 -*-
# Copyright: WizardSofts
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja tests on addresses, with Python's ipaddress (no netaddr needed on the controller).

This file provides three tests, so each is documented in a file of its own name beside it (ip_address.yml,
ip_network.yml, ip_in_networks.yml): ansible-doc reads those only when this file has no DOCUMENTATION.
"""

from __future__ import annotations

from ansible_collections.wizardsofts.ray.plugins.module_utils._cluster_model import in_networks, is_address, is_network


def ip_address(value):
    """True when value is an IPv4 or IPv6 address."""
    return is_address(value)


def ip_network(value):
    """True when value is a network in CIDR notation with no host bits set."""
    return is_network(value)


def ip_in_networks(value, networks):
    """True when value is an address inside at least one of the valid networks given."""
    return in_networks(value, networks)


class TestModule:
    """Address tests of wizardsofts.ray."""

    def tests(self):
        return {
            "ip_address": ip_address,
            "ip_network": ip_network,
            "ip_in_networks": ip_in_networks,
        }
