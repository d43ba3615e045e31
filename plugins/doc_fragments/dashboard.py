# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options shared by the modules that talk to a Ray head's dashboard and wait on it."""

from __future__ import annotations


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  token:
    description:
      - "Ray auth token, sent as C(Authorization: Bearer TOKEN) on every dashboard request."
      - Needed when the head runs with C(RAY_AUTH_MODE=token) (Ray 2.52 and later) for every endpoint except
        C(/api/gcs_healthz). Without it Ray answers HTTP 401, with a wrong one HTTP 403.
      - The token travels in clear text over plain HTTP; keep the dashboard on the private network.
    type: str
  validate_certs:
    description:
      - Whether to validate the dashboard's TLS certificate when the URL is C(https://).
    type: bool
    default: true
  timeout:
    description:
      - Total seconds to keep trying. The module fails with the last thing it saw once this passes.
      - The first try always happens. Each try's network operations are cut short at this deadline, and the
        sleep between tries never runs past it.
    type: float
    default: 60
  connect_timeout:
    description:
      - Seconds one network operation may take (one TCP connect, one HTTP request), capped at the time left
        before O(timeout).
    type: float
    default: 5
  sleep:
    description:
      - Seconds to sleep between tries.
    type: float
    default: 1
"""
