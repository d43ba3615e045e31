# private to this collection; no compatibility guarantees
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster model: every setting of every host checked at once, and each node's plan.

Pure functions, no I/O. The action plugin ``cluster_plan`` feeds them the settings it reads from the
inventory (and, in its second phase, the facts ``node_facts`` read on each node) and hands the plans to
the roles. Every fact about a port lives in ``PORTS``; ``ray start``, UFW, the port checks and
monitoring all read it from there.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import json
import re

from ansible_collections.wizardsofts.ray.plugins.module_utils import _accelerators, _data_dir, _ufw
from ansible_collections.wizardsofts.ray.plugins.module_utils._sizes import SIZE_HINT, SizeError, parse_size

HEAD = "head"
WORKER = "worker"
EVERY_NODE = "every node"

# Who may reach a port: the variable that lists those networks.
CLUSTER = "ray_cluster_cidrs"
ADMIN = "ray_cluster_admin_cidrs"
PROMETHEUS = "ray_cluster_prometheus_cidrs"


class Port(object):
    """One TCP port a Ray node listens on, and everything the collection does with it."""

    def __init__(self, name, variable, default, where, sources, comment, flag=None, env=None):
        self.name = name
        self.variable = variable
        self.default = default
        self.where = where          # HEAD or EVERY_NODE
        self.sources = sources      # CLUSTER, ADMIN or PROMETHEUS
        self.comment = comment      # the firewall rule's comment, after the collection's prefix
        self.flag = flag            # the ray start flag that pins it, or
        self.env = env              # the environment variable that does (Ray has no flag for these)
        self.scraped = sources == PROMETHEUS

    def on(self, role):
        return self.where == EVERY_NODE or role == HEAD


# The only list of Ray's ports. Order: the order of the firewall rules and of `ray start`'s flags.
PORTS = (
    Port("gcs", "ray_cluster_gcs_port", 6379, HEAD, CLUSTER, "Ray GCS", flag="--port"),
    Port("dashboard", "ray_cluster_dashboard_port", 8265, HEAD, ADMIN, "Ray dashboard and Jobs API",
         flag="--dashboard-port"),
    Port("client_server", "ray_cluster_client_server_port", 10001, HEAD, ADMIN, "Ray client server",
         flag="--ray-client-server-port"),
    Port("autoscaler_metrics", "ray_cluster_autoscaler_metrics_port", 44217, HEAD, PROMETHEUS,
         "Ray autoscaler metrics", env="AUTOSCALER_METRIC_PORT"),
    Port("dashboard_metrics", "ray_cluster_dashboard_metrics_port", 44227, HEAD, PROMETHEUS,
         "Ray dashboard metrics", env="DASHBOARD_METRIC_PORT"),
    Port("node_manager", "ray_cluster_node_manager_port", 8076, EVERY_NODE, CLUSTER, "Ray node manager",
         flag="--node-manager-port"),
    Port("object_manager", "ray_cluster_object_manager_port", 8077, EVERY_NODE, CLUSTER, "Ray object manager",
         flag="--object-manager-port"),
    Port("runtime_env_agent", "ray_cluster_runtime_env_agent_port", 8078, EVERY_NODE, CLUSTER,
         "Ray runtime env agent", flag="--runtime-env-agent-port"),
    Port("dashboard_agent_grpc", "ray_cluster_dashboard_agent_grpc_port", 8079, EVERY_NODE, CLUSTER,
         "Ray dashboard agent gRPC", flag="--dashboard-agent-grpc-port"),
    Port("dashboard_agent_listen", "ray_cluster_dashboard_agent_listen_port", 52365, EVERY_NODE, CLUSTER,
         "Ray dashboard agent HTTP", flag="--dashboard-agent-listen-port"),
    Port("metrics_export", "ray_cluster_metrics_export_port", 9091, EVERY_NODE, PROMETHEUS, "Ray metrics",
         flag="--metrics-export-port"),
)
PORTS_BY_NAME = dict((port.name, port) for port in PORTS)
PORT_VARIABLES = tuple(port.variable for port in PORTS)
# Ray's worker processes take one port each from this range, on every node.
WORKER_RANGE = ("ray_cluster_min_worker_port", "ray_cluster_max_worker_port")
WORKER_RANGE_FLAGS = ("--min-worker-port", "--max-worker-port")
WORKER_RANGE_COMMENT = "Ray worker ports"
# The container runs as an ordinary user with every capability dropped: it cannot bind below this.
LOWEST_UNPRIVILEGED_PORT = 1024
# Ray refuses a smaller object store (ray_constants.OBJECT_STORE_MINIMUM_MEMORY_BYTES, 75 MiB).
OBJECT_STORE_MINIMUM_BYTES = 75 * 1024 * 1024
# Ray releases before this one have published CVEs (CVE-2025-62593 < 2.52, CVE-2026-27482 < 2.54).
VERSION_FLOOR = (2, 54, 0)
TOKEN_MIN_LENGTH = 32
# fullmatch, not match with $: `$` also matches before a final newline, and `openssl rand -hex 32 | ansible-vault
# encrypt_string --stdin-name ...` gives a token that ends in one (no HTTP header can carry it).
_TOKEN_CHARACTERS = re.compile(r"[A-Za-z0-9._~+/=-]+")
WORLD_SOURCES = ("0.0.0.0/0", "::/0", "any")
# Every firewall rule the collection adds carries this at the start of its comment: it is how the rules
# of the collection are told from the operator's (kept, never touched).
RULE_COMMENT_PREFIX = "wizardsofts.ray: "

# Where things live on the node and in the container.
SECRETS_IN_CONTAINER = "/run/secrets/wizardsofts-ray"
SESSION_IN_CONTAINER = "/tmp/ray"
DEFAULT_DATA_DIR = "/var/lib/ray"
# Labels on the collection's containers.
ROLE_LABEL = "io.wizardsofts.ray.role"

# Settings every node must share with the head, else Ray cannot connect them: a worker looks for the head on
# its own copy of the head's ports. A node's own ports may differ from node to node (the seed moved its
# metrics port off 8080 where that was taken): each node announces them to Ray.
SHARED_WITH_HEAD = tuple(port.variable for port in PORTS if port.where == HEAD) + (
    "ray_cluster_version", "ray_cluster_image", "ray_cluster_auth_mode", "ray_cluster_tls_enabled",
    "ray_cluster_gcs_ft_enabled", "ray_cluster_gcs_ft_redis_address", "ray_cluster_gcs_ft_namespace",
)

# The variables of each role, by their role prefix; `ROLE_SETTINGS` are the per-role resource settings.
ROLE_SETTINGS = ("container_name", "num_cpus", "num_gpus", "gpu_devices", "resources", "labels", "memory",
                 "object_store_memory", "shm_size", "container_cpus", "container_memory", "extra_args")
# Flags `ray start` gets from the collection, with the variable to set instead of passing them yourself.
PINNED_FLAGS = dict(
    [(port.flag, port.variable) for port in PORTS if port.flag]
    + list(zip(WORKER_RANGE_FLAGS, WORKER_RANGE))
    + [("--node-ip-address", "ray_cluster_node_ip"), ("--address", "the head's ray_cluster_node_ip"),
       ("--head", "the inventory group ray_head"), ("--block", "nothing (the container needs it)"),
       ("--dashboard-host", "nothing (the firewall restricts the dashboard)"),
       ("--num-cpus", "PREFIXnum_cpus"), ("--num-gpus", "PREFIXnum_gpus"), ("--memory", "PREFIXmemory"),
       ("--object-store-memory", "PREFIXobject_store_memory"), ("--resources", "PREFIXresources"),
       ("--labels", "PREFIXlabels"), ("--labels-file", "PREFIXlabels")]
)


class Problem(object):
    """One thing wrong, said so that the operator can act: variable, value, host, why, and the fix."""

    def __init__(self, host, variable, value, why, fix, show_value=True, subject=None, warning=False):
        self.subject = subject
        # A warning is said, and the run goes on: something Ray accepts but the operator should know.
        self.warning = warning
        self.host = host
        self.variable = variable
        self.value = value
        self.why = why
        self.fix = fix
        self.show_value = show_value

    def text(self):
        if self.subject is not None:
            return "%s on %s: %s. Fix: %s" % (self.subject, self.host, self.why, self.fix)
        if self.variable is None:
            return "%s%s. Fix: %s" % (self.why[:1].upper(), self.why[1:], self.fix)
        if self.show_value:
            subject = "%s=%s on %s" % (self.variable, show(self.value), self.host)
        else:
            subject = "%s on %s (not shown)" % (self.variable, self.host)
        return "%s %s. Fix: %s" % (subject, self.why, self.fix)

    def as_dict(self):
        return {"host": self.host, "variable": self.variable, "message": self.text()}

    def __repr__(self):
        return "Problem(%r)" % self.text()


def _problems_of(host, found):
    """Problems from _accelerators' (variable, value, why, fix, warning[, subject]) tuples."""
    problems = []
    for item in found:
        variable, value, why, fix, warning = item[:5]
        subject = item[5] if len(item) > 5 else None
        problems.append(Problem(host, variable, value, why, fix, subject=subject, warning=warning))
    return problems


def show(value):
    """A value as the operator wrote it: lists in Python notation, strings bare."""
    if isinstance(value, (list, tuple, dict)):
        return str(list(value)) if not isinstance(value, dict) else str(value)
    if value is None or value == "":
        return "(empty)"
    return str(value)


class SpecValidator(object):
    """check_argument_specs for many hosts: the first host of each role is validated whole, the others only in
    what differs from it (a thousand hosts mostly share their values: the validator is the costly part)."""

    def __init__(self):
        self.reference = {}
        self.validators = {}  # (role, names) -> ArgumentSpecValidator: building one copies its spec

    def _validator(self, role, spec, names):
        key = (role, tuple(names))
        if key not in self.validators:
            from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
            self.validators[key] = ArgumentSpecValidator(dict((name, spec[name]) for name in names))
        return self.validators[key]

    def check(self, host, role, settings, spec):
        given = dict((name, value) for name, value in settings.items() if name in spec)
        reference = self.reference.get(role)
        if reference is None or reference[0] is not spec and reference[0] != spec:
            validated, problems = check_argument_specs(host, settings, spec)
            failed = set(problem.variable for problem in problems)
            self.reference[role] = (spec, given, validated, failed)
            self.validators = dict((key, value) for key, value in self.validators.items() if key[0] != role)
            return validated, problems
        _spec, first, first_validated, failed = reference
        differing = [name for name in spec
                     if name in failed or (name in given) != (name in first) or given.get(name) != first.get(name)]
        validated, problems = check_argument_specs(host, settings, dict((name, spec[name]) for name in differing),
                                                   self._validator(role, spec, differing))
        merged = dict(first_validated)
        for name in spec:
            if name in differing:
                merged[name] = validated.get(name)
            elif name in settings:
                merged[name] = first_validated.get(name)
        merged.update(dict((name, value) for name, value in settings.items() if name not in spec))
        return merged, problems


