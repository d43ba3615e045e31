# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin ``prometheus_config``: ansible.builtin.copy for prometheus.yml, with a diff that hides secrets.

The documentation is in plugins/modules/prometheus_config.py; what counts as a secret is in
plugins/module_utils/_prometheus_config.py.
"""

from __future__ import annotations

import yaml

from ansible.plugins.action import ActionBase

from ansible_collections.wizardsofts.ray.plugins.module_utils._prometheus_config import redact_config

UNREADABLE = "(not shown: this is not a YAML mapping, so any credentials in it could not be hidden)\n"


def redacted_text(text, own_jobs):
    """A configuration file's text as the diff shows it: parsed, every secret of what is not ours hidden, dumped."""
    if not text:
        return text
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError:
        return UNREADABLE
    if not isinstance(config, dict):
        return UNREADABLE
    return yaml.safe_dump(redact_config(config, own_jobs), sort_keys=False, default_flow_style=False,
                          allow_unicode=True, indent=2)


def redacted_diff(diff, own_jobs):
    """copy's diff (a dict or a list of them) with the file's before and after text redacted."""
    if isinstance(diff, list):
        return [redacted_diff(item, own_jobs) for item in diff]
    if not isinstance(diff, dict):
        return diff
    result = dict(diff)
    for side in ("before", "after"):
        if isinstance(result.get(side), str):
            result[side] = redacted_text(result[side], own_jobs)
    return result


class ActionModule(ActionBase):
    """Writes the file with ansible.builtin.copy (check mode, backup, validate and all), then redacts its diff."""

    TRANSFERS_FILES = True
    _VALID_ARGS = frozenset(("content", "dest", "owner", "group", "mode", "backup", "validate", "own_jobs"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        own_jobs = list(args.pop("own_jobs", None) or [])
        if "content" not in args or "dest" not in args:
            result.update(failed=True, msg="prometheus_config needs content and dest")
            return result
        new_task = self._task.copy()
        new_task.args.clear()
        new_task.args.update(args)
        copy_action = self._shared_loader_obj.action_loader.get(
            "ansible.legacy.copy", task=new_task, connection=self._connection, play_context=self._play_context,
            loader=self._loader, templar=self._templar, shared_loader_obj=self._shared_loader_obj)
        result.update(copy_action.run(task_vars=task_vars))
        if "diff" in result:
            result["diff"] = redacted_diff(result["diff"], own_jobs)
        return result
