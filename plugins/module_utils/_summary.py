# private to this collection; no compatibility guarantees
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deploy summary's table of nodes, from what cluster_info saw and the plan's host names.

Pure functions, no I/O; the filter ``wizardsofts.ray.cluster_summary`` calls them from the summary template.
Ray keeps a DEAD entry for every earlier incarnation of a node (a restarted raylet rejoins under a new node ID with
the same IP): those are counted in the node's row, not listed as rows of their own.
"""

from __future__ import annotations

ALIVE = "ALIVE"
DEAD = "DEAD"
STANDARD_RESOURCES = ("CPU", "GPU", "memory", "object_store_memory")
MARKER_PREFIXES = ("node:", "accelerator_type:")
RAY_LABEL_PREFIX = "ray.io/"
GB = 1000.0 ** 3
NOT_IN_INVENTORY = "(not in inventory)"
_COLUMNS = "%-16s %-16s %-7s %-6s %6s  %-10s %9s %13s %8s"


def _accelerator(resources):
    types = sorted(name.split(":", 1)[1] for name in resources if name.startswith("accelerator_type:"))
    return ",".join(types) or None


def _custom(resources):
    return dict((name, value) for name, value in resources.items()
                if name not in STANDARD_RESOURCES and not name.startswith(MARKER_PREFIXES))


def node_rows(nodes, plan_nodes):
    """One row per node: every ALIVE entry, and for a node with no ALIVE entry its latest DEAD one. `earlier` counts
    the other DEAD entries with the same IP (its earlier incarnations). The head first, then in Ray's order."""
    host_of = dict((str(plan.get("node_ip")), host) for host, plan in (plan_nodes or {}).items())
    by_ip = {}
    for node in nodes or []:
        by_ip.setdefault(node.get("ip"), []).append(node)
    rows = []
    for ip, entries in by_ip.items():
        alive = [node for node in entries if node.get("state") == ALIVE]
        dead = [node for node in entries if node.get("state") == DEAD]
        listed = alive or entries[-1:]
        earlier = len(dead) - (0 if alive else 1)
        for position, node in enumerate(listed):
            resources = node.get("resources_total") or {}
            rows.append({
                "host": host_of.get(str(ip), NOT_IN_INVENTORY),
                "ip": ip,
                "role": "head" if node.get("is_head") else "worker",
                "state": node.get("state"),
                "cpus": float(resources.get("CPU", 0.0)),
                "gpus": float(resources.get("GPU", 0.0)),
                "accelerator_type": _accelerator(resources),
                "memory": float(resources.get("memory", 0.0)),
                "object_store_memory": float(resources.get("object_store_memory", 0.0)),
                "resources": _custom(resources),
                "labels": dict((key, value) for key, value in (node.get("labels") or {}).items()
                               if not str(key).startswith(RAY_LABEL_PREFIX)),
                "earlier": max(earlier, 0) if position == 0 else 0,
            })
    rows.sort(key=lambda row: row["role"] != "head")
    return rows


def _quantity(value):
    return ("%d" % value) if float(value).is_integer() else ("%g" % value)


def gpu_cell(row):
    if not row["gpus"]:
        return "0"
    cell = _quantity(row["gpus"])
    return "%s %s" % (cell, row["accelerator_type"]) if row["accelerator_type"] else cell


def render(rows, alive, dead, totals, ray_version):
    """The summary's first lines: totals, then the table, then one line per node with custom resources or labels."""
    totals = totals or {}
    lines = ["Ray %s cluster: %d ALIVE node(s), %d DEAD; %.1f CPUs, %s GPUs, %.1f GB memory, %.1f GB object store"
             % (ray_version, alive, dead, totals.get("CPU", 0.0), _quantity(totals.get("GPU", 0.0)),
                totals.get("memory", 0.0) / GB, totals.get("object_store_memory", 0.0) / GB),
             _COLUMNS % ("NODE", "IP", "ROLE", "STATE", "CPUS", "GPUS", "MEMORY", "OBJECT STORE", "EARLIER")]
    for row in rows:
        lines.append(_COLUMNS % (row["host"], row["ip"], row["role"], row["state"], "%.1f" % row["cpus"], gpu_cell(row),
                                 "%.1f GB" % (row["memory"] / GB), "%.1f GB" % (row["object_store_memory"] / GB),
                                 row["earlier"]))
    for row in rows:
        extras = []
        if row["resources"]:
            extras.append("resources " + ", ".join("%s=%s" % (name, _quantity(value))
                                                   for name, value in sorted(row["resources"].items())))
        if row["labels"]:
            extras.append("labels " + ", ".join("%s=%s" % item for item in sorted(row["labels"].items())))
        if extras:
            lines.append("  %s: %s" % (row["host"], "; ".join(extras)))
    return "\n".join(lines)


def summary(info, plan_nodes, ray_version=None):
    """The table part of the summary from cluster_info's result and the plan's nodes."""
    info = info or {}
    rows = node_rows(info.get("nodes") or [], plan_nodes)
    return render(rows, info.get("alive", 0), info.get("dead", 0), info.get("totals"),
                  info.get("ray_version") or ray_version)
