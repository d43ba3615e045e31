# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Prometheus configuration as --diff shows it: other jobs' credentials hidden, ours shown. Tables, and the
prometheus_config action plugin's diff built from a real copy diff's shape."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.wizardsofts.ray.plugins.action import prometheus_config as action
from ansible_collections.wizardsofts.ray.plugins.module_utils._prometheus_config import REDACTED, redact, redact_config

SECRET = "hunter2-s3cret"

# An operator's prometheus.yml with every kind of secret Prometheus takes, in jobs and elsewhere.
OPERATORS = """\
global:
  scrape_interval: 15s
remote_write:
  - url: https://writer:%(s)s@metrics.example.com/api/v1/write
    basic_auth: {username: writer, password: %(s)s}
alerting:
  alertmanagers:
    - authorization: {type: Bearer, credentials: %(s)s}
      static_configs: [{targets: ['am:9093']}]
scrape_configs:
  - job_name: node
    basic_auth:
      username: scraper
      password: %(s)s
    static_configs: [{targets: ['10.0.0.5:9100']}]
  - job_name: api
    bearer_token: %(s)s
    oauth2: {client_id: prom, client_secret: %(s)s, token_url: 'https://auth.example.com/token'}
    tls_config: {cert_file: /etc/prom/c.crt, key: %(s)s, key_file: /etc/prom/c.key}
    http_headers:
      X-Api-Key: {secrets: [%(s)s, %(s)s]}
    proxy_connect_header: {Proxy-Authorization: [%(s)s]}
    consul_sd_configs: [{server: 'consul:8500', token: %(s)s}]
    ec2_sd_configs: [{region: eu-west-1, access_key: AKIA0, secret_key: %(s)s}]
  - job_name: ray
    static_configs: [{targets: ['10.0.0.84:9091']}]
    basic_auth: {username: ray, password: ours-shown}
""" % {"s": SECRET}


def test_every_secret_of_the_operators_configuration_is_hidden_and_the_rest_kept():
    config = yaml.safe_load(OPERATORS)

    shown = redact_config(config, own_jobs=["ray", "ray-head-processes"])

    text = yaml.safe_dump(shown)
    assert SECRET not in text
    assert shown["global"] == {"scrape_interval": "15s"}
    assert shown["remote_write"][0]["url"] == "https://%s@metrics.example.com/api/v1/write" % REDACTED
    assert shown["remote_write"][0]["basic_auth"] == {"username": "writer", "password": REDACTED}
    assert shown["alerting"]["alertmanagers"][0]["authorization"] == {"type": "Bearer", "credentials": REDACTED}
    node, api, ray = shown["scrape_configs"]
    assert node == {"job_name": "node", "basic_auth": {"username": "scraper", "password": REDACTED},
                    "static_configs": [{"targets": ["10.0.0.5:9100"]}]}
    assert api["bearer_token"] == REDACTED
    assert api["oauth2"] == {"client_id": "prom", "client_secret": REDACTED, "token_url": "https://auth.example.com/token"}
    assert api["tls_config"] == {"cert_file": "/etc/prom/c.crt", "key": REDACTED, "key_file": "/etc/prom/c.key"}
    assert api["http_headers"] == {"X-Api-Key": {"secrets": [REDACTED, REDACTED]}}
    assert api["proxy_connect_header"] == {"Proxy-Authorization": REDACTED}
    assert api["consul_sd_configs"] == [{"server": "consul:8500", "token": REDACTED}]
    assert api["ec2_sd_configs"] == [{"region": "eu-west-1", "access_key": "AKIA0", "secret_key": REDACTED}]
    # The collection's own job is shown as it is written.
    assert ray == config["scrape_configs"][2]
    # The input is not changed: the file written is the real one.
    assert config["scrape_configs"][0]["basic_auth"]["password"] == SECRET


@pytest.mark.parametrize(("value", "shown"), [
    ({"password": ""}, {"password": ""}),                     # nothing to hide
    ({"password": None}, {"password": None}),
    ({"password_file": "/etc/p"}, {"password_file": "/etc/p"}),
    ({"credentials_file": "/etc/c"}, {"credentials_file": "/etc/c"}),
    ({"url": "http://host:9090/x"}, {"url": "http://host:9090/x"}),
    ({"url": "http://user@host"}, {"url": "http://%s@host" % REDACTED}),
    ("see http://a:b@c/ and https://d:e@f/", "see http://%s@c/ and https://%s@f/" % (REDACTED, REDACTED)),
    ([{"token": 12345}], [{"token": REDACTED}]),
    (3, 3),
])
def test_redact(value, shown):
    assert redact(value) == shown


def test_a_configuration_that_is_not_a_mapping_is_redacted_whole():
    assert redact_config([{"password": SECRET}], own_jobs=["ray"]) == [{"password": REDACTED}]


# ---- the action plugin's diff -----------------------------------------------------------------------------

NEW = OPERATORS.replace("10.0.0.84:9091", "10.0.0.85:9091")


def test_the_diff_of_copy_shows_our_change_and_no_secret():
    copy_diff = [{"before_header": "/etc/prometheus/prometheus.yml", "before": OPERATORS,
                  "after_header": "/etc/prometheus/prometheus.yml", "after": NEW},
                 {"before": {"path": "/etc/prometheus/prometheus.yml", "mode": "0644"},
                  "after": {"path": "/etc/prometheus/prometheus.yml", "mode": "0640"}}]

    diff = action.redacted_diff(copy_diff, ["ray"])

    assert SECRET not in repr(diff)
    assert diff[0]["before_header"] == "/etc/prometheus/prometheus.yml"
    assert "10.0.0.84:9091" in diff[0]["before"] and "10.0.0.85:9091" in diff[0]["after"]
    before, after = yaml.safe_load(diff[0]["before"]), yaml.safe_load(diff[0]["after"])
    assert before["scrape_configs"][0]["basic_auth"]["password"] == REDACTED
    # Only our job differs between the two sides.
    assert before["scrape_configs"][:2] == after["scrape_configs"][:2]
    assert diff[1] == copy_diff[1]


@pytest.mark.parametrize(("text", "shown"), [
    ("", ""),                                                    # a new file: nothing before
    ("password: [unclosed\n", action.UNREADABLE),               # not YAML
    ("- password: %s\n" % SECRET, action.UNREADABLE),           # YAML, not a mapping
    ("just text %s\n" % SECRET, action.UNREADABLE),
])
def test_what_cannot_be_read_is_not_shown(text, shown):
    assert action.redacted_text(text, ["ray"]) == shown
