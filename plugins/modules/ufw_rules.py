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

import ipaddress
import os
import re

from ansible.module_utils.basic import AnsibleModule

DEFAULTS_FILE = "/etc/default/ufw"
_POLICY_NAMES = {"DROP": "deny", "ACCEPT": "allow", "REJECT": "reject"}
_POLICY_KEYS = {"incoming": "DEFAULT_INPUT_POLICY", "outgoing": "DEFAULT_OUTPUT_POLICY"}
_WORLD = ("any", "0.0.0.0/0", "::/0")
_COMMENT = r"(?: comment '(?P<comment>[^']*)')?$"
# The two shapes `ufw show added` prints for an allow rule to any destination on a port or port range.
_FROM_ANY = re.compile(r"^ufw allow (?P<port>[0-9:]+)/(?P<proto>tcp|udp)" + _COMMENT)
_FROM_SOURCE = re.compile(r"^ufw allow from (?P<source>\S+) to any port (?P<port>[0-9:]+) proto (?P<proto>tcp|udp)" + _COMMENT)
_PORT = re.compile(r"^(?P<first>\d{1,5})(?::(?P<last>\d{1,5}))?$")


class RuleError(ValueError):
    """A rule the module cannot express in UFW."""


def normalize_source(source):
    """The source as `ufw show added` prints it: `any`, a bare address, or a network."""
    text = source.strip()
    if text.lower() in _WORLD:
        return "any"
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise RuleError("source %s is neither 'any' nor an IP address or network" % source)
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    if network.prefixlen == 0:
        return "any"
    return str(network)


def normalize_port(port):
    match = _PORT.match(str(port).strip())
    if not match:
        raise RuleError("port=%s is neither a port (22) nor a range (10002:19999)" % port)
    first, last = int(match["first"]), int(match["last"] or match["first"])
    if not 1 <= first <= last <= 65535:
        raise RuleError("port=%s is outside 1-65535 or its range is reversed" % port)
    return str(first) if match["last"] is None else "%d:%d" % (first, last)


class Rule(object):
    """One allow rule: protocol, port (or range), source, comment."""

    def __init__(self, proto, port, source, comment, text=None):
        self.proto = proto
        self.port = port
        self.source = source
        self.comment = comment
        self._text = text

    @property
    def key(self):
        """What makes two rules the same rule for UFW (the comment does not)."""
        return (self.proto, self.port, self.source)

    @property
    def text(self):
        """The rule as `ufw show added` prints it."""
        if self._text is not None:
            return self._text
        comment = " comment '%s'" % self.comment if self.comment else ""
        if self.source == "any":
            return "ufw allow %s/%s%s" % (self.port, self.proto, comment)
        return "ufw allow from %s to any port %s proto %s%s" % (self.source, self.port, self.proto, comment)

    def arguments(self, action="allow"):
        """The ufw arguments that add (or with action 'delete', delete) this rule."""
        if action == "delete":
            return ["delete", "allow", "proto", self.proto, "from", self.source, "to", "any", "port", self.port]
        args = ["allow", "proto", self.proto, "from", self.source, "to", "any", "port", self.port]
        return args + (["comment", self.comment] if self.comment else [])


def parse_show_added(output):
    """Rules from `ufw show added`: (rules we can match, the text of every line in order)."""
    rules, lines = [], []
    for line in output.splitlines():
        line = line.strip()
        if not line.startswith("ufw "):  # the header, and "(None)" when there is no rule
            continue
        lines.append(line)
        match = _FROM_ANY.match(line) or _FROM_SOURCE.match(line)
        if match is None:
            continue
        source = match.groupdict().get("source") or "any"
        rules.append(Rule(match["proto"], match["port"], normalize_source(source), match["comment"] or "", text=line))
    return rules, lines


def parse_status(output):
    """Whether `ufw status` says the firewall is active."""
    for line in output.splitlines():
        if line.strip().startswith("Status:"):
            return line.split(":", 1)[1].strip() == "active"
    raise RuleError("`ufw status` printed no 'Status:' line: %r" % output[:200])


def parse_default_policies(text):
    """{'incoming': ..., 'outgoing': ...} from the content of /etc/default/ufw."""
    values = {}
    for line in text.splitlines():
        name, sep, value = line.strip().partition("=")
        if sep and not name.startswith("#"):
            values[name.strip()] = value.strip().strip("\"'")
    return dict((direction, _POLICY_NAMES.get(values.get(key, ""), values.get(key)))
                for direction, key in _POLICY_KEYS.items())


def desired_rules(specs, prefix):
    rules = []
    for spec in specs:
        comment = prefix + spec["comment"]
        if "'" in comment:
            raise RuleError("comment=%r: UFW refuses comments with a single quote" % comment)
        port = normalize_port(spec["port"])
        rules.extend(Rule(spec["proto"], port, normalize_source(source), comment) for source in spec["sources"])
    return rules


class Plan(object):
    """What has to change, from the state read once."""

    def __init__(self, wanted, current, current_lines, active, policies, want_policies, want_active, prefix, remove_stale):
        present = set(rule.key for rule in current)
        wanted_keys = set(rule.key for rule in wanted)
        seen = set()
        self.add = []
        for rule in wanted:
            if rule.key not in present and rule.key not in seen:
                self.add.append(rule)
            seen.add(rule.key)
        self.remove = [rule for rule in current
                       if remove_stale and rule.comment.startswith(prefix) and rule.key not in wanted_keys]
        self.policies = dict((direction, policy) for direction, policy in want_policies.items()
                             if policy is not None and policies.get(direction) != policy)
        self.enable = want_active and not active
        self.before = {"active": active, "policies": policies, "rules": list(current_lines)}
        removed = set(rule.text for rule in self.remove)
        after_policies = dict(policies)
        after_policies.update(self.policies)
        self.after = {
            "active": active or self.enable,
            "policies": after_policies,
            # UFW appends new rules at the end.
            "rules": [line for line in current_lines if line not in removed] + [rule.text for rule in self.add],
        }

    @property
    def changed(self):
        return bool(self.add or self.remove or self.policies or self.enable)

    def commands(self):
        """ufw argument lists, in the order that keeps SSH reachable."""
        commands = [rule.arguments() for rule in self.add]
        commands += [["default", policy, direction] for direction, policy in sorted(self.policies.items())]
        if self.enable:
            commands.append(["--force", "enable"])
        commands += [rule.arguments("delete") for rule in self.remove]
        return commands


def render(state):
    """A state as text for --diff."""
    lines = ["status: %s" % ("active" if state["active"] else "inactive")]
    lines += ["default %s: %s" % (direction, state["policies"].get(direction) or "(ufw not installed)")
              for direction in ("incoming", "outgoing")]
    return "\n".join(lines + state["rules"]) + "\n"


def quote(argument):
    return argument if re.match(r"^[\w./:@-]+$", argument) else "'%s'" % argument


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
