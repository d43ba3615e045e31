# -*- coding: utf-8 -*-
# Copyright: WizardSofts
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja tests on addresses, with Python's ipaddress (no netaddr needed on the controller)."""

from __future__ import annotations

from ansible_collections.wizardsofts.ray.plugins.module_utils._cluster_model import in_networks, is_address, is_network

DOCUMENTATION = r"""
name: ip_address
short_description: Is the value a valid IPv4 or IPv6 address?
version_added: 0.1.0
author: WizardSofts ML platform team
description:
  - True for C(10.0.0.84) or C(fd00::84); false for C(10.0.0.300), host names and networks.
  - The same plugin file also provides C(ip_network) (a valid network such as C(10.0.0.0/24); host bits
    must be zero) and C(ip_in_networks) (the address lies in one of the given networks).
options:
  _input:
    description: The value to test.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Refuse an invalid node address
  ansible.builtin.assert:
    that:
      - ray_cluster_node_ip is wizardsofts.ray.ip_address
      - ray_cluster_node_ip is wizardsofts.ray.ip_in_networks(ray_cluster_cidrs)
"""

RETURN = r"""
_value:
  description: Whether the test passed.
  type: bool
"""


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
