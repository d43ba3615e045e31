# private to this collection; no compatibility guarantees
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Prometheus configuration with its credentials hidden, for a diff people read.

In existing mode the monitoring role rewrites an operator's prometheus.yml, whose other scrape jobs, remote
write targets and alertmanagers may carry passwords and tokens. Under --diff Ansible would print the whole
file, before and after. These functions, on the parsed configuration (no YAML here: the caller parses),
replace every secret of what is not ours with a placeholder; the collection's own jobs are shown as they are.
"""

from __future__ import annotations

import re

REDACTED = "<redacted>"
# Prometheus' <secret> fields (basic_auth.password, authorization.credentials, bearer_token, oauth2.client_secret,
# tls_config.key, sigv4.secret_key, the service discoveries' passwords, tokens and keys) and
# http_headers.*.secrets; *_file fields name a file, not a secret, and stay.
SECRET_KEYS = frozenset((
    "password", "credentials", "bearer_token", "client_secret", "secret_key", "key", "token", "auth_token",
    "application_credential_secret", "secrets", "api_key", "access_key_secret", "secret",
))
# Keys whose every value is a secret (header name -> values).
SECRET_MAPS = frozenset(("proxy_connect_header",))
# Credentials written into a URL: scheme://user:password@host.
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")


def _redact_string(text):
    return _URL_USERINFO.sub(lambda match: match.group("scheme") + REDACTED + "@", text)


def redact(value):
    """A copy of a configuration value with every secret replaced by REDACTED, at any depth."""
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if key in SECRET_KEYS and item not in (None, ""):
                result[key] = REDACTED if not isinstance(item, list) else [REDACTED for _element in item]
            elif key in SECRET_MAPS and isinstance(item, dict):
                result[key] = dict((name, REDACTED) for name in item)
            else:
                result[key] = redact(item)
        return result
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return _redact_string(value)
    return value


def redact_config(config, own_jobs=()):
    """The configuration with every secret hidden but in the scrape jobs named in own_jobs (the collection's)."""
    if not isinstance(config, dict):
        return redact(config)
    result = {}
    for key, value in config.items():
        if key == "scrape_configs" and isinstance(value, list):
            result[key] = [job if isinstance(job, dict) and job.get("job_name") in own_jobs else redact(job)
                           for job in value]
        else:
            result[key] = redact(value)
    return result