# ---- small parsers ---------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4096)
def _parses_as_network(text):
    try:
        ipaddress.ip_network(text, strict=True)
    except ValueError:
        return False
    return "/" in text


@functools.lru_cache(maxsize=4096)
def _network(text):
    return ipaddress.ip_network(text)


def is_network(value):
    """A network in CIDR notation with no host bits set (every node checks the same few: parsed once each)."""
    return _parses_as_network(str(value))


def is_address(value):
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


def in_networks(address, networks):
    if not is_address(address):
        return False
    ip = ipaddress.ip_address(str(address))
    return any(is_network(net) and ip in _network(str(net)) for net in networks or [])


def version_tuple(text):
    match = re.match(r"^(\d+)\.(\d+)\.(\d+)$", str(text))
    return tuple(int(part) for part in match.groups()) if match else None


def image_tag_version(image):
    match = re.search(r":v?(\d+\.\d+\.\d+)[^/:]*$", str(image))
    return match.group(1) if match else ""


def token_fingerprint(token):
    return hashlib.sha256(str(token).encode("utf-8")).hexdigest()


def _int(value):
    """An int from an int or a string of digits (extra vars arrive as strings), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.match(r"^-?\d+$", value.strip()):
        return int(value.strip())
    return None


def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and re.match(r"^-?\d+(\.\d+)?$", value.strip()):
        return float(value.strip())
    return None


def _empty(value):
    return value is None or (isinstance(value, str) and value.strip() == "")


# ---- one host's settings ----------------------------------------------------------------------------

class Node(object):
    """One host's settings, as the roles will see them (inventory over role defaults)."""

    def __init__(self, host, role, settings):
        self.host = host
        self.role = role
        self.settings = settings
        self.prefix = "ray_%s_" % role

    def get(self, name, default=None):
        return self.settings.get(name, default)

    def own(self, key):
        """A role setting (ray_head_* or ray_worker_*), with its variable's name."""
        name = self.prefix + key
        return name, self.settings.get(name)

    @property
    def ip(self):
        return self.settings.get("ray_cluster_node_ip")

    def port(self, variable):
        return _int(self.settings.get(variable))

    def ports(self):
        """(Port, number) of every port this node listens on."""
        return [(port, self.port(port.variable)) for port in PORTS if port.on(self.role)]

    def size(self, key):
        name, value = self.own(key)
        if _empty(value):
            return None
        try:
            return parse_size(value)
        except SizeError:
            return None


# ---- the checks: each returns a list of Problems ------------------------------------------------

# Keys of a role argument spec option that the validator does not know.
_DOC_KEYS = ("description", "version_added", "notes")


def validator_spec(options):
    """A role's meta/argument_specs.yml options as an argument spec ArgumentSpecValidator takes."""
    spec = {}
    for name, option in (options or {}).items():
        option = dict((key, value) for key, value in option.items() if key not in _DOC_KEYS)
        if "options" in option:
            option["options"] = validator_spec(option["options"])
        spec[name] = option
    return spec


def check_argument_specs(host, settings, spec, validator=None):
    """The roles' argument specs for one host: (the values with their types applied, problems). `validator`: an
    ArgumentSpecValidator of `spec` made earlier, to reuse."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    given = dict((name, value) for name, value in settings.items() if name in spec)
    result = (validator or ArgumentSpecValidator(spec)).validate(given, validate_role_argument_spec=True)
    problems = []
    for error in result.errors:
        message = str(error)
        variable = next((name for name in sorted(spec, key=len, reverse=True) if name in message), None)
        expected = spec.get(variable, {}) if variable else {}
        fix = "set it to a value of type %s" % expected.get("type", "raw")
        if expected.get("choices"):
            fix = "set it to one of %s" % ", ".join(str(choice) for choice in expected["choices"])
        if expected.get("elements"):
            fix += " of %s" % expected["elements"]
        problems.append(Problem(host, variable, settings.get(variable) if variable else None,
                                "is not valid: %s" % message, fix + " (docs/roles/ lists every variable)."))
    validated = dict(settings)
    validated.update(result.validated_parameters)
    return validated, problems


# ---- the rules of the inventory ----------------------------------------------------------------

def check_groups(head_hosts):
    if len(head_hosts) == 1:
        return []
    return [Problem(
        "the inventory", None, None,
        "the inventory group ray_head must hold exactly one host; it holds %d (%s)"
        % (len(head_hosts), ", ".join(head_hosts) or "none"),
        "put the head server, and only it, in ray_head; workers go in ray_workers.")]


LIST_SETTINGS = (CLUSTER, ADMIN, PROMETHEUS, "ufw_ssh_sources", "ray_cluster_verify_workloads")


def check_lists(node):
    """Strings where lists are expected: Ansible would split them into characters or on commas."""
    problems = []
    for name in LIST_SETTINGS + (node.prefix + "extra_args",):
        value = node.get(name)
        if isinstance(value, str):
            problems.append(Problem(
                node.host, name, value, "is a string, but a list is expected",
                "write it as a YAML list, for example %s: [%s]" % (name, ", ".join(
                    "'%s'" % part.strip() for part in value.split(",") if part.strip()) or "...")))
    return problems


def check_networks(node):
    problems = []
    cidrs = node.get(CLUSTER)
    if isinstance(cidrs, list):
        bad = [net for net in cidrs if not is_network(net)]
        if not cidrs or bad:
            problems.append(Problem(
                node.host, CLUSTER, cidrs,
                "must list the cluster's networks in CIDR notation with no host bits set; invalid: %s"
                % (show(bad) if bad else "the list is empty"),
                "for example ray_cluster_cidrs: ['10.0.0.0/24']."))
    for name in (ADMIN, PROMETHEUS):
        value = node.get(name)
        if isinstance(value, list):
            bad = [net for net in value if not is_network(net)]
            if bad:
                problems.append(Problem(
                    node.host, name, value,
                    "must list networks in CIDR notation with no host bits set; invalid: %s" % show(bad),
                    "for example ['10.0.0.0/24'], or leave it unset to use ray_cluster_cidrs."))
    return problems


def check_address(node):
    ip = node.ip
    cidrs = node.get(CLUSTER) if isinstance(node.get(CLUSTER), list) else []
    if not is_address(ip):
        why = "is not a valid IP address"
    elif cidrs and all(is_network(net) for net in cidrs) and not in_networks(ip, cidrs):
        why = "is outside ray_cluster_cidrs=%s" % ",".join(cidrs)
    else:
        return []
    return [Problem(node.host, "ray_cluster_node_ip", ip, why,
                    "set ray_cluster_node_ip (or ansible_host) to the node's address on the cluster network.")]


def check_unique_addresses(nodes):
    seen = {}
    for node in nodes:
        seen.setdefault(str(node.ip), []).append(node.host)
    shared = [(ip, hosts) for ip, hosts in seen.items() if len(hosts) > 1]
    if not shared:
        return []
    listing = ", ".join("%s=%s" % (node.host, node.ip) for node in nodes if len(seen[str(node.ip)]) > 1)
    return [Problem("the inventory", None, None,
                    "two or more hosts in ray_cluster have the same ray_cluster_node_ip: %s" % listing,
                    "give each node its own address.")]


def check_version(node):
    version = node.get("ray_cluster_version")
    image = node.get("ray_cluster_image")
    parsed = version_tuple(version)
    if parsed is None:
        return [Problem(node.host, "ray_cluster_version", version, "is not a Ray release number",
                        'set it to one, for example "2.60.0".')]
    tag = image_tag_version(image)
    if tag and tag != str(version):
        return [Problem(node.host, "ray_cluster_image", image,
                        "is tagged %s, but ray_cluster_version=%s" % (tag, version),
                        "set ray_cluster_version to the image's version (ray_cluster_image then defaults to "
                        "rayproject/ray:VERSION).")]
    if parsed < VERSION_FLOOR and not node.get("ray_cluster_allow_insecure_version"):
        floor = "%d.%d.%d" % VERSION_FLOOR
        return [Problem(node.host, "ray_cluster_version", version,
                        "is older than %s, the oldest release this collection deploys: older ones have "
                        "published CVEs" % floor,
                        "use %s or later (default 2.60.0), or, if you must run it, set "
                        "ray_cluster_allow_insecure_version: true." % floor)]
    return []


def check_container_user(node):
    user = node.get("ray_cluster_container_user")
    if re.match(r"^\d+:\d+$", str(user)):
        return []
    return [Problem(node.host, "ray_cluster_container_user", user,
                    "must be a numeric UID:GID, so that Ray's files on the node can be given to it",
                    '"1000:100" (rayproject/ray\'s ray user), or the UID:GID your image runs Ray as.')]


def check_token(node, token):
    if node.get("ray_cluster_auth_mode") != "token":
        return []
    if token is None or len(str(token)) < TOKEN_MIN_LENGTH or not _TOKEN_CHARACTERS.fullmatch(str(token)):
        return [Problem(
            node.host, "ray_cluster_auth_token", None,
            "is %d characters long, or holds characters other than letters, digits and ._~+/=- (an HTTP "
            "header carries it): a token must be at least %d of those" % (len(str(token or "")), TOKEN_MIN_LENGTH),
            "unset it to use the one generated in ray_cluster_auth_token_file=%s, or set a longer one (for "
            "example `openssl rand -hex 32 | tr -d '\\n'`, without its newline) in an Ansible Vault-encrypted variable."
            % node.get("ray_cluster_auth_token_file"), show_value=False)]
    return []


def check_tls_files(node):
    if not node.get("ray_cluster_tls_enabled"):
        return []
    names = ("ray_cluster_tls_ca_cert", "ray_cluster_tls_cert", "ray_cluster_tls_key")
    given = [name for name in names if not _empty(node.get(name))]
    if len(given) in (0, 3):
        return []
    return [Problem(
        node.host, None, None, "your own TLS files need all three",
        subject=", ".join("%s=%s" % (name, show(node.get(name))) for name in names),
        fix="set the CA certificate and this node's certificate and key, or none of them to have the collection "
        "generate a CA and the certificates in ray_cluster_tls_dir.")]


def check_ports(node):
    problems = []
    ports = node.ports()
    low, high = node.port(WORKER_RANGE[0]), node.port(WORKER_RANGE[1])
    everything = [(port.variable, number) for port, number in ports] + [(WORKER_RANGE[0], low), (WORKER_RANGE[1], high)]
    for variable, number in everything:
        if number is None or not LOWEST_UNPRIVILEGED_PORT <= number <= 65535:
            problems.append(Problem(
                node.host, variable, node.get(variable),
                "is not a port Ray can bind: a port is a number from %d to 65535 (Ray runs as an ordinary user "
                "with every capability dropped, so it cannot bind the privileged ports below %d)"
                % (LOWEST_UNPRIVILEGED_PORT, LOWEST_UNPRIVILEGED_PORT),
                "choose a free port in that range."))
    if problems:
        return problems
    by_number = {}
    for port, number in ports:
        by_number.setdefault(number, []).append(port.variable)
    for number, variables in sorted(by_number.items()):
        if len(variables) > 1:
            problems.append(Problem(
                node.host, None, None, "two Ray settings on the same port; Ray would fail to bind the second",
                subject=" and ".join("%s=%d" % (variable, number) for variable in variables), fix="give each its own port (defaults: %s)."
                % ", ".join("%s %d" % (port.name.replace("_", " "), port.default) for port in PORTS)))
    for port, number in ports:
        if low <= number <= high:
            problems.append(Problem(
                node.host, port.variable, number,
                "lies inside the worker port range %s=%d..%s=%d, so a worker process could take it"
                % (WORKER_RANGE[0], low, WORKER_RANGE[1], high),
                "move that port out of the range, or the range away from it."))
    cpus = _number(node.own("num_cpus")[1]) or 0
    needed = max(100, int(2 * cpus))
    if high - low + 1 < needed:
        problems.append(Problem(
            node.host, None, None,
            "they give %d worker port(s); Ray needs one per worker process, at least %d here "
            "(100, or 2 per logical CPU, %snum_cpus=%s)"
            % (max(0, high - low + 1), needed, node.prefix, node.own("num_cpus")[1]),
            subject="%s=%d and %s=%d" % (WORKER_RANGE[0], low, WORKER_RANGE[1], high), fix="widen the range, for example 10002..19999."))
    return problems


def check_resources(node):
    """Ranges of the role's resource settings: no negative count, sizes that parse, a big enough store."""
    problems = []
    name, value = node.own("num_cpus")
    number = _number(value)
    if number is None or number < 0:
        problems.append(Problem(node.host, name, value,
                                "is not a count Ray accepts (Ray: \"Resource quantities must be nonnegative\")",
                                "a number of 0 or more, such as 4."))
    problems += _problems_of(node.host, _accelerators.check_gpu_settings(
        node.prefix, node.own("num_gpus")[1], node.own("gpu_devices")[1]))
    problems += _problems_of(node.host, _accelerators.check_resources(node.prefix, node.own("resources")[1]))
    problems += _problems_of(node.host, _accelerators.check_labels(node.prefix, node.own("labels")[1]))
    for key in ("memory", "object_store_memory", "shm_size", "container_memory"):
        name, value = node.own(key)
        if _empty(value):
            if key in ("memory", "object_store_memory"):
                problems.append(Problem(node.host, name, value, "is not a size", SIZE_HINT + "."))
            continue
        try:
            parse_size(value)
        except SizeError:
            problems.append(Problem(node.host, name, value, "is not a size", SIZE_HINT + "."))
    store_name, store_value = node.own("object_store_memory")
    store = node.size("object_store_memory")
    if store is not None and store < OBJECT_STORE_MINIMUM_BYTES:
        problems.append(Problem(node.host, store_name, store_value,
                                "is below Ray's minimum object store of 75 MiB (%d bytes)" % OBJECT_STORE_MINIMUM_BYTES,
                                "set it to 75MiB or more, for example 2GB."))
    shm_name, shm_value = node.own("shm_size")
    shm = node.size("shm_size")
    if store is not None and shm is not None and store > shm:
        problems.append(Problem(
            node.host, store_name, store_value,
            "does not fit in %s=%s, the container's /dev/shm, where Ray keeps the object store" % (shm_name, shm_value),
            "raise %s above the object store (about 10%% more), or leave it empty: the object store plus 10%% plus "
            "256MiB." % shm_name))
    limit_name, limit_value = node.own("container_memory")
    limit = node.size("container_memory")
    if store is not None and limit is not None and limit < store:
        problems.append(Problem(
            node.host, limit_name, limit_value,
            "cannot hold %s=%s: the object store lives in the container's memory, which Docker would kill at "
            "this limit" % (store_name, store_value),
            "raise %s above the object store and Ray's memory, or leave it empty for no limit." % limit_name))
    cpus_name, cpus_value = node.own("container_cpus")
    if not _empty(cpus_value):
        number = _number(cpus_value)
        if number is None or number <= 0:
            problems.append(Problem(node.host, cpus_name, cpus_value, "is not a CPU count",
                                    "a positive number such as 2 or 1.5 (Docker's --cpus), or empty for no limit."))
    name = node.get("ray_cluster_wait_timeout")
    if (_number(name) or 0) <= 0:
        problems.append(Problem(node.host, "ray_cluster_wait_timeout", name, "is not a positive number of seconds",
                                "for example 120."))
    stop = node.get("ray_cluster_stop_timeout")
    if _number(stop) is None or _number(stop) < 0:
        problems.append(Problem(node.host, "ray_cluster_stop_timeout", stop, "is not 0 or more seconds",
                                "for example 30."))
    if node.role == WORKER:
        name, deadline = node.own("drain_deadline")
        if _number(deadline) is None or _number(deadline) < 0:
            problems.append(Problem(node.host, name, deadline, "is not 0 or more seconds",
                                    "for example 60 (the seconds running tasks get to finish), or 0 for no drain."))
    return problems


