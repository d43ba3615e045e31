#!/usr/bin/python
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ray_data
short_description: Keep Ray's data directory on a node bounded, or remove what the collection put there
version_added: "0.2.0"
author:
  - WizardSofts ML platform team (@wizardsofts)
description:
  - Works on a Ray node's data directory (its C(session) subdirectory is the container's C(/tmp/ray)), and only on
    one that carries the collection's marker file C(.wizardsofts-ray), which M(wizardsofts.ray.ray_container)
    writes when it creates the directory.
  - With O(state=present), prunes Ray's old session directories. Every start of a Ray container makes a new
    C(session_DATE_TIME_MICROSECONDS_PID) directory (logs, spilled objects, runtime environments) and Ray never removes
    one, so a node whose container restarts often fills its disk. All but the O(sessions_keep) newest are
    removed, and never the one C(session_latest) points to (the running container's). Nothing else in the
    directory is touched, and the container is not (its configuration does not change).
  - With O(state=absent), removes from the directory only what the collection puts there (C(session),
    C(secrets) and the marker), then the directory itself when nothing else is left in it. A directory without
    the marker, or one like C(/), C(/home) or C(/var/lib) that holds other directories, is left alone whatever it
    holds, and the result says so.
  - Reports RV(ignore:changed) only when something was (or, in check mode, would be) removed.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Lists what would be removed and removes nothing.
  diff_mode:
    support: full
    details: The directory's entries (O(state=absent)) or Ray's sessions (O(state=present)) before and after.
  platform:
    platforms: posix
options:
  path:
    description:
      - The node's Ray data directory, for example V(/var/lib/ray).
    type: path
    required: true
  state:
    description:
      - V(present) keeps the directory and prunes old sessions; V(absent) removes Ray's entries and, when it is
        then empty, the directory.
    type: str
    choices: [present, absent]
    default: present
  sessions_keep:
    description:
      - How many of the newest session directories O(state=present) keeps, besides the running one.
    type: int
    default: 5
notes:
  - Needs root (C(become)), since the sessions belong to the container's user and the directory to root.
seealso:
  - module: wizardsofts.ray.ray_container
"""

EXAMPLES = r"""
- name: Keep the five newest of Ray's sessions (and the running one)
  wizardsofts.ray.ray_data:
    path: /var/lib/ray
    sessions_keep: 5

- name: Remove Ray's data, if the collection made the directory
  wizardsofts.ray.ray_data:
    path: /var/lib/ray
    state: absent
"""

RETURN = r"""
path:
  description: The data directory, as given.
  type: str
  returned: always
  sample: /var/lib/ray
marked:
  description: Whether the directory carries the collection's marker file (false too when it does not exist).
  type: bool
  returned: always
  sample: true
removed:
  description: The paths removed (in check mode, that would be).
  type: list
  elements: str
  returned: always
  sample: [/var/lib/ray/session/session_2026-12-01_10-00-00_123456_1]
kept:
  description:
    - With O(state=present), the session directories kept, oldest first. With O(state=absent), the entries left
      in the directory that are not the collection's (all of them when it carries no marker).
  type: list
  elements: str
  returned: always
  sample: [session_2026-12-02_09-00-00_654321_1]
msg:
  description: One line saying what was done and why.
  type: str
  returned: always
  sample: "/var/lib/ray: 3 old Ray session(s) removed, 5 kept and the running one"
"""

import os
import shutil

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wizardsofts.ray.plugins.module_utils import _data_dir


class RayData(object):
    """The data directory of one node: what is in it, and what of it may go."""

    def __init__(self, module):
        self.module = module
        self.path = module.params['path'].rstrip('/') or '/'
        self.check_mode = module.check_mode
        self.removed = []

    def marked(self):
        marker = os.path.join(self.path, _data_dir.MARKER)
        return os.path.isfile(marker) and not os.path.islink(marker)

    def _remove(self, path):
        self.removed.append(path)
        if self.check_mode:
            return
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)

    def _result(self, marked, kept, msg, before=None, after=None):
        result = dict(changed=bool(self.removed), path=self.path, marked=marked, removed=self.removed, kept=kept,
                      msg=msg)
        if self.module._diff and before is not None:
            result['diff'] = dict(before=''.join(name + '\n' for name in before),
                                  after=''.join(name + '\n' for name in after),
                                  before_header=self.path, after_header=self.path)
        return result

    def prune(self, keep):
        if not self.marked():
            why = 'does not exist' if not os.path.lexists(self.path) else 'carries no %s file' % _data_dir.MARKER
            return self._result(False, [], '%s %s: no session pruned (only a directory the collection made is '
                                           'touched)' % (self.path, why))
        root = os.path.join(self.path, _data_dir.SESSION_SUBDIR)
        names = []
        if os.path.isdir(root):
            with os.scandir(root) as entries:
                names = [entry.name for entry in entries if entry.is_dir(follow_symlinks=False)]
        latest = None
        link = os.path.join(root, _data_dir.LATEST)
        if os.path.islink(link):
            # Ray writes it as the container sees it (/tmp/ray/session_...): only the name counts.
            latest = os.path.basename(os.readlink(link).rstrip('/'))
        doomed = _data_dir.sessions_to_prune(names, latest, keep)
        for name in doomed:
            self._remove(os.path.join(root, name))
        sessions = sorted(name for name in names if _data_dir.SESSION_NAME.match(name))
        kept = [name for name in sessions if name not in doomed]
        verb = 'would be removed' if self.check_mode else 'removed'
        msg = '%s: %d old Ray session(s) %s, %d kept (the %d newest and the running one)' % (
            self.path, len(doomed), verb, len(kept), keep) if doomed else '%s: %d Ray session(s), none to remove' % (
            self.path, len(kept))
        return self._result(True, kept, msg, sessions, kept)

    def absent(self):
        if not os.path.lexists(self.path):
            return self._result(False, [], '%s does not exist: nothing to remove' % self.path)
        # The marker is the guard; this is a second one, for a directory that holds everyone's (a marker put in
        # /home by hand). Not the system trees: a test's or a chroot's directory may live under /tmp.
        refused = _data_dir.system_directory(self.path) if self.path in _data_dir.SYSTEM_DIRS else None
        if refused or not os.path.isdir(self.path):
            why = refused or 'is not a directory'
            return self._result(False, [], '%s %s: left alone' % (self.path, why))
        names = sorted(os.listdir(self.path))
        marked = self.marked()
        remove, kept, whole = _data_dir.removal(names, marked)
        for name in remove:
            self._remove(os.path.join(self.path, name))
        if whole and not os.path.islink(self.path):
            self.removed.append(self.path)
            if not self.check_mode:
                os.rmdir(self.path)
        if not marked:
            msg = ('%s left alone: it carries no %s file, so the collection did not create it (or created it before '
                   'it wrote markers); remove it by hand if it is Ray\'s' % (self.path, _data_dir.MARKER))
        elif kept:
            msg = '%s: Ray\'s data %s; kept with what else is in it: %s' % (
                self.path, 'would be removed' if self.check_mode else 'removed', ', '.join(kept))
        else:
            msg = '%s %s' % (self.path, 'would be removed' if self.check_mode else 'removed')
        after = kept + ([_data_dir.MARKER] if kept and marked else [])
        return self._result(marked, kept, msg, names, [] if whole else sorted(after))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            sessions_keep=dict(type='int', default=5),
        ),
        supports_check_mode=True,
    )
    if not module.params['path'].startswith('/'):
        module.fail_json(msg='path must be absolute, got %s' % module.params['path'])
    data = RayData(module)
    try:
        if module.params['state'] == 'absent':
            result = data.absent()
        else:
            if module.params['sessions_keep'] < 1:
                module.fail_json(msg='sessions_keep must be 1 or more (the running session is always kept), got %d'
                                 % module.params['sessions_keep'])
            result = data.prune(module.params['sessions_keep'])
    except OSError as exc:
        module.fail_json(msg='%s: %s (removed so far: %s)' % (data.path, exc, ', '.join(data.removed) or 'nothing'),
                         removed=data.removed)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
