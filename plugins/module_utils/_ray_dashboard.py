# private to this collection; no compatibility guarantees
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small client for the Ray dashboard REST API (Ray 2.5x/2.60), on ansible.module_utils.urls only.

Shapes it relies on, recorded from a real Ray 2.60.0 head in tests/unit/fixtures/ray-2.60.0:
  GET /api/gcs_healthz  -> 200 "success" (503 while the GCS does not answer); no token needed
  GET /api/version      -> {"ray_version": "2.60.0", ...}; token needed when auth is on
  GET /api/v0/nodes     -> {"result": true, "data": {"result": {"total": N, "result": [node, ...]}}}
"""

from __future__ import annotations

import json
import socket
from http.client import HTTPException
from urllib.error import HTTPError, URLError

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import open_url

from ansible_collections.wizardsofts.ray.plugins.module_utils._tcp_probe import host_port

HEALTH_PATH = '/api/gcs_healthz'
VERSION_PATH = '/api/version'
NODES_PATH = '/api/v0/nodes'
# Ray's state API returns 100 entries unless asked for more and caps the limit at 10000
# (RAY_MAX_LIMIT_FROM_API_SERVER); DEAD nodes count too, so ask for the cap.
NODES_LIMIT = 10000

AUTH_HINT = 'authentication required or token wrong'


def dashboard_base_url(host, port):
    """http://HOST:PORT, with an IPv6 address in brackets."""
    return 'http://' + host_port(host, port)


def _short(text, limit=200):
    text = ' '.join(to_text(text, errors='surrogate_or_replace').split())
    return text if len(text) <= limit else text[:limit] + '...'


class DashboardError(Exception):
    """A dashboard request that did not give the expected answer.

    status is the HTTP status when the dashboard answered, None when no HTTP answer came back
    (refused, timed out, TLS failure); then timed_out and refused say which.
    """

    def __init__(self, url, reason, status=None, body='', timed_out=False, refused=False):
        self.url = url
        self.reason = reason
        self.status = status
        self.body = body
        self.timed_out = timed_out
        self.refused = refused
        super(DashboardError, self).__init__('GET %s: %s' % (url, self.answer))

    @property
    def auth_failed(self):
        return self.status in (401, 403)

    @property
    def answer(self):
        """What came back, in a few words: 'HTTP 401 (Unauthorized: ...): authentication ...'."""
        if self.status is None:
            return self.reason
        text = 'HTTP %d' % self.status
        if self.body:
            text += ' "%s"' % _short(self.body)
        if self.auth_failed:
            text += ': ' + AUTH_HINT
        elif self.reason:
            text += ': ' + self.reason
        return text


def _is_timeout(exc):
    # socket.timeout is TimeoutError from Python 3.10 on, a plain OSError subclass before; some wrappers keep only
    # the text.
    return isinstance(exc, (socket.timeout, TimeoutError)) or 'timed out' in str(exc)


class RayDashboard(object):
    """Client for one Ray head's dashboard. Every method raises DashboardError on failure."""

    def __init__(self, base_url, token=None, validate_certs=True, timeout=10.0, health_url=None):
        self.base_url = base_url.rstrip('/')
        self.health_url = health_url or self.base_url + HEALTH_PATH
        self.validate_certs = validate_certs
        self.timeout = timeout
        # Ray compares the scheme case-sensitively: 'bearer' is answered with 403.
        self._headers = {'Authorization': 'Bearer %s' % token} if token else {}

    def get(self, url, timeout=None):
        """GET url; returns the body as text when the answer is 2xx, raises DashboardError otherwise."""
        timeout = self.timeout if timeout is None else timeout
        try:
            response = open_url(url, headers=self._headers, timeout=timeout,
                                validate_certs=self.validate_certs)
            return to_text(response.read(), errors='surrogate_or_replace')
        except HTTPError as exc:
            try:
                body = to_text(exc.read(), errors='surrogate_or_replace')
            except Exception:  # pylint: disable=broad-except
                body = ''
            raise DashboardError(url, '', status=exc.code, body=body)
        except URLError as exc:
            reason = exc.reason
            if isinstance(reason, ConnectionRefusedError):
                raise DashboardError(url, 'connection refused', refused=True)
            if _is_timeout(reason):
                raise DashboardError(url, 'no answer within %.1fs' % timeout, timed_out=True)
            raise DashboardError(url, _short(reason))
        except (socket.timeout, OSError, HTTPException, UrlsConnectionError) as exc:
            # A timeout while reading the answer arrives bare, not wrapped in URLError.
            if _is_timeout(exc):
                raise DashboardError(url, 'no answer within %.1fs' % timeout, timed_out=True)
            raise DashboardError(url, _short(exc) or type(exc).__name__)

    def get_json(self, path, timeout=None):
        url = self.base_url + path
        body = self.get(url, timeout)
        try:
            return json.loads(body)
        except ValueError:
            raise DashboardError(url, 'answer is not JSON: %s' % _short(body, 80), status=200)

    def gcs_healthz(self, timeout=None):
        """(healthy, answer): healthy only when the body is 'success'."""
        body = self.get(self.health_url, timeout).strip()
        return body == 'success', 'HTTP 200 "%s"' % _short(body)

    def version(self, timeout=None):
        """The head's Ray version, e.g. '2.60.0'."""
        answer = self.get_json(VERSION_PATH, timeout)
        version = answer.get('ray_version') if isinstance(answer, dict) else None
        if not version:
            raise DashboardError(self.base_url + VERSION_PATH, 'answer has no ray_version', status=200)
        return to_text(version)

    def nodes(self, timeout=None, detail=True):
        """Every node the GCS knows, ALIVE and DEAD, normalised (see normalise_node)."""
        path = '%s?limit=%d&detail=%s' % (NODES_PATH, NODES_LIMIT, 'true' if detail else 'false')
        url = self.base_url + path
        answer = self.get_json(path, timeout)
        try:
            if not answer['result']:
                raise DashboardError(url, 'Ray answered result=false: %s' % _short(answer.get('msg')), status=200)
            listing = answer['data']['result']
            raw_nodes = listing['result']
            total = listing.get('total', len(raw_nodes))
        except (KeyError, TypeError):
            raise DashboardError(url, 'unexpected answer: %s' % _short(json.dumps(answer), 120), status=200)
        if total > len(raw_nodes):
            # A partial list would make nodes look missing that are not.
            raise DashboardError(url, 'only %d of %d nodes returned' % (len(raw_nodes), total), status=200)
        return [normalise_node(raw) for raw in raw_nodes]


def normalise_node(raw):
    """One entry of /api/v0/nodes in this collection's terms.

    Ray 2.60 exposes no node's Ray version here (only the head's, via /api/version), so none is
    reported: Ray itself refuses a worker whose version differs from the head's.
    """
    resources = raw.get('resources_total') or {}
    return {
        'node_id': raw.get('node_id'),
        'ip': raw.get('node_ip'),
        'state': raw.get('state'),
        'state_message': raw.get('state_message'),
        'is_head': bool(raw.get('is_head_node')),
        'node_name': raw.get('node_name'),
        'resources_total': dict((name, float(value)) for name, value in resources.items()),
        # The operator's labels (ray start --labels) and Ray's own (ray.io/node-id, ray.io/accelerator-type).
        'labels': dict((str(key), str(value)) for key, value in (raw.get('labels') or {}).items()),
    }
