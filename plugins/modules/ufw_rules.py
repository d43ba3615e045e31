#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: WizardSofts
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module ``ufw_rules``: a node's whole UFW allow-list, default policies and state in one task."""

from __future__ import annotations

DOCUMENTATION = r"""
module: ufw_rules
short_description: Make UFW allow a set of rules, set its default policies and enable it, in one task
version_added: 0.2.0
author:
  - WizardSofts ML platform team (@wizardsofts)
description:
  - Reads UFW's state once (C(ufw status), C(ufw show added) and the default policies in C(/etc/default/ufw)),
    works out what is missing and runs C(ufw) only for that. A node that is already right costs two
    read-only C(ufw) calls, instead of one task and several C(ufw) calls per rule as with
    M(community.general.ufw) in a loop.
  - In this order, so that SSH is never cut off, it adds the missing O(rules) in the order given (put SSH first),
    sets the default policies, enables UFW, and only then removes stale rules (O(remove_stale)).
  - A rule is present when UFW already has an C(allow) rule for the same protocol, port (or range) and source
    to any destination, whatever its comment; an equal rule the operator added is used as it is.
  - Rules this module adds carry O(comment_prefix) in their comment, which is how they are told from the
    operator's. Rules without the prefix are never changed or removed, and UFW is never reset.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads UFW's state for real and predicts every change, without running any command that changes it.
      - Where UFW is not installed yet (a task before would install it), predicts from an empty, inactive firewall.
  diff_mode:
    support: full
    details: The rule list (as C(ufw show added) prints it), the default policies and the status, before and after.
  platform:
    support: full
    platforms: posix
    details: Linux with UFW installed (Debian, Ubuntu). Needs root.
options:
  rules:
    description: The C(allow) rules the node must have (one UFW rule per source), in the order they are added.
    type: list
    elements: dict
    required: true
    suboptions:
      port:
        description: A port (V(22)) or an inclusive range (V(10002:19999)).
        type: str
        required: true
      proto:
        description: The protocol.
        type: str
        choices: [tcp, udp]
        default: tcp
      sources:
        description: The source networks (V(10.0.0.0/24)), addresses, or V(any); one UFW rule each.
        type: list
        elements: str
        default: [any]
      comment:
        description: What the rule is for; O(comment_prefix) is put in front of it. It cannot contain a single quote (UFW refuses it).
        type: str
        required: true
  comment_prefix:
    description:
      - Put in front of every rule's comment. Rules whose comment starts with it are this module's own.
    type: str
    required: true
  default_incoming_policy:
    description: UFW's default policy for incoming traffic no rule allows. Left as it is when not set.
    type: str
    choices: [allow, deny, reject]
  default_outgoing_policy:
    description: UFW's default policy for outgoing traffic. Left as it is when not set.
    type: str
    choices: [allow, deny, reject]
  enabled:
    description: Whether UFW must be active. With V(false) it is left as it is (never disabled).
    type: bool
    default: true
  remove_stale:
    description:
      - Remove rules whose comment starts with O(comment_prefix) that are not in O(rules) (a port or network
        that changed), after the new ones are in place. Rules without the prefix are never removed.
    type: bool
    default: true
notes:
  - C(ufw show added) prints a rule from V(0.0.0.0/0) or V(::/0) like one from V(any); the three are therefore
    treated as the same source.
seealso:
  - module: community.general.ufw
"""

EXAMPLES = r"""
- name: Deny by default, keep SSH open, allow the Ray GCS from the cluster only
  wizardsofts.ray.ufw_rules:
    comment_prefix: "wizardsofts.ray: "
    rules:
      - {port: "22", sources: [any], comment: SSH}
      - {port: "6379", sources: [10.0.0.0/24, 10.1.0.0/24], comment: Ray GCS}
      - {port: "10002:19999", sources: [10.0.0.0/24], comment: Ray worker ports}
    default_incoming_policy: deny
    default_outgoing_policy: allow
"""