def check_extra_args(node):
    name, args = node.own("extra_args")
    problems = []
    for arg in args if isinstance(args, list) else []:
        flag = str(arg).split("=", 1)[0]
        if flag in PINNED_FLAGS:
            instead = PINNED_FLAGS[flag].replace("PREFIX", node.prefix)
            problems.append(Problem(
                node.host, name, args,
                "passes %s, which the collection pins itself (the firewall and the checks would follow the "
                "variable, not the flag)" % flag,
                "remove %s from %s and set %s instead." % (flag, name, instead)))
    return problems


DATA_DIR_FIX = ("choose a directory of Ray's own that is new or empty, for example /data/ray (the collection creates "
                "it and marks it with a %s file; teardown removes only directories so marked)" % _data_dir.MARKER)


def data_dir_settings(node):
    """(variable, path) of each data directory the node may use: ray_cluster_data_dir when set, else the default
    and, for a snap Docker, ray_cluster_snap_data_dir (which one only the node's facts tell)."""
    configured = node.get("ray_cluster_data_dir")
    if not _empty(configured):
        return [("ray_cluster_data_dir", str(configured))]
    return [("ray_cluster_data_dir", DEFAULT_DATA_DIR), ("ray_cluster_snap_data_dir", str(node.get("ray_cluster_snap_data_dir")))]


def check_data_dir(node):
    """A data directory is never /, a system directory or a relative path (before any node is read)."""
    problems = []
    for variable, path in data_dir_settings(node):
        why = _data_dir.path_problem(path)
        if why:
            problems.append(Problem(node.host, variable, path, why, DATA_DIR_FIX + "."))
    keep = node.get("ray_cluster_sessions_keep")
    if _int(keep) is None or _int(keep) < 1:
        problems.append(Problem(node.host, "ray_cluster_sessions_keep", keep,
                                "is not a count of 1 or more (Ray's current session is always kept)",
                                "for example 5."))
    return problems


def check_firewall_sources(node):
    if node.get("ufw_allow_ray_ports_from_anywhere"):
        return []
    world = []
    for port, _number_ in node.ports():
        for source in node.get(port.sources) or []:
            if str(source) in WORLD_SOURCES and str(source) not in world:
                world.append(str(source))
    if not world:
        return []
    return [Problem(
        node.host, None, None,
        "the sources %s come from ray_cluster_cidrs, ray_cluster_admin_cidrs or ray_cluster_prometheus_cidrs. "
        "Anyone who reaches Ray can run code on it" % ", ".join(world),
        subject="Ray ports would be open to the world", fix="list your cluster's networks there (for example 10.0.0.0/24), or, if you really mean it, set "
        "ufw_allow_ray_ports_from_anywhere: true.")]


def check_agreement(nodes, head, tokens):
    """Settings every node must share with the head."""
    problems = []
    for node in nodes:
        if node is head:
            continue
        for name in SHARED_WITH_HEAD:
            mine, theirs = node.get(name), head.get(name)
            if str(mine) != str(theirs):
                problems.append(Problem(
                    node.host, name, mine,
                    "but %s on the head %s: head and workers must agree on it (Ray refuses a node whose version "
                    "differs, and a worker would look for the head on its own ports)" % (show(theirs), head.host),
                    "set %s once, for the whole ray_cluster group, not per host." % name))
        if node.get("ray_cluster_auth_mode") == "token" and head.get("ray_cluster_auth_mode") == "token":
            if tokens.get(node.host) != tokens.get(head.host):
                problems.append(Problem(
                    node.host, "ray_cluster_auth_token", None,
                    "differs from the head's (%s); values not shown. Ray refuses a node whose token differs" % head.host,
                    "set ray_cluster_auth_token once, for the whole ray_cluster group, not per host.",
                    show_value=False))
    return problems


