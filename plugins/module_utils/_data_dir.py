# private to this collection; no compatibility guarantees
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ray's data directory on a node: which paths may be one, how the collection marks the ones it made, which of
Ray's session directories may go, and what a teardown may remove. Pure functions, no I/O.

The layout (the cluster model mounts it; ray_container creates it; ray_data prunes and removes it):

    DATA_DIR/.wizardsofts-ray   the marker: this directory was made (or adopted) by the collection
    DATA_DIR/session/           Ray's temp root, /tmp/ray in the container: session_* directories, session_latest
    DATA_DIR/secrets/           the token file and TLS files, mounted read-only
"""

from __future__ import annotations

import re

MARKER = ".wizardsofts-ray"
SESSION_SUBDIR = "session"
SECRETS_SUBDIR = "secrets"
# What the collection puts in a data directory, and so all a teardown may remove from it.
RAY_ENTRIES = (SESSION_SUBDIR, SECRETS_SUBDIR, MARKER)

# A data directory is never one of these, nor anything under them: the system's own trees, which other
# packages own, which are cleared at boot (/tmp, /run) or which are not disks at all (/proc, /sys, /dev).
SYSTEM_TREES = (
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/lost+found", "/proc", "/root",
    "/run", "/sbin", "/snap", "/sys", "/tmp", "/usr", "/var/cache", "/var/lib/docker", "/var/lib/dpkg",
    "/var/lib/apt", "/var/lib/containerd", "/var/log", "/var/mail", "/var/run", "/var/spool", "/var/tmp",
    "/var/lock", "/var/backups",
)
# Nor one of these themselves (a directory below them is fine, for example /var/lib/ray or /home/ray-data):
# they hold other people's and other packages' directories.
SYSTEM_DIRS = ("/", "/home", "/media", "/mnt", "/opt", "/srv", "/var", "/var/lib", "/var/local", "/var/opt", "/data")

# Ray names each start's directory session_<date>_<time>_<microseconds>_<pid> (ray._private.node, the
# head's and every worker's, with %Y-%m-%d_%H-%M-%S_%f): sorted by those fields, the newest is last.
SESSION_NAME = re.compile(r"^session_(\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_\d{6})_(\d+)$")
LATEST = "session_latest"


def normalized(path):
    """The path without a trailing slash, or None when it is not absolute or has . or .. parts."""
    text = str(path or "")
    if not text.startswith("/"):
        return None
    parts = [part for part in text.split("/") if part]
    if any(part in (".", "..") for part in parts):
        return None
    return "/" + "/".join(parts)


def system_directory(path):
    """Why an absolute, normalized path cannot be a data directory, or None when it can."""
    if path in SYSTEM_DIRS:
        return "is %s, which holds other directories than Ray's" % ("the root directory" if path == "/" else path)
    for tree in SYSTEM_TREES:
        if path == tree or path.startswith(tree + "/"):
            return "lies in %s, a system directory" % tree
    return None


def path_problem(path):
    """Why a configured data directory is refused before any node is read, or None."""
    clean = normalized(path)
    if clean is None:
        return "is not an absolute path without . or .. parts"
    return system_directory(clean)


def existing_problem(facts, marked):
    """Why an existing directory cannot be Ray's data directory, or None.

    facts: node_facts' description of it (exists, is_dir, entries, names); marked: whether it holds MARKER.
    A directory the collection made (marked) is accepted whatever is in it; an unmarked one only when it is
    empty, or holds nothing but what the collection put there before it wrote markers (then it is adopted).
    """
    if not facts or not facts.get("exists"):
        return None
    if not facts.get("is_dir"):
        return "exists on the node and is not a directory"
    if marked:
        return None
    names = list(facts.get("names") or [])
    entries = facts.get("entries")
    foreign = [name for name in names if name not in RAY_ENTRIES]
    if entries is None:
        return "cannot be listed, so it cannot be told whether it holds other files than Ray's"
    if not foreign and entries <= len(names):
        return None
    shown = foreign[:5] + (["..."] if entries > len(names) or len(foreign) > 5 else [])
    return ("is not empty (%d entries: %s) and was not created by this collection (it has no %s file), so it may "
            "hold someone else's files" % (entries, ", ".join(shown), MARKER))


def marker_text(when, who):
    """The marker's content: who made the directory and when, and what that means."""
    return ("Created by the Ansible collection wizardsofts.ray (ray_container) on %s as %s.\n"
            "It holds Ray's data: %s. Teardown with ray_cluster_teardown_data=true removes only directories\n"
            "that carry this file, and in them only those entries; anything else you put here stays.\n"
            % (when, who, ", ".join(RAY_ENTRIES[:-1])))


def _session_key(name):
    match = SESSION_NAME.match(name)
    return (match.group(1), int(match.group(2)))


def sessions_to_prune(names, latest, keep):
    """The session directories to remove: all of Ray's session_* names but the `keep` newest and `latest`.

    names: the directory names under Ray's temp root (only real directories, not links); latest: the name
    session_latest points to, or None. Anything not named like Ray's sessions is never listed.
    """
    if keep < 1:
        raise ValueError("keep must be 1 or more, got %r" % keep)
    sessions = sorted((name for name in names if SESSION_NAME.match(name)), key=_session_key)
    kept = set(sessions[-keep:])
    if latest:
        kept.add(latest)
    return [name for name in sessions if name not in kept]


def pruning_needed(facts, keep):
    """Whether Ray's temp root, as node_facts describes it (exists, entries, names), may hold sessions to prune:
    more than `keep` of them, or more entries than were named (then it cannot be told). False when it is missing."""
    if not facts or not facts.get("exists"):
        return False
    names = facts.get("names")
    if names is None or facts.get("entries") is None or facts["entries"] > len(names):
        return True
    return sum(1 for name in names if SESSION_NAME.match(name)) > keep


def removal(names, marked):
    """What a teardown removes from a data directory: (entries to remove, entries kept, whether the directory
    itself goes). Nothing of a directory without the marker; in a marked one only Ray's entries, the marker
    last, and the directory only when nothing else is left in it."""
    if not marked:
        return [], sorted(names), False
    remove = [name for name in RAY_ENTRIES if name in names]
    kept = sorted(name for name in names if name not in RAY_ENTRIES)
    if kept:
        # The marker stays with the operator's files: a later teardown still knows the directory is ours.
        remove = [name for name in remove if name != MARKER]
    return remove, kept, not kept