RETURN = r"""
added:
  description: The rules added (or, in check mode, that would be), as C(ufw show added) prints them.
  returned: always
  type: list
  elements: str
  sample: ["ufw allow from 10.0.0.0/24 to any port 6379 proto tcp comment 'wizardsofts.ray: Ray GCS'"]
removed:
  description: The stale rules of this module removed (or that would be), as C(ufw show added) printed them.
  returned: always
  type: list
  elements: str
  sample: []
rules:
  description: Every rule of the node afterwards (predicted in check mode), the operator's included.
  returned: always
  type: list
  elements: str
policies:
  description: The default policies afterwards.
  returned: always
  type: dict
  sample: {incoming: deny, outgoing: allow}
active:
  description: Whether UFW is active afterwards.
  returned: always
  type: bool
  sample: true
commands:
  description: The C(ufw) commands that changed something (in check mode, that would have been run).
  returned: always
  type: list
  elements: str
  sample: ["ufw allow proto tcp from 10.0.0.0/24 to any port 6379 comment 'wizardsofts.ray: Ray GCS'", "ufw --force enable"]
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wizardsofts.ray.plugins.module_utils._ufw import (
    DEFAULTS_FILE, Plan, RuleError, desired_rules, parse_default_policies, parse_show_added, parse_status, quote, render)


class UfwRules(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.ufw = None

    def run_ufw(self, args):
        rc, out, err = self.module.run_command([self.ufw] + args, environ_update={"LANG": "C", "LC_ALL": "C"})
        if rc != 0:
            command = " ".join(quote(a) for a in args)
            self.module.fail_json(msg="`ufw %s` failed (exit %d): %s" % (command, rc, (err or out).strip()))
        return out

    def read(self):
        current, lines = parse_show_added(self.run_ufw(["show", "added"]))
        active = parse_status(self.run_ufw(["status"]))
        try:
            with open(DEFAULTS_FILE) as defaults:
                policies = parse_default_policies(defaults.read())
        except (IOError, OSError) as error:
            self.module.fail_json(msg="Cannot read UFW's default policies from %s: %s" % (DEFAULTS_FILE, error))
        return current, lines, active, policies

    def run(self):
        if os.geteuid() != 0:
            self.module.fail_json(msg="ufw_rules changes the firewall and needs root; it runs as uid %d. "
                                      "Run the play with become (--become)." % os.geteuid())
        self.ufw = self.module.get_bin_path("ufw")
        if self.ufw is None and not self.module.check_mode:
            self.module.fail_json(msg="ufw is not installed on this node (no `ufw` in PATH or /usr/sbin). Install the ufw package first.")
        prefix = self.params["comment_prefix"]
        try:
            wanted = desired_rules(self.params["rules"], prefix)
            if self.ufw is None:
                # Check mode on a node where the play would install UFW first: predict from an empty firewall.
                current, lines, active, policies = [], [], False, {"incoming": None, "outgoing": None}
            else:
                current, lines, active, policies = self.read()
        except RuleError as error:
            self.module.fail_json(msg=str(error))
        plan = Plan(wanted, current, lines, active, policies,
                    {"incoming": self.params["default_incoming_policy"], "outgoing": self.params["default_outgoing_policy"]},
                    self.params["enabled"], prefix, self.params["remove_stale"])
        commands = plan.commands()
        after = plan.after
        if plan.changed and not self.module.check_mode:
            for args in commands:
                self.run_ufw(args)
            current, lines, active, policies = self.read()
            after = {"active": active, "policies": policies, "rules": lines}
        result = {
            "changed": plan.changed,
            "added": [rule.text for rule in plan.add],
            "removed": [rule.text for rule in plan.remove],
            "rules": after["rules"],
            "policies": after["policies"],
            "active": after["active"],
            "commands": ["ufw " + " ".join(quote(a) for a in args) for args in commands],
        }
        if self.module._diff:
            result["diff"] = {"before_header": "ufw (before)", "after_header": "ufw (after)",
                              "before": render(plan.before), "after": render(after)}
        return result


def main():
    module = AnsibleModule(
        argument_spec={
            "rules": {"type": "list", "elements": "dict", "required": True, "options": {
                "port": {"type": "str", "required": True},
                "proto": {"type": "str", "choices": ["tcp", "udp"], "default": "tcp"},
                "sources": {"type": "list", "elements": "str", "default": ["any"]},
                "comment": {"type": "str", "required": True},
            }},
            "comment_prefix": {"type": "str", "required": True},
            "default_incoming_policy": {"type": "str", "choices": ["allow", "deny", "reject"]},
            "default_outgoing_policy": {"type": "str", "choices": ["allow", "deny", "reject"]},
            "enabled": {"type": "bool", "default": True},
            "remove_stale": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    module.exit_json(**UfwRules(module).run())


if __name__ == "__main__":
    main()
