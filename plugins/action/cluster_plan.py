# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin ``cluster_plan``: read every host's settings, check them all, return each node's plan.

The documentation is in plugins/modules/cluster_plan.py. The checks and the plan are pure functions in
plugins/module_utils/_cluster_model.py; this file only gathers their input (role defaults, inventory,
node facts), validates each role's argument spec, and reports.
"""

from __future__ import annotations

import hashlib
import json
import os
import re

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.wizardsofts.ray.plugins.module_utils import _cluster_model as model

_ROLES_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "roles")
# Roles whose defaults and argument specs make up a node's settings; the Ray role depends on its group.
_COMMON_ROLES = ("ray_cluster", "docker", "ufw", "ray_redis")
_ROLE_OF = {model.HEAD: "ray_head", model.WORKER: "ray_worker"}


def _has_template(value):
    """Whether a setting holds Jinja somewhere (a string, or inside a list or dict)."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(_has_template(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_template(item) for item in value)
    return False


_BARE_REFERENCE = re.compile(r"^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
# Templates that look at these see more than their names say: they are always templated afresh.
_OPAQUE = frozenset(("hostvars", "vars", "groups", "now"))
_MISSING = object()


class _Resolver(object):
    """Templates a host's settings the way Ansible would, without paying Jinja for every host of a large inventory:
    a plain value is taken as it is, `{{ name }}` is the named variable, and any other template is rendered once
    for each set of values of the plain variables it names (the token's lookup, `{{ ansible_port | default(22) }}`)."""

    def __init__(self, templar, variables, cache):
        self.templar = templar
        self.variables = variables
        self.cache = cache
        self.host_templar = None

    def resolve(self, value, depth=0):
        if not _has_template(value):
            # Most settings are plain values: templating them would cost a thousand-host inventory minutes.
            return value
        if isinstance(value, str) and depth < 10:
            bare = _BARE_REFERENCE.match(value)
            if bare and bare.group(1) in self.variables:
                return self.resolve(self.variables[bare.group(1)], depth + 1)
            key = self._cache_key(value)
            if key is not None:
                if key not in self.cache:
                    self.cache[key] = self._template(value)
                # Shared, not copied: the model only reads settings (and the validator copies what it checks).
                return self.cache[key]
        return self._template(value)

    def _cache_key(self, template):
        names = set(_IDENTIFIER.findall(_QUOTED.sub("", template)))
        if names & _OPAQUE:
            return None
        values = []
        for name in sorted(names):
            value = self.variables.get(name, _MISSING)
            if value is _MISSING:
                continue
            if _has_template(value):
                return None  # what it names may depend on the host: no reuse
            try:
                values.append((name, json.dumps(value, sort_keys=True)))
            except (TypeError, ValueError):
                return None
        return (template, tuple(values))

    def _template(self, value):
        if self.host_templar is None:
            self.host_templar = self.templar.copy_with_new_env(available_variables=self.variables)
        return self.host_templar.template(value)


class ActionModule(ActionBase):
    """Checks the whole cluster's settings on the controller and returns the plan of every node."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("phase", "cluster_group", "head_group", "facts_variable", "roles"))

    def _role_file(self, role, *parts):
        return os.path.realpath(os.path.join(_ROLES_DIR, role, *parts))

    def _role_data(self, role):
        """(defaults, validator spec) of a role, read once per run."""
        cache = self.__dict__.setdefault("_role_cache", {})
        if role not in cache:
            defaults = self._loader.load_from_file(self._role_file(role, "defaults", "main.yml"), trusted_as_template=True)
            data = self._loader.load_from_file(self._role_file(role, "meta", "argument_specs.yml")) or {}
            cache[role] = (defaults or {}, model.validator_spec(data["argument_specs"]["main"].get("options")))
        return cache[role]

    def _settings(self, host, role, hostvars, task_vars, problems):
        """The host's variables as the roles see them: inventory (and extra vars) over the roles' defaults."""
        roles = _COMMON_ROLES + (_ROLE_OF[role],)
        variables, specs = {}, {}
        for name in roles:
            defaults, spec = self._role_data(name)
            variables.update(defaults)
            specs.update(spec)
        variables.update(hostvars.raw_get(host))
        for magic in ("groups", "omit", "playbook_dir", "ansible_check_mode"):
            if magic in task_vars:
                variables[magic] = task_vars[magic]
        resolver = _Resolver(self._templar, variables, self.__dict__.setdefault("_template_cache", {}))
        settings = {}
        for name in specs:
            if name not in variables:
                continue
            try:
                settings[name] = resolver.resolve(variables[name])
            except Exception as exc:  # a broken template: say which variable, keep checking the rest
                problems.append(model.Problem(host, name, "(a template)", "could not be templated: %s" % exc,
                                              "correct the expression, or set a plain value."))
        return settings, specs

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args
        phase = args.get("phase", "inventory")
        if phase not in ("inventory", "nodes"):
            raise AnsibleError("cluster_plan: phase must be inventory or nodes, not %r" % phase)
        cluster_group = args.get("cluster_group", "ray_cluster")
        head_group = args.get("head_group", "ray_head")
        facts_variable = args.get("facts_variable", "_ray_cluster_node_facts")
        roles = args.get("roles") or {}
        if not isinstance(roles, dict) or not set(roles) <= {model.DOCKER_ROLE, model.UFW_ROLE}:
            raise AnsibleError("cluster_plan: roles must map %s or %s to the tag of its play (or null), not %r"
                               % (model.DOCKER_ROLE, model.UFW_ROLE, roles))
        runs = model.roles_selected(roles, task_vars.get("ansible_run_tags"), task_vars.get("ansible_skip_tags"))
        groups = task_vars.get("groups", {})
        hostvars = task_vars["hostvars"]
        cluster = list(groups.get(cluster_group, []))
        heads = [host for host in groups.get(head_group, []) if host in cluster]

        problems = []
        hosts, specs = {}, {}
        for host in cluster:
            role = model.HEAD if host in heads else model.WORKER
            values, specs[host] = self._settings(host, role, hostvars, task_vars, problems)
            if values.get("ray_cluster_tls_enabled") in (True, "true", "True", "yes"):
                values["_tls_cert_label"] = self._tls_label(host, values)
            hosts[host] = (role, values)
        if problems:
            return self._fail(result, problems)

        facts, unreachable = None, []
        if phase == "nodes":
            play_hosts = task_vars.get("ansible_play_hosts", [])
            unreachable = [host for host in task_vars.get("ansible_play_hosts_all", []) if host not in play_hosts]
            facts = {}
            for host in play_hosts:
                node = (hostvars.raw_get(host).get(facts_variable) or {}).get("node")
                if node:
                    facts[host] = node
        store_hosts = list(groups.get(model.REDIS_GROUP, []))
        plan, problems, warnings = model.evaluate(hosts, heads, specs, facts, unreachable, runs, store_hosts)
        if problems:
            return self._fail(result, problems)
        plan["phase"] = phase
        result["warnings"] = warnings
        result["plan"] = model.for_ansible(plan)
        result["changed"] = False
        result["msg"] = "%d node(s) planned, every setting checked" % len(plan["nodes"])
        return result

    def _tls_label(self, host, values):
        """A fingerprint of the node's certificate as it is now on the controller (new certificates restart it)."""
        path = values.get("ray_cluster_tls_cert") or os.path.join(str(values.get("ray_cluster_tls_dir")), host + ".crt")
        try:
            # As the roles read it: lookup('file') strips trailing whitespace.
            with open(path, "rb") as handle:
                content = handle.read().decode("utf-8", "replace").rstrip()
            return "cert-sha256:" + hashlib.sha256(content.encode("utf-8")).hexdigest()[:16]
        except OSError:
            return "cert-sha256:pending"

    @staticmethod
    def _fail(result, problems):
        result["failed"] = True
        result["problems"] = [problem.as_dict() for problem in problems]
        result["msg"] = "\n".join(problem.text() for problem in problems)
        return result
