#!/usr/bin/python
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: gcs_store_wait
short_description: Wait until the Redis that keeps a Ray head's GCS tables answers from this node and takes the password
version_added: "0.1.0"
author:
  - WizardSofts ML platform team (@wizardsofts)
description:
  - Run on the Ray head before its container is (re)started with GCS fault tolerance on (C(RAY_REDIS_ADDRESS)). A
    head whose Redis is unreachable or refuses the password does not start; this module says why, with the fix,
    before the running head is touched.
  - Each try connects over TCP (a refused or unanswered connection is retried until O(timeout)), sends C(AUTH)
    with O(password) and C(PING), then reads Redis's version (C(INFO server)) and how it persists its data
    (C(INFO persistence), C(CONFIG GET save)).
  - A refused password fails at once (waiting cannot fix it), as does an answer that is not Redis's protocol.
  - A Redis that keeps nothing across its own restart (no append-only file, no snapshots) loses the cluster's
    tables with it; the module warns, or fails with O(require_persistence=true).
  - Speaks Redis's protocol with Python's standard library, so the node needs no Redis client. No TLS (C(rediss://)).
  - Read-only. It never changes anything, so it always reports RV(ignore:changed=false).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Read-only, so check mode runs every check for real.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  host:
    description:
      - Address of the Redis, as the Ray head will use it (the host part of C(RAY_REDIS_ADDRESS)).
    type: str
    required: true
  port:
    description:
      - Redis's port.
    type: int
    default: 6379
  password:
    description:
      - The password (Redis's C(requirepass)). Empty, no C(AUTH) is sent.
    type: str
    default: ""
  timeout:
    description:
      - Seconds to keep trying while Redis does not answer yet (a container just started).
    type: float
    default: 60
  sleep:
    description:
      - Seconds between tries.
    type: float
    default: 0.5
  require_persistence:
    description:
      - Fail, instead of warning, when Redis persists nothing (neither C(appendonly yes) nor a C(save) schedule).
    type: bool
    default: false
seealso:
  - module: wizardsofts.ray.gcs_wait
  - name: Ray's GCS fault tolerance
    description: What an external Redis gives the head, and what it does not.
    link: https://docs.ray.io/en/latest/ray-core/fault_tolerance/gcs.html
notes:
  - The password crosses the network in clear, so keep Redis on the cluster's private network (the collection's
    firewall opens Redis's port to the head only).
"""

EXAMPLES = r"""
- name: Check from the head that its GCS store answers and takes the password
  wizardsofts.ray.gcs_store_wait:
    host: 10.0.0.80
    port: 6380
    password: "{{ ray_cluster_gcs_ft_redis_password }}"
    timeout: 60
"""

RETURN = r"""
state:
  description:
    - C(ok), C(auth) (the password was refused or is missing), C(not_redis), or, when Redis never answered, how
      the last connection ended (C(refused), C(filtered), C(no_route), C(dns_error), C(error)).
  returned: always
  type: str
  sample: ok
version:
  description: Redis's version (C(INFO server)), when it answered.
  returned: always
  type: str
  sample: "7.0.15"
persistent:
  description: Whether Redis keeps its data across its own restart; null when it could not be told.
  returned: always
  type: bool
  sample: true
persistence:
  description: How it keeps it, in words.
  returned: always
  type: str
  sample: append-only file and snapshots (save 3600 1 300 100 60 10000)
attempts:
  description: Tries made.
  returned: always
  type: int
  sample: 1
elapsed:
  description: Seconds spent.
  returned: always
  type: float
  sample: 0.01
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wizardsofts.ray.plugins.module_utils import _redis

FIXES = {
    "auth": "set ray_cluster_gcs_ft_redis_password to the password Redis requires (its requirepass).",
    "not_redis": "point ray_cluster_gcs_ft_redis_address (or ray_redis_port) at Redis, not at another service.",
    "refused": "start Redis there (the ray_redis role runs it on the host of the group ray_redis), or correct the address.",
    "filtered": "open Redis's port on its host to the head's address (the collection's firewall play does that for "
                "the ray_redis host), or correct the address.",
}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            host=dict(type="str", required=True),
            port=dict(type="int", default=6379),
            password=dict(type="str", default="", no_log=True),
            timeout=dict(type="float", default=60),
            sleep=dict(type="float", default=0.5),
            require_persistence=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    where = "%s:%d" % (params["host"], params["port"])
    report, poll = _redis.wait_for(params["host"], params["port"], params["password"], params["timeout"], params["sleep"])
    result = dict(changed=False, attempts=poll.attempts, elapsed=poll.elapsed, **report.as_dict())
    result.pop("detail")
    if report.state != "ok":
        module.fail_json(msg="The GCS store (Redis) at %s: %s after %s. Fix: %s" % (
            where, report.detail, poll.summary(), FIXES.get(report.state, FIXES["refused"])), **result)
    if report.persistent is not True:
        words = ("Redis at %s keeps nothing across its own restart (%s): when it restarts, the Ray cluster's tables "
                 "are gone and GCS fault tolerance saves nothing. Fix: appendonly yes in its configuration "
                 "(ray_redis_appendonly: true for the ray_redis role)." % (where, report.persistence_detail))
        if params["require_persistence"]:
            module.fail_json(msg=words, **result)
        module.warn(words)
    result["msg"] = "%s at %s, persistence: %s (%s)" % (report.detail, where, report.persistence_detail, poll.summary())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
