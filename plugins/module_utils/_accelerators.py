# private to this collection; no compatibility guarantees
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""GPUs, custom resources and node labels of a Ray node: what the operator asked for, checked against Ray's rules
and against what the node has, and what the plan makes of it (``ray start`` flags, Docker device requests).

Pure functions, no I/O. The facts come from ``node_facts`` (``gpus``: what ``nvidia-smi -L`` listed,
``nvidia_driver``: whether it answered, ``gpus_reason``: why not, ``packages``: dpkg's view).

Ray's own rules, read in the source of the pinned Ray 2.60.0 wheel:
- ``ray start --num-gpus`` is an int (``ray/scripts/scripts.py``);
- ``--resources`` is a JSON object of name to quantity; CPU, GPU, memory and object_store_memory have their own
  flags, ``accelerator_type:*`` and ``node:*`` are Ray's markers (``ray/_private/resource_and_label_spec.py``);
- ``--labels`` (hidden in ``--help``) takes ``key1=val1,key2=val2``; keys and values follow Kubernetes' label syntax
  and the prefix ``ray.io/`` is Ray's (``ray/_private/label_utils.py``, ``RAY_DEFAULT_LABEL_KEYS_PREFIX``);
- the accelerator type comes from the name of the first visible GPU (``NvidiaGPUAcceleratorManager.
  _gpu_name_to_accelerator_type`` in ``ray/_private/accelerators/nvidia_gpu.py``); Ray itself then adds the
  resource ``accelerator_type:TYPE`` and the label ``ray.io/accelerator-type``, so the collection passes no flag for
  it (a ``ray.io/`` label of ours would be refused) and only predicts it, for the summary and the checks.
"""

from __future__ import annotations

import json
import re

AUTO = "auto"
# Resources with a flag of their own, and Ray's markers.
RESERVED_RESOURCES = ("CPU", "GPU", "memory", "object_store_memory")
RESERVED_RESOURCE_PREFIXES = ("accelerator_type:", "node:")
RESERVED_LABEL_PREFIX = "ray.io/"
TOOLKIT_PACKAGE = "nvidia-container-toolkit"
# What `nvidia-ctk runtime configure --runtime=docker` writes into daemon.json.
NVIDIA_RUNTIME = {"nvidia": {"path": "nvidia-container-runtime", "args": []}}

# Ray 2.60.0, ray/_private/accelerators/nvidia_gpu.py, NVIDIA_GPU_NAME_PATTERN.
_NVIDIA_GPU_NAME = re.compile(r"\w+\s+((?:[A-Z]+\s+)*[A-Z0-9]*\d[A-Z0-9]*)")
# Ray 2.60.0, ray/_private/label_utils.py: LABEL_REGEX and LABEL_PREFIX_REGEX (Kubernetes label syntax).
_LABEL = r"([a-zA-Z0-9]([a-zA-Z0-9_.-]{0,61}[a-zA-Z0-9])?)"
_LABEL_PREFIX = r"^(%s?(\.%s?)*)$" % (_LABEL, _LABEL)
_NUMBER = re.compile(r"^\d+(\.\d+)?$")


def accelerator_type(name):
    """Ray's accelerator type for an NVIDIA GPU name, as Ray 2.60.0 derives it: "NVIDIA A10G" -> "A10G",
    "Tesla V100-SXM2-16GB" -> "V100", "NVIDIA RTX PRO 6000 Blackwell" -> "RTX-PRO-6000",
    "NVIDIA GeForce RTX 4090" -> "GeForce-RTX-4090"; None without a name."""
    if not name:
        return None
    match = _NVIDIA_GPU_NAME.match(name)
    result = match.group(1).replace(" ", "-") if match else None
    if result and len(result) > 1:
        return result
    cleaned = re.sub(r"^NVIDIA\s+", "", name).strip()
    return cleaned.replace(" ", "-") if cleaned else None


def gpu_count_setting(value):
    """(count, auto) of a num_gpus setting: an int >= 0, or "auto"; (None, False) for anything else."""
    if isinstance(value, str) and value.strip().lower() == AUTO:
        return None, True
    if isinstance(value, bool):
        return None, False
    if isinstance(value, int):
        return (value, False) if value >= 0 else (None, False)
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value), False
    if isinstance(value, str) and re.match(r"^\d+$", value.strip()):
        return int(value.strip()), False
    return None, False


def asks_for_gpus(num_gpus, devices):
    """Whether the settings want GPUs on the node (auto counts: it needs nvidia-smi to be counted)."""
    count, auto = gpu_count_setting(num_gpus)
    return auto or bool(count) or bool(devices)


def find_device(gpus, device):
    """The GPU of node_facts' list that `device` names (its index, as a string or an int, or its UUID), or None."""
    text = str(device).strip()
    for gpu in gpus or []:
        if text == str(gpu.get("index")) or text == str(gpu.get("uuid")):
            return gpu
    return None


class GPUPlan(object):
    """The GPUs a node gets: count, the device IDs (empty: any `count` GPUs), the accelerator type, and a note."""

    def __init__(self, count=0, device_ids=(), accelerator=None, note=None):
        self.count = count
        self.device_ids = list(device_ids)
        self.accelerator_type = accelerator
        self.note = note

    def device_requests(self):
        """Docker's DeviceRequests, exactly when the node gets GPUs; by device ID when they were named."""
        if not self.count:
            return []
        request = {"driver": "nvidia", "capabilities": [["gpu"]]}
        if self.device_ids:
            request["device_ids"] = list(self.device_ids)
        else:
            request["count"] = self.count
        return [request]

    def as_dict(self):
        return {"count": self.count, "device_ids": list(self.device_ids), "accelerator_type": self.accelerator_type,
                "note": self.note}


def resolve_gpus(num_gpus, devices, facts):
    """What the node gets. facts None (the inventory phase, before the node is read): `auto` is not counted yet
    and plans 0. `auto` on a node whose nvidia-smi lists nothing resolves to 0, with a note saying why."""
    count, auto = gpu_count_setting(num_gpus)
    devices = [str(device).strip() for device in devices or []]
    gpus = (facts or {}).get("gpus") or []
    if devices:
        chosen = [find_device(gpus, device) for device in devices]
        first = chosen[0] if chosen and chosen[0] else None
        return GPUPlan(len(devices), devices, accelerator_type(first.get("name")) if first else None)
    if auto:
        if facts is None:
            return GPUPlan(0, note="auto: not counted yet (the node is read in the second phase)")
        if not gpus:
            return GPUPlan(0, note="auto: no GPU found (%s)" % ((facts or {}).get("gpus_reason") or "nvidia-smi -L listed none"))
        return GPUPlan(len(gpus), accelerator=accelerator_type(gpus[0].get("name")))
    if not count:
        return GPUPlan(0)
    return GPUPlan(count, accelerator=accelerator_type(gpus[0].get("name")) if gpus else None)


# ---- checks: each returns a list of (variable, value, why, fix, warning) -------------------------------------------

def check_gpu_settings(prefix, num_gpus, devices):
    """The settings alone: a count or auto, device IDs that agree with the count."""
    name = prefix + "num_gpus"
    count, auto = gpu_count_setting(num_gpus)
    if count is None and not auto:
        return [(name, num_gpus, "is not a count Ray accepts (Ray: \"Resource quantities must be nonnegative\"; "
                 "ray start --num-gpus takes a whole number)",
                 "a whole number of 0 or more, such as 1, or auto to use every GPU nvidia-smi -L lists on the node.",
                 False)]
    devices_name = prefix + "gpu_devices"
    if not isinstance(devices, list):
        return [(devices_name, devices, "is not a list", "list GPU indexes or UUIDs, for example [0, 1], or [] for any.",
                 False)]
    problems = []
    bad = [device for device in devices if isinstance(device, bool) or not str(device).strip()
           or not re.match(r"^(\d+|(GPU|MIG)-[0-9A-Za-z-]+)$", str(device).strip())]
    if bad:
        problems.append((devices_name, devices, "holds %s, which is neither a GPU index nor a GPU UUID" % bad,
                         "list indexes as nvidia-smi -L numbers them (0, 1, ...) or UUIDs (GPU-...).", False))
    elif len(set(str(device).strip() for device in devices)) != len(devices):
        problems.append((devices_name, devices, "names a GPU twice", "list each GPU once.", False))
    if devices and not auto and count not in (None, len(devices)):
        problems.append((name, num_gpus, "but %s lists %d GPU(s): the count and the devices must agree"
                         % (devices_name, len(devices)),
                         "set %s to %d, or to auto (which then means the listed devices)." % (name, len(devices)),
                         False))
    return problems


def check_gpu_node(prefix, num_gpus, devices, facts, toolkit_install):
    """The settings against the node: the driver answers, the GPUs asked for exist, the toolkit is (or will be) there."""
    if not asks_for_gpus(num_gpus, devices):
        return []
    name = prefix + "num_gpus"
    count, auto = gpu_count_setting(num_gpus)
    gpus = facts.get("gpus") or []
    reason = facts.get("gpus_reason") or "nvidia-smi -L listed no GPU"
    shown = "%s=%s" % (name, num_gpus) if not devices else "%sgpu_devices=%s" % (prefix, list(devices))
    if not facts.get("nvidia_driver") or not gpus:
        if auto and not devices:
            return [(name, num_gpus, "found no GPU on the node (%s), so it has 0 GPUs: no GPU is given to its "
                     "container" % reason,
                     "nothing, if this is a CPU node; else install the NVIDIA driver so that nvidia-smi -L lists the "
                     "GPUs.", True)]
        return [(None, None, "asks for GPUs, but the NVIDIA driver does not answer there: %s" % reason,
                 "install the NVIDIA driver and check that nvidia-smi -L lists the GPUs on the node, or set %s: 0 "
                 "(and %sgpu_devices: []) for a CPU node." % (name, prefix), False, shown)]
    problems = []
    if devices:
        listing = ", ".join("%s (%s, %s)" % (gpu.get("index"), gpu.get("name"), gpu.get("uuid")) for gpu in gpus)
        missing = [device for device in devices if find_device(gpus, device) is None]
        if missing:
            problems.append((prefix + "gpu_devices", list(devices),
                             "names %s, which the node does not have; nvidia-smi -L lists %s" % (missing, listing),
                             "list only GPUs of that node, by index or UUID.", False))
    elif count is not None and count > len(gpus):
        problems.append((name, num_gpus, "is more than the %d GPU(s) nvidia-smi -L lists on the node (%s)"
                         % (len(gpus), ", ".join(gpu.get("name") or "?" for gpu in gpus)),
                         "set it to %d or less, or to auto." % len(gpus), False))
    if TOOLKIT_PACKAGE not in (facts.get("packages") or {}) and not toolkit_install:
        problems.append(("docker_nvidia_toolkit_install", toolkit_install,
                         "is false and %s is not installed on the node: Docker cannot give the container its GPUs"
                         % TOOLKIT_PACKAGE,
                         "install %s yourself, or set docker_nvidia_toolkit_install: true to have the docker role "
                         "install it from NVIDIA's apt repository." % TOOLKIT_PACKAGE, False))
    return problems


def check_resources(prefix, resources):
    """Custom resources: a dict of name to a number of 0 or more; Ray's own names are refused."""
    name = prefix + "resources"
    if not isinstance(resources, dict):
        return [(name, resources, "is not a dict", "write it as a YAML mapping, for example {special_hardware: 1}.",
                 False)]
    problems = []
    for key, value in resources.items():
        key_text = str(key)
        if key_text in RESERVED_RESOURCES or key_text.startswith(RESERVED_RESOURCE_PREFIXES) or not key_text.strip():
            problems.append((name, resources, "names the resource %r, which Ray reserves (%s, and the prefixes %s)"
                             % (key_text, ", ".join(RESERVED_RESOURCES), ", ".join(RESERVED_RESOURCE_PREFIXES)),
                             "use %snum_cpus, %snum_gpus, %smemory or %sobject_store_memory for those, and another "
                             "name for your own resource." % (prefix, prefix, prefix, prefix), False))
        elif isinstance(value, bool) or not (isinstance(value, (int, float)) and value >= 0
                                             or isinstance(value, str) and _NUMBER.match(value.strip())):
            problems.append((name, resources, "gives %r the quantity %r; Ray takes a number of 0 or more" % (key_text, value),
                             "give each resource a number, for example %s: 1." % key_text, False))
    return problems


def check_labels(prefix, labels):
    """Node labels: a dict of key to value in Kubernetes' label syntax; the prefix ray.io/ is Ray's."""
    name = prefix + "labels"
    if not isinstance(labels, dict):
        return [(name, labels, "is not a dict", "write it as a YAML mapping, for example {region: eu-west}.", False)]
    problems = []
    for key, value in labels.items():
        key_text = str(key)
        if key_text.startswith(RESERVED_LABEL_PREFIX):
            problems.append((name, labels, "uses the label key %r; the prefix %s is reserved for Ray's own labels"
                             % (key_text, RESERVED_LABEL_PREFIX), "choose a key without that prefix.", False))
            continue
        why = _label_key_problem(key_text)
        if why is None and (not isinstance(value, str) or not _label_value_ok(value)):
            why = ("gives %r the value %r; a value is a string of at most 63 letters, digits, '-', '_' or '.', "
                   "beginning and ending with a letter or digit (quote numbers)" % (key_text, value))
        if why:
            problems.append((name, labels, why, "follow Kubernetes' label syntax, for example {zone: eu-west-1a}.", False))
    return problems


def _label_key_problem(key):
    prefix, _slash, label = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not re.fullmatch(_LABEL_PREFIX, prefix)):
        return "uses the label key %r, whose prefix is not a DNS subdomain" % key
    if len(label) > 63 or not re.fullmatch(_LABEL, label):
        return ("uses the label key %r; a key is at most 63 letters, digits, '-', '_' or '.', beginning and ending "
                "with a letter or digit (with an optional DNS prefix and /)" % key)
    return None


def _label_value_ok(value):
    return value == "" or (len(value) <= 63 and re.fullmatch(_LABEL, value) is not None)


# ---- flags --------------------------------------------------------------------------------------------------------

def _quantity(value):
    number = float(value)
    return int(number) if number.is_integer() else number


def resource_flags(resources, labels):
    """The `ray start` flags for custom resources and labels; none when there are none (so that a node without them
    keeps the command, and the configuration hash, it had before the collection knew them)."""
    flags = []
    if resources:
        flags.append("--resources=%s" % json.dumps(dict((str(key), _quantity(value)) for key, value in resources.items()),
                                                   sort_keys=True, separators=(",", ":")))
    if labels:
        flags.append("--labels=%s" % ",".join("%s=%s" % (key, labels[key]) for key in sorted(labels)))
    return flags
