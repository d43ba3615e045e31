# private to this collection; no compatibility guarantees
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Token rotation as a decision: which token is current, which is pending, and what a (re)run does.

The controller keeps two files: the current token (ray_cluster_auth_token_file) and, during a rotation, the
pending one next to it (PENDING_SUFFIX). A rotation writes the pending token, deploys it to every node, and only
once every node runs it makes it current (the current file is rewritten with it, then the pending file removed).
An interrupted rotation leaves the pending file: the next run deploys the same pending token again and finishes,
or, asked to roll back, deploys the current token again and removes the pending one. Pure functions: the inputs are
fingerprints (sha256 hex of a token, or the container label that carries its first 16 digits), never tokens.
"""

from __future__ import annotations

PENDING_SUFFIX = ".pending"
# The container label that says which token a node runs (written by the cluster model's container plan).
AUTH_LABEL = "io.wizardsofts.ray.auth"
LABEL_PREFIX = "token-sha256:"
LABEL_DIGITS = 16

START, RESUME, FINISH, ROLLBACK, NOTHING = "start", "resume", "finish", "rollback", "nothing"


def auth_label(token_sha):
    """The label value of a container that runs the token with this sha256."""
    return LABEL_PREFIX + token_sha[:LABEL_DIGITS]


def runs(label, token_sha):
    """Whether a node whose container carries label runs the token with this sha256."""
    return bool(label) and bool(token_sha) and label == auth_label(token_sha)


def rotation_plan(current_sha, pending_sha, node_labels, rollback=False, unreachable=(), token_file="the token file",
                  pending_problem=None):
    """What a run of rotate_token.yml does.

    current_sha: sha256 of the current token file's content, None when the file does not exist.
    pending_sha: sha256 of the pending file's content, None when there is no pending file.
    node_labels: {host: the AUTH_LABEL of its Ray container, or None (no container, or no token)}.
    rollback: the operator asked to roll an interrupted rotation back (ray_cluster_rotate_token_rollback).
    unreachable: hosts of the cluster that could not be read.
    pending_problem: why the pending file's content is no token (token_problem), None when it is one.

    Returns a dict: problems (non-empty: change nothing), action (START, RESUME, FINISH, ROLLBACK, NOTHING),
    write_pending (make a new pending token), deploy ('pending', 'current' or None: the token site.yml deploys),
    promote (after the deploy, the pending token becomes current), remove_pending (after the deploy, the pending
    file goes), restart (hosts whose container the deploy restarts), changed (whether anything changes) and msg.
    """
    hosts = sorted(node_labels)
    problems = []
    if current_sha is None:
        problems.append("%s does not exist: there is no current token to rotate. Fix: run site.yml first (it creates "
                        "the token), or point ray_cluster_auth_token_file at the cluster's token." % token_file)
    if pending_problem:
        problems.append(pending_problem)
    if unreachable:
        problems.append("every node must take the new token, and %s could not be reached. Nothing was changed. Fix: "
                        "make %s reachable (or remove it from the inventory with remove_worker.yml), then run "
                        "rotate_token.yml again." % (", ".join(sorted(unreachable)), ", ".join(sorted(unreachable))))
    if problems:
        return _plan(NOTHING, problems=problems, msg="; ".join(problems))

    pending = token_file + PENDING_SUFFIX
    if pending_sha is not None and pending_sha == current_sha:
        # Killed after the current file was rewritten with the pending token and before the pending file was
        # removed: the rotation is done but for that. The old token is gone; there is nothing to roll back to.
        restart = [host for host in hosts if not runs(node_labels[host], current_sha)]
        return _plan(FINISH, deploy="current", remove_pending=True, restart=restart, changed=True,
                     msg="%s already holds the pending token: the rotation is finished by deploying it where it "
                         "is not yet (%s) and removing %s%s." % (
                             token_file, ", ".join(restart) or "nowhere", pending,
                             "; a rollback is no longer possible, the old token is gone" if rollback else ""))
    if rollback:
        if pending_sha is None:
            return _plan(NOTHING, msg="No rotation to roll back: %s does not exist, and every node keeps the "
                                      "current token." % pending)
        restart = [host for host in hosts if not runs(node_labels[host], current_sha)]
        return _plan(ROLLBACK, deploy="current", remove_pending=True, restart=restart, changed=True,
                     msg="Rolling the interrupted rotation back: the current token goes back to %s, then %s is "
                         "removed." % (", ".join(restart) or "no node (none runs the pending one)", pending))
    if pending_sha is None:
        return _plan(START, write_pending=True, deploy="pending", promote=True, restart=hosts, changed=True,
                     msg="A new token is written to %s, deployed to every node (%s), and becomes current in %s once "
                         "every node runs it." % (pending, ", ".join(hosts), token_file))
    restart = [host for host in hosts if not runs(node_labels[host], pending_sha)]
    return _plan(RESUME, deploy="pending", promote=True, restart=restart, changed=True,
                 msg="Completing the interrupted rotation with the pending token of %s (not a new one): it goes to "
                     "%s, then becomes current in %s." % (pending, ", ".join(restart) or "no node (every node runs "
                                                          "it already)", token_file))


def completion_problems(rotation, deployed_sha, node_labels, missing=(), token_file="the token file"):
    """Why the run may not finish what rotation_plan decided (make the pending token current, or remove it): a node
    that does not run the token just deployed, or that was not seen after the deploy. Empty when it may."""
    behind = sorted(set(host for host, label in node_labels.items() if not runs(label, deployed_sha)) | set(missing))
    if not behind or rotation["action"] == NOTHING:
        return []
    pending = token_file + PENDING_SUFFIX
    if rotation["deploy"] == "pending":
        return ["not every node runs the new token (%s), so it does not become current: %s is kept and %s is "
                "unchanged. Fix: make those nodes reachable and run rotate_token.yml again (it completes the rotation "
                "with the same pending token), or roll it back with -e ray_cluster_rotate_token_rollback=true."
                % (", ".join(behind), pending, token_file)]
    return ["not every node runs the current token again (%s), so %s is kept (a node may still need it). Fix: make "
            "those nodes reachable and run rotate_token.yml -e ray_cluster_rotate_token_rollback=true again."
            % (", ".join(behind), pending)]


def token_problem(token, path):
    """Why a token read from a file cannot be the cluster's token; None when it can."""
    if token is None:
        return None
    if len(token) < 32 or not token.isalnum() or not token.isascii():
        return ("%s does not hold a usable token (at least 32 letters and digits; it holds %d characters). It is not "
                "printed. Fix: if no rotation is under way, remove it and run rotate_token.yml again."
                % (path, len(token)))
    return None


def _plan(action, problems=(), write_pending=False, deploy=None, promote=False, remove_pending=False, restart=(),
          changed=False, msg=""):
    return {"action": action, "problems": list(problems), "write_pending": write_pending, "deploy": deploy,
            "promote": promote, "remove_pending": remove_pending, "restart": list(restart), "changed": changed,
            "msg": msg}
