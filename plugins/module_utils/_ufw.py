# private to this collection; no compatibility guarantees
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""UFW's rules as the collection compares them: parsed from `ufw show added` (the module ufw_rules) or from
UFW's own rule files (node_facts, so that the cluster model can tell a converged firewall without a call)."""

from __future__ import annotations

import binascii
import ipaddress
import re

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


# `### tuple ### allow tcp 6379 0.0.0.0/0 any 10.0.0.0/24 in comment=HEX` in /etc/ufw/user.rules and user6.rules.
_TUPLE = re.compile(r"^### tuple ### (?P<action>\S+) (?P<proto>\S+) (?P<dport>\S+) (?P<dst>\S+) (?P<sport>\S+) "
                    r"(?P<src>\S+) (?P<direction>\S+)(?: comment=(?P<comment>[0-9a-fA-F]*))?\s*$")


def parse_user_rules(texts):
    """The allow rules to any destination on a port, from the contents of UFW's user rule files, as
    `ufw show added` would list them (a rule for any source appears once, though both files hold it)."""
    rules, seen = [], set()
    for text in texts:
        for line in (text or "").splitlines():
            match = _TUPLE.match(line.strip())
            if match is None or match["action"] != "allow" or match["direction"] != "in":
                continue
            if match["dst"] not in _WORLD or match["sport"] != "any" or match["proto"] not in ("tcp", "udp"):
                continue
            try:
                comment = binascii.unhexlify(match["comment"] or "").decode("utf-8")
                rule = Rule(match["proto"], normalize_port(match["dport"]), normalize_source(match["src"]), comment)
            except (RuleError, ValueError, binascii.Error):
                continue
            if rule.key not in seen:
                seen.add(rule.key)
                rules.append(rule)
    return rules