def check_node_facts(node, facts):
    """What needs the node itself: root, its CPUs and memory, a snap Docker, other processes on Ray's ports."""
    uid = facts.get("user_uid")
    if uid not in (0, None):
        # Without root the node's other processes are hidden too: the port checks below could not be trusted.
        return [Problem(
            node.host, None, None,
            "changing the firewall needs root on %s (and so do Docker and Ray's directories), but the play runs there "
            "as uid %s without privilege escalation" % (node.host, uid),
            "run it with --become (add --ask-become-pass if sudo asks for a password), or set ansible_become: true "
            "for this host.")]
    problems = []
    cpus = facts.get("cpus")
    limit_name, limit = node.own("container_cpus")
    if cpus and not _empty(limit) and (_number(limit) or 0) > cpus:
        problems.append(Problem(
            node.host, limit_name, limit,
            "but the node has %d vCPU(s): Docker refuses it (\"Range of CPUs is from 0.01 to %.2f\")" % (cpus, cpus),
            "set it to %d or less, or leave it empty for no limit. (%snum_cpus, Ray's logical CPUs, may exceed "
            "the host's.)" % (cpus, node.prefix)))
    memory = facts.get("memory_bytes")
    if memory:
        shown = "%.1f GB (%d MiB)" % (memory / 1e9, memory // 1048576)
        for key in ("memory", "object_store_memory", "container_memory"):
            name, value = node.own(key)
            size = node.size(key)
            if size is not None and size > memory:
                problems.append(Problem(node.host, name, value, "is more than the node's memory, %s" % shown,
                                        "set it to less than that, in bytes or a size such as 8GB or 8GiB."))
        ray_memory, store = node.size("memory"), node.size("object_store_memory")
        if not problems and ray_memory is not None and store is not None and ray_memory + store > memory:
            problems.append(Problem(
                node.host, None, None,
                "together they are more than the node's memory, %s: Ray promises memory the node does not have "
                "(Ray accepts it, and the seed's Server 80 ran so; tasks that use it all would be killed)" % shown,
                subject="%smemory=%s plus %sobject_store_memory=%s" % (
                    node.prefix, node.own("memory")[1], node.prefix, node.own("object_store_memory")[1]),
                fix="lower one of them so that together they fit.", warning=True))
    problems += _problems_of(node.host, _accelerators.check_gpu_node(
        node.prefix, node.own("num_gpus")[1], node.own("gpu_devices")[1], facts,
        bool(node.get("docker_nvidia_toolkit_install"))))
    if facts.get("snap_docker"):
        data_dir = node.get("ray_cluster_data_dir")
        name = "ray_cluster_data_dir" if not _empty(data_dir) else "ray_cluster_snap_data_dir"
        path = data_dir if not _empty(data_dir) else node.get("ray_cluster_snap_data_dir")
        if not re.match(r"^/home/[^/]", str(path)) or "/../" in str(path) + "/":
            problems.append(Problem(
                node.host, name, path,
                "cannot be mounted: Docker on this node is the snap package (/snap/bin/docker), which cannot mount "
                "paths outside /home",
                "set %s to a directory under /home, for example /home/ray-data." % name))
    problems += check_data_dir_facts(node, facts)
    ports = dict((number, port) for port, number in node.ports())
    for listener in facts.get("listeners") or []:
        port = ports.get(listener.get("port"))
        if port is None or listener.get("ours"):
            continue
        holder = listener.get("process") or "an unknown process"
        where = (" in container %s" % listener["container"]) if listener.get("container") else ""
        problems.append(Problem(
            node.host, port.variable, listener["port"],
            "is in use: port %s (%s) is held by %s, pid %s%s"
            % (listener["port"], listener.get("address"), holder, listener.get("pid"), where),
            "stop that process, or move Ray to a free port (for example %s: %d; the firewall follows the variable)."
            % (port.variable, listener["port"] + 1)))
    return problems


# ---- what is already on the node: another engine, another firewall -----------------------------------

# The roles that change a node after the preflight and have checks of their own here: each is checked only where
# it will run (the run selects it, see roles_selected; and the plan does not find the node in sync already).
DOCKER_ROLE = "docker"
UFW_ROLE = "ufw"

# Installed packages that the package docker_install_source would install conflicts with: apt would remove them
# (and so stop every container of the engine they are) to install ours. Debian's docker.io declares
# `Conflicts: docker-ce, docker-ce-cli, docker-ce-rootless-extras` (bookworm's 20.10.24), and needs Debian's
# containerd, which containerd.io conflicts with; Docker's docker-ce and containerd.io conflict with docker.io and
# containerd; all of them ship /usr/bin/docker as moby-engine and podman-docker do. Package -> (the engine it is, how to start it).
_DOCKER_CE = ("Docker CE", "systemctl start docker")
ENGINE_CONFLICTS = {
    "debian": (("docker-ce", _DOCKER_CE), ("docker-ce-cli", _DOCKER_CE), ("docker-ce-rootless-extras", _DOCKER_CE),
               ("containerd.io", _DOCKER_CE),
               ("moby-engine", ("Moby", "systemctl start docker")),
               ("podman-docker", ("Podman's Docker emulation", "systemctl start podman.socket"))),
    "docker_ce": (("docker.io", ("Debian's docker.io", "systemctl start docker")),
                  ("containerd", ("Debian's containerd", None)),
                  ("moby-engine", ("Moby", "systemctl start docker")),
                  ("podman-docker", ("Podman's Docker emulation", "systemctl start podman.socket"))),
}
# What each docker_install_source installs, as the refusal names it.
ENGINE_INSTALLED_BY = {"debian": "Debian's docker.io", "docker_ce": "Docker's docker-ce and containerd.io"}
# Debian's ufw declares `Breaks: iptables-persistent, netfilter-persistent`: installing it removes them, and the
# rules they restore at boot are gone with them. No opt-in helps: apt would remove them all the same.
UFW_BREAKS = ("iptables-persistent", "netfilter-persistent")
# Tables of the ruleset that are not another firewall: iptables-nft's (where UFW's and Docker's iptables rules
# live; ebtables-nft and arptables-nft make the bridge and arp ones) and Docker's own nftables tables (Docker 29's
# nftables backend: "docker-bridges", ...).
IPTABLES_NFT_TABLES = frozenset(
    [(family, name) for family in ("ip", "ip6") for name in ("filter", "nat", "mangle", "raw", "security")]
    + [("arp", "filter"), ("bridge", "filter"), ("bridge", "nat"), ("bridge", "broute")])
COEXIST = "ufw_coexist_with_other_firewalls"


def roles_selected(roles, run_tags, skip_tags):
    """The roles of `roles` (role -> the tag of the play that runs it, or None: untagged, always runs) that a run
    with these --tags/--skip-tags runs. Ansible's rules: a tagged play runs when `all` or its tag or `tagged` is
    asked for, and neither its tag nor `tagged` nor `all` is skipped."""
    run_tags, skip_tags = set(run_tags or ["all"]), set(skip_tags or [])
    selected = set()
    for role, tag in (roles or {}).items():
        if not tag:
            selected.add(role)
        elif run_tags & {"all", "tagged", tag} and not skip_tags & {"all", "tagged", tag}:
            selected.add(role)
    return selected


def foreign_nftables(tables):
    """The tables of the ruleset in force that are neither iptables-nft's (UFW's, Docker's) nor Docker's own."""
    return [table for table in tables or []
            if (table.get("family"), table.get("name")) not in IPTABLES_NFT_TABLES
            and not str(table.get("name") or "").startswith("docker")]


def check_engine_packages(node, facts):
    """Where no engine answers the docker role installs one: refuse when a package it conflicts with is there."""
    docker = facts.get("docker") or {}
    if docker.get("answers") or facts.get("snap_docker"):
        return []
    source = str(node.get("docker_install_source"))
    packages = facts.get("packages") or {}
    found = [(name, engine) for name, engine in ENGINE_CONFLICTS.get(source, ()) if name in packages]
    if not found:
        return []
    engine, start = found[0][1]
    names = ", ".join(name for name, _engine in found)
    socket = docker.get("socket") or "/var/run/docker.sock"
    if start:
        fix = ("start it (%s) - the collection never replaces an installed engine. If it listens on another socket, or "
               "you mean to replace it, remove %s yourself first." % (start, names))
    else:
        fix = ("set docker_install_source: debian (Debian's docker.io runs on that containerd), or install and start "
               "the engine you want yourself - the collection never replaces what is installed.")
    return [Problem(
        node.host, None, None,
        "%s is installed but its engine does not answer on %s (%s); installing %s (docker_install_source=%s) "
        "conflicts with it: apt would remove %s and stop every container it runs"
        % (engine, socket, names, ENGINE_INSTALLED_BY.get(source, source), source, names),
        fix, subject="Docker")]


def check_other_firewalls(node, facts):
    """Where the ufw role runs: no other firewall beside UFW (unless opted in), and nothing apt removes for ufw."""
    packages = facts.get("packages") or {}
    firewall = facts.get("firewall") or {}
    problems = []
    leave = ("leave this host's firewall alone: site.yml with --skip-tags firewall (every host), or firewall.yml "
             "with --limit '!%s'" % node.host)
    broken = [name for name in UFW_BREAKS if name in packages]
    if broken and "ufw" not in packages:
        problems.append(Problem(
            node.host, None, None,
            "%s %s installed; Debian's ufw declares Breaks: %s, so installing ufw would remove %s and, with %s, the "
            "saved rules %s at boot" % (" and ".join(broken), "are" if len(broken) > 1 else "is", ", ".join(UFW_BREAKS),
                                        "them" if len(broken) > 1 else "it", "them" if len(broken) > 1 else "it",
                                        "they restore" if len(broken) > 1 else "it restores"),
            "%s; or move those rules into UFW and remove %s yourself (apt-get remove %s). %s cannot help here: "
            "apt would remove them all the same." % (leave, " and ".join(broken), " ".join(broken), COEXIST),
            subject="Another firewall"))
    if node.get(COEXIST):
        return problems
    if firewall.get("firewalld_running"):
        problems.append(Problem(
            node.host, None, None,
            "firewalld is running; the ufw role would enable UFW beside it, and the two would overwrite and shadow "
            "each other's netfilter rules",
            "%s; or stop and remove firewalld (systemctl disable --now firewalld); or, if both are meant to run, "
            "set %s: true for this host." % (leave, COEXIST), subject="Another firewall"))
    foreign = foreign_nftables(firewall.get("nftables_tables"))
    if foreign:
        listed = ", ".join("%s %s" % (table.get("family"), table.get("name")) for table in foreign)
        problems.append(Problem(
            node.host, None, None,
            "an nftables ruleset that is neither UFW's nor Docker's is in force (table %s); the ufw role would enable "
            "UFW beside it: a packet must then pass both, and reloading it (its `flush ruleset`) would drop UFW's "
            "rules" % listed,
            "%s; or move those rules into UFW and remove them (nft delete table %s; systemctl disable nftables); or, "
            "if both are meant to run, set %s: true for this host."
            % (leave, "; nft delete table ".join("%s %s" % (t.get("family"), t.get("name")) for t in foreign), COEXIST),
            subject="Another firewall"))
    return problems


def check_data_dir_facts(node, facts):
    """The data directory as it is on the node: missing, empty, made by the collection, or else refused."""
    path = data_dir(node, facts)
    seen = (facts.get("data_dirs") or {}).get(path)
    if seen is None:
        return []
    marker = ((facts.get("paths") or {}).get(marker_path(path)) or {}).get("type") == "file"
    why = _data_dir.existing_problem(seen, marker)
    if why is None:
        return []
    variable = data_dir_settings(node)[-1][0] if facts.get("snap_docker") else "ray_cluster_data_dir"
    return [Problem(node.host, variable, path, why, DATA_DIR_FIX + "; nothing was changed on any node.")]


def marker_path(base):
    return base + "/" + _data_dir.MARKER


# ---- the plan -----------------------------------------------------------------------------------

def data_dir(node, facts=None):
    configured = node.get("ray_cluster_data_dir")
    if not _empty(configured):
        return _data_dir.normalized(configured) or str(configured)
    if facts and facts.get("snap_docker"):
        snap = node.get("ray_cluster_snap_data_dir")
        return _data_dir.normalized(snap) or str(snap)
    return DEFAULT_DATA_DIR


def data_dir_candidates(node):
    """Every directory the node may use as its data directory: which one, only its facts tell (a snap Docker)."""
    return [data_dir(node)] if not _empty(node.get("ray_cluster_data_dir")) else [
        DEFAULT_DATA_DIR, data_dir(node, {"snap_docker": True})]


def shm_bytes(node):
    shm = node.size("shm_size")
    if shm is not None:
        return shm
    return int(node.size("object_store_memory") * 1.1) + 268435456


def _format_number(value):
    number = _number(value)
    return str(int(number)) if number is not None and number.is_integer() else str(value)


def gpu_plan(node, facts=None):
    """The GPUs the node gets (see _accelerators.resolve_gpus); facts None before the node is read."""
    return _accelerators.resolve_gpus(node.own("num_gpus")[1], node.own("gpu_devices")[1], facts)


def ray_start_command(node, head, gpus=None):
    """The container's command: `ray start` with every port pinned."""
    gpus = gpus if gpus is not None else gpu_plan(node)
    role = node.role
    command = ["ray", "start"]
    if role == HEAD:
        command += ["--head", "--block", "--dashboard-host=0.0.0.0"]
        command += ["%s=%d" % (port.flag, node.port(port.variable)) for port in PORTS
                    if port.where == HEAD and port.flag]
    else:
        command += ["--block", "--address=%s:%d" % (head.ip, head.port("ray_cluster_gcs_port"))]
    command += [
        "--num-cpus=%s" % _format_number(node.own("num_cpus")[1]),
        "--num-gpus=%d" % gpus.count,
        "--memory=%d" % node.size("memory"),
        "--object-store-memory=%d" % node.size("object_store_memory"),
        "--node-ip-address=%s" % node.ip,
    ]
    command += ["%s=%d" % (port.flag, node.port(port.variable)) for port in PORTS
                if port.where == EVERY_NODE and port.flag]
    command += ["%s=%d" % (flag, node.port(variable)) for flag, variable in zip(WORKER_RANGE_FLAGS, WORKER_RANGE)]
    command += ["--disable-usage-stats"]
    command += _accelerators.resource_flags(node.own("resources")[1], node.own("labels")[1])
    extra = node.own("extra_args")[1]
    return command + [str(arg) for arg in (extra if isinstance(extra, list) else [])]


def firewall_rules(node, ssh_port, store_for=None):
    """UFW rules, SSH first (added before default-deny): port, sources, comment. store_for: the head, on the host
    that runs its GCS store (Redis's port is opened to the head alone)."""
    rules = [{"port": str(ssh_port), "sources": list(node.get("ufw_ssh_sources") or []), "comment": "SSH"}]
    if store_for is not None:
        rules.append({"port": str(node.port(REDIS_PORT)), "sources": ["%s/32" % store_for.ip], "comment": REDIS_COMMENT})
    for port, number in node.ports():
        rules.append({"port": str(number), "sources": list(node.get(port.sources) or []), "comment": port.comment})
    rules.append({"port": "%d:%d" % (node.port(WORKER_RANGE[0]), node.port(WORKER_RANGE[1])),
                  "sources": list(node.get(CLUSTER) or []), "comment": WORKER_RANGE_COMMENT})
    return rules


def container_plan(node, head, token_sha, facts=None, gcs=None):
    """Everything about the node's container; its hash decides whether a running one is replaced. gcs: the GCS
    store (address, namespace, password_sha) when fault tolerance is on."""
    base = data_dir(node, facts)
    uid, gid = str(node.get("ray_cluster_container_user")).split(":")
    secrets = base + "/" + _data_dir.SECRETS_SUBDIR
    auth = node.get("ray_cluster_auth_mode") == "token"
    tls = bool(node.get("ray_cluster_tls_enabled"))
    env = {}
    if auth:
        env.update({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": SECRETS_IN_CONTAINER + "/auth_token"})
    if tls:
        env.update({"RAY_USE_TLS": "1",
                    "RAY_TLS_CA_CERT": SECRETS_IN_CONTAINER + "/tls/ca.crt",
                    "RAY_TLS_SERVER_CERT": SECRETS_IN_CONTAINER + "/tls/node.crt",
                    "RAY_TLS_SERVER_KEY": SECRETS_IN_CONTAINER + "/tls/node.key"})
    for port in PORTS:
        if port.env and port.on(node.role):
            env[port.env] = str(node.port(port.variable))
    command = None
    if gcs and node.role == HEAD:
        env.update({"RAY_REDIS_ADDRESS": gcs["address"], "RAY_external_storage_namespace": gcs["namespace"]})
        # `ray start` takes the password as an argument only: the shell reads it from the secrets file at start.
        command = ["/bin/sh", "-c", 'exec "$0" "$@" --redis-password="$(cat %s/%s)"' % (SECRETS_IN_CONTAINER, REDIS_PASSWORD_FILE)]
    elif gcs:
        env["RAY_gcs_rpc_server_reconnect_timeout_s"] = str(_int(node.get(GCS_FT_RECONNECT)))
    cpus = node.own("container_cpus")[1]
    memory = node.size("container_memory")
    gpus = gpu_plan(node, facts if facts else None)
    container = {
        "name": str(node.own("container_name")[1]),
        "image": str(node.get("ray_cluster_image")),
        "command": (command or []) + ray_start_command(node, head, gpus),
        "env": env,
        "labels": {
            ROLE_LABEL: node.role,
            "io.wizardsofts.ray.version": str(node.get("ray_cluster_version")),
            # A new token must restart the node: the label changes with it, without revealing it.
            "io.wizardsofts.ray.auth": ("token-sha256:" + token_sha[:16]) if auth else "disabled",
        },
        "binds": ["%s/%s:%s" % (base, _data_dir.SESSION_SUBDIR, SESSION_IN_CONTAINER), "%s:%s:ro" % (secrets, SECRETS_IN_CONTAINER)],
        "user": str(node.get("ray_cluster_container_user")),
        "shm_size": shm_bytes(node),
        "cpus": _number(cpus) if not _empty(cpus) else None,
        "memory": memory,
        "restart_policy": str(node.get("ray_cluster_restart_policy")),
        "stop_timeout": _int(node.get("ray_cluster_stop_timeout")),
        "security_opts": ["no-new-privileges:true"] if node.get("ray_cluster_no_new_privileges") else [],
    }
    # Only on a node that gets GPUs: a CPU node keeps the configuration (and the hash) it always had.
    if gpus.device_requests():
        container["device_requests"] = gpus.device_requests()
    if gcs and node.role == HEAD:
        # A new Redis password must restart the head: the label changes with it, without revealing it.
        container["labels"]["io.wizardsofts.ray.gcs-store"] = "password-sha256:" + gcs["password_sha"][:16]
    directories = [
        # The marker says the collection made the directory: only so marked directories are ever removed.
        {"path": base, "owner": 0, "group": 0, "mode": "0750", "marker": _data_dir.MARKER},
        # Ray makes its temp root 0777 at each start whatever it was; the 0750 parent keeps others out.
        {"path": base + "/" + _data_dir.SESSION_SUBDIR, "owner": int(uid), "group": int(gid), "mode": "0777"},
        {"path": secrets, "owner": int(uid), "group": int(gid), "mode": "0700"},
    ]
    absent = [] if auth else [secrets + "/auth_token"]
    if not tls:
        absent.append(secrets + "/tls")
    if not (gcs and node.role == HEAD):
        absent.append(secrets + "/" + REDIS_PASSWORD_FILE)
    return container, directories, absent, secrets


def config_hash(container):
    """The hash of everything the plan knows about a container (not its certificate: see deployed_hash)."""
    return hashlib.sha256(json.dumps(container, sort_keys=True).encode("utf-8")).hexdigest()


def deployed_hash(base_hash, tls_label):
    """The hash the container carries: with TLS, the certificate's fingerprint is chained in, because the
    certificate may be made (or renewed) on the controller after the plan, in the same run. The roles compute
    the same thing in YAML: (config_hash ~ tls_label) | hash('sha256')."""
    if not tls_label or tls_label == "disabled":
        return base_hash
    return hashlib.sha256((base_hash + tls_label).encode("utf-8")).hexdigest()


def metrics_targets(node):
    return ["%s:%d" % (node.ip, node.port(port.variable)) for port in PORTS if port.scraped and port.on(node.role)]


# ---- GCS fault tolerance: the head keeps the cluster's tables in Redis (docs/day2.md) ------------------------------
# With it, a restarted head reloads nodes, actors, placement groups and jobs from Redis, and the workers' raylets
# wait for it (RAY_gcs_rpc_server_reconnect_timeout_s) instead of exiting into a new, empty cluster.
GCS_FT = "ray_cluster_gcs_ft_enabled"
GCS_FT_ADDRESS = "ray_cluster_gcs_ft_redis_address"
GCS_FT_PASSWORD = "ray_cluster_gcs_ft_redis_password"
GCS_FT_NAMESPACE = "ray_cluster_gcs_ft_namespace"
GCS_FT_RECONNECT = "ray_cluster_gcs_ft_worker_reconnect_timeout"
REDIS_GROUP = "ray_redis"
REDIS_PORT = "ray_redis_port"
REDIS_COMMENT = "Ray GCS store (Redis)"
REDIS_PASSWORD_MIN_LENGTH = 16
# Ray starts the head's GCS with the password on its command line (Ray's own design); the container's command
# reads it from a 0600 file, so it is in no container configuration, label, plan or task result.
REDIS_PASSWORD_FILE = "redis_password"
REDIS_CONFIG_IN_CONTAINER = "/etc/wizardsofts-ray-redis"
REDIS_DATA_IN_CONTAINER = "/data"
GCS_STORE_ROLE = "gcs-store"
_NAMESPACE_CHARACTERS = re.compile(r"[A-Za-z0-9_-]+")
# Ray's own default on the head is 60 s: a worker must wait longer than the head takes to come back.
RAY_DEFAULT_RECONNECT_SECONDS = 60


def gcs_ft_enabled(node):
    # A bool: the roles' argument specs converted the inventory's value before the model sees it.
    return bool(node.get(GCS_FT))


def gcs_store_address(head, store):
    """host:port of the Redis the head uses: the operator's own, or the ray_redis host's (None when not known)."""
    explicit = head.get(GCS_FT_ADDRESS)
    if not _empty(explicit):
        return str(explicit).strip()
    if store is not None and store.port(REDIS_PORT) is not None:
        return "%s:%d" % (store.ip, store.port(REDIS_PORT))
    return None


def gcs_namespace(head):
    """Ray's storage namespace in Redis: one per cluster, so two clusters can share a Redis."""
    namespace = head.get(GCS_FT_NAMESPACE)
    return str(namespace).strip() if not _empty(namespace) else "wizardsofts-ray-" + head.host


def redis_password_fingerprint(password):
    return token_fingerprint(password) if not _empty(password) else ""


def _split_address(address):
    host, _sep, port = str(address).rpartition(":")
    number = _int(port)
    if not host or number is None or not 1 <= number <= 65535:
        return None
    return host.strip("[]"), number


def check_gcs_ft(nodes, head, store_hosts, by_host):
    """GCS fault tolerance: a Redis to use (one, and only one way to say which), a password, settings that parse."""
    if head is None or not gcs_ft_enabled(head):
        return []
    problems = []
    explicit = head.get(GCS_FT_ADDRESS)
    fix_where = ("set %s to your Redis (HOST:PORT), or put one host of ray_cluster into the inventory group %s "
                 "(the ray_redis role then runs Redis there)" % (GCS_FT_ADDRESS, REDIS_GROUP))
    if not _empty(explicit) and store_hosts:
        problems.append(Problem(
            head.host, GCS_FT_ADDRESS, explicit,
            "is set and the group %s holds %s as well: the head can use only one Redis" % (REDIS_GROUP, ", ".join(store_hosts)),
            "empty the group %s to use your own Redis, or unset %s to have the collection run one." % (REDIS_GROUP, GCS_FT_ADDRESS)))
    elif not _empty(explicit):
        if _split_address(explicit) is None:
            problems.append(Problem(head.host, GCS_FT_ADDRESS, explicit, "is not HOST:PORT (a port from 1 to 65535)",
                                    "for example %s: 10.0.0.5:6379." % GCS_FT_ADDRESS))
    elif not store_hosts:
        problems.append(Problem(head.host, GCS_FT, True, "but no Redis is named for the GCS's tables", fix_where + "."))
    elif len(store_hosts) > 1:
        problems.append(Problem(
            "the inventory", None, None,
            "the group %s holds %d hosts (%s); the collection runs one Redis (no replication or Sentinel)"
            % (REDIS_GROUP, len(store_hosts), ", ".join(store_hosts)), "keep one host in %s." % REDIS_GROUP))
    else:
        host = store_hosts[0]
        store = by_host.get(host)
        if store is None:
            problems.append(Problem(
                "the inventory", None, None, "the group %s holds %s, which is not in ray_cluster: the collection runs Redis only "
                "on a host it also manages (its Docker and firewall)" % (REDIS_GROUP, host),
                "add %s to ray_cluster (as a worker), or run Redis yourself and set %s." % (host, GCS_FT_ADDRESS)))
        else:
            problems += check_redis_port(store)
    password = head.get(GCS_FT_PASSWORD)
    if _empty(password) or len(str(password)) < REDIS_PASSWORD_MIN_LENGTH or not _TOKEN_CHARACTERS.fullmatch(str(password)):
        problems.append(Problem(
            head.host, GCS_FT_PASSWORD, None,
            "is %d characters long, or holds characters other than letters, digits and ._~+/=-: Redis must be "
            "protected by a password of at least %d of those (anyone who writes to it rewrites the cluster)"
            % (len(str(password or "")), REDIS_PASSWORD_MIN_LENGTH),
            "put a random one in an Ansible Vault-encrypted variable, for example from `openssl rand -hex 32`.",
            show_value=False))
    namespace = head.get(GCS_FT_NAMESPACE)
    if not _empty(namespace) and not _NAMESPACE_CHARACTERS.fullmatch(str(namespace)):
        problems.append(Problem(head.host, GCS_FT_NAMESPACE, namespace, "may hold only letters, digits, _ and -",
                                "for example %s: ml-prod, or leave it empty (wizardsofts-ray-HEAD)." % GCS_FT_NAMESPACE))
    for node in nodes:
        if node.role != WORKER:
            continue
        seconds = _int(node.get(GCS_FT_RECONNECT))
        if seconds is None or seconds <= RAY_DEFAULT_RECONNECT_SECONDS:
            problems.append(Problem(
                node.host, GCS_FT_RECONNECT, node.get(GCS_FT_RECONNECT),
                "must be a number of seconds above %d (how long the worker's raylet waits for a restarting head before "
                "it exits; the head's own wait is %d s)" % (RAY_DEFAULT_RECONNECT_SECONDS, RAY_DEFAULT_RECONNECT_SECONDS),
                "leave it at its default, 600 (KubeRay's choice), or set a longer one."))
    for node in nodes:
        if node is not head and node.host in store_hosts and str(node.get(GCS_FT_PASSWORD)) != str(password):
            problems.append(Problem(
                node.host, GCS_FT_PASSWORD, None,
                "differs from the head's (%s); values not shown: Redis and the head must share it" % head.host,
                "set %s once, for the whole ray_cluster group, not per host." % GCS_FT_PASSWORD, show_value=False))
    return problems


def check_redis_port(store):
    """Redis's port on its host: bindable, and none of the host's own Ray ports."""
    number = store.port(REDIS_PORT)
    if number is None or not 1 <= number <= 65535:
        return [Problem(store.host, REDIS_PORT, store.get(REDIS_PORT), "is not a port (a number from 1 to 65535)",
                        "leave it at its default, 6380.")]
    taken = [(port.variable, value) for port, value in store.ports() if value == number]
    low, high = store.port(WORKER_RANGE[0]), store.port(WORKER_RANGE[1])
    if low is not None and high is not None and low <= number <= high:
        taken.append(("the worker port range %s..%s" % WORKER_RANGE, number))
    if taken:
        return [Problem(store.host, REDIS_PORT, number,
                        "is also %s on this node: Redis and Ray would fight over it" % " and ".join(
                            "%s=%s" % pair for pair in taken), "give Redis a port of its own, for example 6380.")]
    return []


def gcs_ft_warnings(head, store):
    warnings = []
    if head is None or not gcs_ft_enabled(head):
        return warnings
    if store is not None and store.host == head.host:
        warnings.append(
            "Redis, the GCS store, runs on the head's own server %s: a reboot of that server stops both; the head "
            "comes back once Redis has reloaded its data (nothing is lost), but a server lost for good takes the "
            "cluster's tables with it. Put another host in the group %s for real fault tolerance." % (head.host, REDIS_GROUP))
    if store is not None and not store.get("ray_redis_appendonly"):
        warnings.append(
            "ray_redis_appendonly is false on %s: Redis keeps the GCS tables in memory and in hourly snapshots "
            "only, so a restart of Redis loses up to an hour of the cluster's changes. Fix: ray_redis_appendonly: true."
            % store.host)
    return warnings


def redis_config_text(store, head):
    """Redis's configuration file, without the password line (the role appends it: it stays out of the plan)."""
    lines = [
        "# Written by wizardsofts.ray: the GCS store of the Ray cluster whose head is %s. Changes here are replaced." % head.host,
        # The node's cluster address and loopback only; the firewall opens the port to the head alone.
        "bind %s 127.0.0.1" % store.ip,
        "port %d" % store.port(REDIS_PORT),
        "protected-mode yes",
        "dir %s" % REDIS_DATA_IN_CONTAINER,
        "appendonly %s" % ("yes" if store.get("ray_redis_appendonly") else "no"),
        "appendfsync everysec",
        "save 3600 1 300 100 60 10000",
        "daemonize no",
    ]
    return "\n".join(lines) + "\n"


def redis_config_content(text, password):
    """The whole file as the role writes it; its hash is how a converged node is recognised."""
    return text + "requirepass %s\n" % password


def gcs_store_plan(store, head, password, facts=None):
    """The ray_redis role's container on the store's host, compared by its hash like a Ray node's."""
    base = str(store.get("ray_redis_data_dir")).rstrip("/") or "/var/lib/ray-redis"
    uid, gid = (int(part) for part in str(store.get("ray_redis_container_user")).split(":"))
    text = redis_config_text(store, head)
    config_path = base + "/config/redis.conf"
    container = {
        "name": str(store.get("ray_redis_container_name")),
        "image": str(store.get("ray_redis_image")),
        "command": ["redis-server", REDIS_CONFIG_IN_CONTAINER + "/redis.conf"],
        "labels": {ROLE_LABEL: GCS_STORE_ROLE,
                   # A new password must restart Redis: the label changes with it, without revealing it.
                   "io.wizardsofts.ray.auth": "password-sha256:" + redis_password_fingerprint(password)[:16]},
        "binds": ["%s/data:%s" % (base, REDIS_DATA_IN_CONTAINER), "%s/config:%s:ro" % (base, REDIS_CONFIG_IN_CONTAINER)],
        "user": "%d:%d" % (uid, gid),
        "restart_policy": str(store.get("ray_cluster_restart_policy")),
        "stop_timeout": _int(store.get("ray_cluster_stop_timeout")),
        "security_opts": ["no-new-privileges:true"],
        "config": text,
    }
    plan = {
        "container": container,
        "config_hash": config_hash(container),
        "config_path": config_path,
        "config_sha256": hashlib.sha256(redis_config_content(text, password).encode("utf-8")).hexdigest(),
        "directories": [
            {"path": base, "owner": 0, "group": 0, "mode": "0750", "marker": _data_dir.MARKER},
            {"path": base + "/data", "owner": uid, "group": gid, "mode": "0700"},
            {"path": base + "/config", "owner": uid, "group": gid, "mode": "0700"},
        ],
        "address": "%s:%d" % (store.ip, store.port(REDIS_PORT)),
        "host": str(store.ip),
        "port": store.port(REDIS_PORT),
        "image_archive": str(store.get("ray_redis_image_archive") or ""),
        "require_persistence": bool(store.get("ray_redis_appendonly")),
        "wait_timeout": _int(store.get("ray_cluster_wait_timeout")),
        "owner": uid,
        "group": gid,
    }
    existing = ((facts or {}).get("containers") or {}).get(container["name"]) if facts else None
    plan["container_state"] = container_state(existing, plan["config_hash"]) if facts else "unknown"
    plan["in_sync"] = bool(facts) and gcs_store_in_sync(plan, facts)
    return plan


def gcs_store_in_sync(plan, facts):
    paths = facts.get("paths") or {}
    return plan["container_state"] == "none" and directories_as_planned(paths, plan["directories"]) and (
        secret_file_as_planned(paths, plan["config_path"], plan["owner"], plan["group"], plan["config_sha256"]))


class ClusterModel(object):
    """Every host's settings, checked together; each node's plan once they pass."""

    def __init__(self, settings, roles, tokens, head_hosts, store_hosts=()):
        # settings: host -> dict of variables (inventory over role defaults, already templated)
        # roles: host -> HEAD or WORKER; tokens: host -> sha256 of its token (or None when auth is off)
        # store_hosts: the inventory group ray_redis (the host that runs Redis for GCS fault tolerance)
        self.nodes = [Node(host, roles[host], settings[host]) for host in settings]
        self.by_host = dict((node.host, node) for node in self.nodes)
        self.tokens = tokens
        self.head_hosts = list(head_hosts)
        self.head = self.by_host.get(self.head_hosts[0]) if len(self.head_hosts) == 1 else None
        self.store_hosts = list(store_hosts)

    @property
    def store(self):
        """The node that runs the head's GCS store (Redis), when fault tolerance is on and the collection runs it."""
        head = self.head
        if head is None or not gcs_ft_enabled(head) or not _empty(head.get(GCS_FT_ADDRESS)) or len(self.store_hosts) != 1:
            return None
        return self.by_host.get(self.store_hosts[0])

    def gcs(self):
        """What the head and the workers need of the GCS store (None when fault tolerance is off)."""
        head = self.head
        if head is None or not gcs_ft_enabled(head):
            return None
        address = gcs_store_address(head, self.store)
        host, port = _split_address(address) or (None, None)
        return {"address": address, "redis_host": host, "redis_port": port, "namespace": gcs_namespace(head),
                "password_sha": redis_password_fingerprint(head.get(GCS_FT_PASSWORD)),
                "host": self.store.host if self.store is not None else None}

    def check(self, raw_tokens=None):
        """Problems of the inventory alone (no node needed), every host at once."""
        problems = check_groups(self.head_hosts)
        for node in self.nodes:
            problems += check_lists(node)
        if problems:
            return problems
        for node in self.nodes:
            for check in (check_networks, check_address, check_version, check_container_user, check_tls_files,
                          check_ports, check_resources, check_extra_args, check_firewall_sources, check_data_dir):
                problems += check(node)
            if raw_tokens is not None:
                problems += check_token(node, raw_tokens.get(node.host))
        problems += check_unique_addresses(self.nodes)
        if self.head is not None:
            problems += check_agreement(self.nodes, self.head, self.tokens)
            problems += check_gcs_ft(self.nodes, self.head, self.store_hosts, self.by_host)
        return problems

    def check_nodes(self, facts_by_host, runs=()):
        """The facts of each node against its settings; `runs`: the roles of this run (DOCKER_ROLE, UFW_ROLE)
        whose own checks apply, on the nodes where that role will act."""
        problems = []
        for host, facts in facts_by_host.items():
            if host in self.by_host and facts:
                node = self.by_host[host]
                found = check_node_facts(node, facts)
                problems += found
                if facts.get("user_uid") not in (0, None):
                    continue  # without root the node could not be read whole: the one problem is that
                if DOCKER_ROLE in runs:
                    problems += check_engine_packages(node, facts)
                if UFW_ROLE in runs and not firewall_in_sync(node, self.firewall_rules(node), facts):
                    problems += check_other_firewalls(node, facts)
        return problems

    def firewall_rules(self, node):
        return firewall_rules(node, node.get("ufw_ssh_port"), self.head if self.store is node else None)

    def warnings(self):
        warnings = gcs_ft_warnings(self.head, self.store)
        head = self.head
        if head is not None and head.get("ray_cluster_auth_mode") == "disabled":
            warnings.append(
                "ray_cluster_auth_mode=disabled: anyone who reaches the dashboard/Jobs API (%s) or the Ray Client "
                "port (%s) can run any code on every node (the ShadowRay attacks). Only the firewall "
                "(ray_cluster_admin_cidrs=%s) stands in the way. Fix: leave ray_cluster_auth_mode at its default, token."
                % (head.get("ray_cluster_dashboard_port"), head.get("ray_cluster_client_server_port"),
                   ",".join(head.get(ADMIN) or [])))
        for node in self.nodes:
            if node.get("ufw_allow_ray_ports_from_anywhere"):
                world = sorted(set(str(s) for port, _n in node.ports() for s in node.get(port.sources) or []
                                   if str(s) in WORLD_SOURCES))
                if world:
                    warnings.append(
                        "ufw_allow_ray_ports_from_anywhere is true and Ray ports on %s are open to %s. Anyone who "
                        "reaches them can run arbitrary code on this cluster (ShadowRay, CVE-2023-48022)."
                        % (node.host, ", ".join(world)))
        return warnings

    def plan(self, facts_by_host=None):
        """Each node's plan. Call only once check() found nothing."""
        facts_by_host = facts_by_host or {}
        head = self.head
        gcs = self.gcs()
        store = self.store
        nodes = {}
        for node in self.nodes:
            facts = facts_by_host.get(node.host) or {}
            container, directories, absent, secrets = container_plan(
                node, head, self.tokens.get(node.host) or "", facts, gcs)
            existing = (facts.get("containers") or {}).get(container["name"]) if facts else None
            nodes[node.host] = {
                "role": node.role,
                "node_ip": str(node.ip),
                "num_cpus": _number(node.own("num_cpus")[1]),
                "container": container,
                "config_hash": config_hash(container),
                "directories": directories,
                "absent_paths": absent,
                "secrets_dir": secrets,
                "data_dir": directories[0]["path"],
                # Seconds a worker's tasks get to finish before its container stops; the head is never drained
                # (stopping it ends the cluster). Not part of the container: changing it replaces nothing.
                "drain_deadline": _int(node.own("drain_deadline")[1]) if node.role == WORKER else 0,
                # Every directory the node may use (which one, a snap Docker decides): node_facts describes them.
                "data_dir_candidates": data_dir_candidates(node),
                # What node_facts describes: those, and Ray's temp root in each (its sessions).
                "described_dirs": [path + sub for path in data_dir_candidates(node) for sub in ("", "/" + _data_dir.SESSION_SUBDIR)],
                "firewall_rules": self.firewall_rules(node),
                "ports": [{"name": port.name, "variable": port.variable, "port": number} for port, number in node.ports()],
                "metrics_targets": metrics_targets(node),
                "container_state": container_state(existing, deployed_hash(
                    config_hash(container), node.get("_tls_cert_label"))) if facts else "unknown",
                # Every path the container task manages, for node_facts to fingerprint.
                "managed_paths": [entry["path"] for entry in directories] + [secrets + "/auth_token"] + absent + [
                    marker_path(path) for path in data_dir_candidates(node)],
            }
            plan = nodes[node.host]
            if gcs and node is head:
                # The head's copy of the Redis password, which its container's command reads at start.
                plan["redis_password_file"] = secrets + "/" + REDIS_PASSWORD_FILE
                plan["managed_paths"].append(plan["redis_password_file"])
            plan["gcs_store"] = gcs_store_plan(node, head, head.get(GCS_FT_PASSWORD), facts) if node is store else None
            plan["runs_gcs_store"] = plan["gcs_store"] is not None
            plan["gcs_store_in_sync"] = plan["gcs_store"] is None or plan["gcs_store"]["in_sync"]
            # What node_facts reads on the node: the Ray container and image, and the GCS store's where it runs.
            plan["facts_containers"] = [container["name"]]
            plan["facts_images"] = [container["image"]]
            if plan["gcs_store"]:
                plan["facts_containers"].append(plan["gcs_store"]["container"]["name"])
                plan["facts_images"].append(plan["gcs_store"]["container"]["image"])
                plan["managed_paths"] += [entry["path"] for entry in plan["gcs_store"]["directories"]] + [
                    plan["gcs_store"]["config_path"]]
            plan["in_sync"] = bool(facts) and in_sync(node, plan, facts, self.tokens.get(node.host),
                                                      gcs["password_sha"] if gcs and node is head else None)
            # Unknown without facts; a container (re)started by this run adds a session, and the role prunes then too.
            plan["prune_sessions"] = not facts or _data_dir.pruning_needed(
                (facts.get("data_dirs") or {}).get(plan["data_dir"] + "/" + _data_dir.SESSION_SUBDIR), _int(node.get("ray_cluster_sessions_keep")))
            gpus = gpu_plan(node, facts if facts else None)
            plan["gpus"] = gpus.as_dict()
            plan["resources"] = dict(node.own("resources")[1] or {})
            plan["labels"] = dict(node.own("labels")[1] or {})
            plan["nvidia_toolkit"] = bool(gpus.count) and bool(node.get("docker_nvidia_toolkit_install"))
            plan["docker_daemon_config"] = docker_daemon_config(
                node, (facts.get("docker") or {}).get("daemon_json"), gpus=gpus.count)
            plan["docker_in_sync"] = bool(facts) and docker_in_sync(plan["docker_daemon_config"], facts) and not (
                plan["nvidia_toolkit"] and _accelerators.TOOLKIT_PACKAGE not in (facts.get("packages") or {}))
            plan["firewall_in_sync"] = bool(facts) and firewall_in_sync(node, plan["firewall_rules"], facts)
        replaced = [host for host, plan in nodes.items() if plan["role"] == WORKER and plan["container_state"] == "replace"]
        return {
            # When several workers must be replaced, this one goes first and alone; the rest follow if it joined.
            "first_replacement": replaced[0] if len(replaced) > 1 else "",
            "head_host": head.host,
            "ray_version": str(head.get("ray_cluster_version")),
            "firewall_comment_prefix": RULE_COMMENT_PREFIX,
            "head_ip": str(head.ip),
            # For admins and their tools (the Jobs API, the dashboard in a browser): only the admin networks reach it.
            "dashboard_url": "http://%s:%d" % (head.ip, head.port("ray_cluster_dashboard_port")),
            # For the collection's own checks (health, membership, jobs): they run on the head and ask it over
            # loopback, so the dashboard port never has to be open to the workers (ray_cluster_admin_cidrs).
            "api_url": "http://127.0.0.1:%d" % head.port("ray_cluster_dashboard_port"),
            "dashboard_port": head.port("ray_cluster_dashboard_port"),
            "gcs_port": head.port("ray_cluster_gcs_port"),
            "gcs_address": "%s:%d" % (head.ip, head.port("ray_cluster_gcs_port")),
            "client_address": "ray://%s:%d" % (head.ip, head.port("ray_cluster_client_server_port")),
            "expected_cpus": sum(plan["num_cpus"] or 0 for plan in nodes.values()),
            "expected_gpus": sum(plan["gpus"]["count"] for plan in nodes.values()),
            # GCS fault tolerance: the Redis the head keeps its tables in (null when it is off).
            "gcs_store": dict(gcs, password_sha=None) if gcs else None,
            "nodes": nodes,
        }


# What playbooks read about every node at once (the membership check, the summary, the play's conditions).
NODE_SUMMARY_FIELDS = ("role", "node_ip", "num_cpus", "gpus", "container_state", "in_sync", "docker_in_sync",
                       "firewall_in_sync", "metrics_targets", "runs_gcs_store", "gcs_store_in_sync")


def for_ansible(plan):
    """The plan as the play receives it: `nodes` keeps, for every node, only what playbooks read across nodes (and
    the container's name); `node_plans` holds each node's whole plan as one JSON document, which the node's roles
    read back with from_json.

    Why: Ansible copies, strips and tags a task's result object by object in the controller's main process, and
    the whole plan of a thousand nodes is about 250,000 objects (3 MB): that took longer than planning them. A
    thousand JSON strings cost it next to nothing, and each node parses only its own."""
    nodes = plan["nodes"]
    result = dict(plan)
    result["nodes"] = dict((host, dict([(field, node[field]) for field in NODE_SUMMARY_FIELDS],
                                       container_name=node["container"]["name"]))
                           for host, node in nodes.items())
    result["node_plans"] = dict((host, json.dumps(node, sort_keys=True)) for host, node in nodes.items())
    return result


def _merged(base, over):
    """Ansible's combine(recursive=true): dicts merged key by key, anything else replaced."""
    result = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merged(result[key], value)
        else:
            result[key] = value
    return result


def docker_daemon_config(node, current, gpus=0):
    """daemon.json as it must be: the operator's keys kept, ours (log rotation, data-root, on a GPU node the nvidia
    runtime) merged in, then docker_daemon_options over both."""
    ours = {"log-driver": "json-file",
            "log-opts": {"max-size": str(node.get("docker_log_max_size")), "max-file": str(node.get("docker_log_max_file"))}}
    if gpus:
        ours["runtimes"] = dict(_accelerators.NVIDIA_RUNTIME)
    if not _empty(node.get("docker_data_root")):
        ours["data-root"] = str(node.get("docker_data_root"))
    return _merged(_merged(current if isinstance(current, dict) else {}, ours), node.get("docker_daemon_options") or {})


def docker_in_sync(config, facts):
    """Whether the docker role has nothing to do: an engine answers (or is a snap, left alone) with our daemon.json."""
    docker = facts.get("docker") or {}
    if facts.get("snap_docker"):
        return True
    return bool(docker.get("answers")) and docker.get("daemon_json_error") is None and docker.get("daemon_json") == config


def firewall_in_sync(node, rules, facts):
    """Whether UFW, as its own files say, already holds exactly what ufw_rules would make of the plan's rules (the
    same comparison, so the ufw role is skipped only when ufw_rules would change nothing)."""
    firewall = facts.get("firewall") or {}
    if "ufw" not in (facts.get("packages") or {}) or not firewall.get("ufw_active") or not firewall.get("ufw_defaults"):
        return False
    try:
        wanted = _ufw.desired_rules([dict(rule, proto="tcp") for rule in rules], RULE_COMMENT_PREFIX)
        current = _ufw.parse_user_rules(firewall.get("ufw_user_rules") or [])
        policies = _ufw.parse_default_policies(firewall["ufw_defaults"])
    except _ufw.RuleError:
        return False
    wanted_policies = {"incoming": node.get("ufw_default_incoming_policy"), "outgoing": node.get("ufw_default_outgoing_policy")}
    plan = _ufw.Plan(wanted, current, [rule.text for rule in current], True, policies, wanted_policies, True,
                     RULE_COMMENT_PREFIX, bool(node.get("ufw_remove_stale_rules")))
    return not plan.changed


def in_sync(node, plan, facts, token_sha, redis_password_sha=None):
    """Whether the node is exactly as planned, so that its container task has nothing to do: the container runs
    with the plan's hash, its directories and token file are as they must be, and what must be gone is gone.
    TLS files are copied by their own tasks, so a TLS node is never called in sync here."""
    if plan["container_state"] != "none" or node.get("ray_cluster_tls_enabled"):
        return False
    paths = facts.get("paths") or {}
    if (paths.get(marker_path(plan["data_dir"])) or {}).get("type") != "file":
        return False
    if not directories_as_planned(paths, plan["directories"]):
        return False
    uid, gid = (int(part) for part in str(node.get("ray_cluster_container_user")).split(":"))
    if node.get("ray_cluster_auth_mode") == "token" and not secret_file_as_planned(
            paths, plan["secrets_dir"] + "/auth_token", uid, gid, token_sha):
        return False
    if redis_password_sha and not secret_file_as_planned(paths, plan["redis_password_file"], uid, gid, redis_password_sha):
        return False
    return all((paths.get(path) or {}).get("exists") is False for path in plan["absent_paths"])


def directories_as_planned(paths, directories):
    """Every planned directory, as node_facts saw it, with its owner, group and mode."""
    return all(((paths.get(entry["path"]) or {}).get("type"), (paths.get(entry["path"]) or {}).get("uid"),
                (paths.get(entry["path"]) or {}).get("gid"), (paths.get(entry["path"]) or {}).get("mode")) == (
                    "directory", entry["owner"], entry["group"], entry["mode"]) for entry in directories)


def secret_file_as_planned(paths, path, uid, gid, sha256):
    """A file with a secret in it (token, Redis password, Redis's configuration): its owner, mode 0600, its content."""
    seen = paths.get(path) or {}
    return (seen.get("type"), seen.get("uid"), seen.get("gid"), seen.get("mode"), seen.get("sha256")) == (
        "file", uid, gid, "0600", sha256)


def container_state(existing, wanted_hash):
    """What the node's container needs: none, start, create or replace."""
    if not existing:
        return "create"
    labels = existing.get("labels") or {}
    if labels.get("io.wizardsofts.ray.config-hash") != wanted_hash:
        return "replace"
    return "none" if existing.get("running") else "start"


def evaluate(hosts, head_hosts, specs, facts=None, unreachable=(), runs=(), store_hosts=()):
    """The whole preflight: (plan or None, problems, warnings).

    hosts: host -> (role, settings as the roles see them); specs: host -> the argument spec of its roles;
    facts: host -> what node_facts read there (None: the inventory alone is checked); unreachable: hosts
    of the play that could not be reached; runs: the roles (DOCKER_ROLE, UFW_ROLE) this run applies after the
    preflight, whose checks of the node apply (roles_selected); store_hosts: the inventory group ray_redis.
    """
    problems = []
    checked, roles, tokens, raw_tokens = {}, {}, {}, {}
    validator = SpecValidator()
    for host, (role, settings) in hosts.items():
        roles[host] = role
        list_problems = check_lists(Node(host, role, settings))
        problems += list_problems
        values = settings
        if not list_problems:
            values, spec_problems = validator.check(host, role, settings, specs[host])
            problems += spec_problems
        if values.get("ray_cluster_auth_mode") == "token":
            raw_tokens[host] = values.get("ray_cluster_auth_token")
            tokens[host] = token_fingerprint(raw_tokens[host])
        checked[host] = values
    if problems:
        return None, problems, []
    cluster = ClusterModel(checked, roles, tokens, head_hosts, store_hosts)
    problems = cluster.check(raw_tokens)
    head = head_hosts[0] if len(head_hosts) == 1 else None
    if facts is not None and head in unreachable:
        problems.append(Problem(
            head, None, None,
            "the Ray head %s could not be reached (see UNREACHABLE above), so nothing was changed on any node: no "
            "worker can join without the head" % head,
            "make %s reachable (its address, SSH, the user), then run the playbook again." % head))
    node_warnings = []
    if facts is not None and not problems:
        found = cluster.check_nodes(facts, runs)
        problems += [problem for problem in found if not problem.warning]
        node_warnings = [problem.text() for problem in found if problem.warning]
    if problems:
        return None, problems, []
    warnings = cluster.warnings() + node_warnings
    if unreachable:
        warnings.append("%s could not be reached and will not be deployed; the rest of the cluster will be, and the "
                        "run will end with a failure naming them." % ", ".join(unreachable))
    plan = cluster.plan(facts)
    plan["unreachable"] = list(unreachable)
    return plan, [], warnings
