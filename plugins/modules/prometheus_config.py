#!/usr/bin/python
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: prometheus_config
short_description: Write a Prometheus configuration file; its diff never shows the credentials of others' jobs
version_added: 0.2.0
author:
  - WizardSofts ML platform team (@wizardsofts)
description:
  - An action plugin that writes O(content) to O(dest) exactly as M(ansible.builtin.copy) does (it runs it), with
    its check mode, C(backup), C(validate), owner and mode.
  - Under C(--diff) the file's before and after are shown parsed and dumped again, with every secret replaced by
    C(<redacted>) (C(password), C(credentials), C(bearer_token), C(client_secret), keys, tokens, C(http_headers)
    secrets, C(proxy_connect_header) values and user information in URLs), everywhere except in the scrape jobs
    named in O(own_jobs). A file that is not a YAML mapping is not shown at all.
  - So another team's job with C(basic_auth) in an existing C(prometheus.yml) is never printed by a run with
    C(--diff), in a terminal or an AWX job log.
options:
  content:
    description: The whole file's content.
    type: str
    required: true
  dest:
    description: Path of the file on the host.
    type: path
    required: true
  owner:
    description: Owner of the file, as M(ansible.builtin.copy) takes it.
    type: str
  group:
    description: Group of the file, as M(ansible.builtin.copy) takes it.
    type: str
  mode:
    description: Mode of the file, as M(ansible.builtin.copy) takes it.
    type: raw
  backup:
    description: Keep a timestamped copy of the old file, as M(ansible.builtin.copy) does.
    type: bool
    default: false
  validate:
    description: Command that checks the new file before it replaces the old one (C(%s) is the file).
    type: str
  own_jobs:
    description: Names of the scrape jobs the collection writes; only those are shown unredacted.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: As M(ansible.builtin.copy).
  diff_mode:
    support: full
    details: The redacted configuration, before and after.
  platform:
    support: full
    platforms: posix
seealso:
  - module: ansible.builtin.copy
"""

EXAMPLES = r"""
- name: Add the Ray scrape job to an existing prometheus.yml
  wizardsofts.ray.prometheus_config:
    content: "{{ new_configuration | to_nice_yaml }}"
    dest: /etc/prometheus/prometheus.yml
    backup: true
    validate: promtool check config --syntax-only %s
    own_jobs: [ray, ray-head-processes]
"""

RETURN = r"""
dest:
  description: As M(ansible.builtin.copy) returns it, like every other value of its result.
  returned: success
  type: str
  sample: /etc/prometheus/prometheus.yml
"""
