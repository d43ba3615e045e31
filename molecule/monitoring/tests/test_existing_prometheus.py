"""Existing mode: the Ray job is added to an operator's own prometheus.yml, whose other jobs survive.

The operator's file has a job of its own (with a password), settings of its own and the seed's hand-written
Ray job (one target, the head only). monitoring.yml in existing mode must replace only that Ray job, keep
the rest, and reload the running Prometheus; its --diff never shows the operator's password; a second run
changes nothing.
"""

import pytest
import yaml

from helpers import PROMETHEUS, changed_per_host, node_exec, prometheus_api, run_playbook, wait_until

CONFIG = "/etc/prometheus/prometheus.yml"
OPERATORS_PASSWORD = "operators-s3cret-pw"
OPERATORS_CONFIG = """\
# The operator's Prometheus (comments are not kept by existing mode; the old file is backed up).
global:
  scrape_interval: 5s
  external_labels:
    site: lab
scrape_configs:
  - job_name: prometheus
    basic_auth:
      username: ops
      password: %s
    static_configs:
      - targets: ['127.0.0.1:9090']
  - job_name: ray-cluster
    static_configs:
      - targets: ['198.18.92.84:9091']
""" % OPERATORS_PASSWORD


def loaded_config():
    return yaml.safe_load(prometheus_api("/api/v1/status/config")["yaml"])


def jobs_health():
    return {(target["labels"]["job"], target["labels"]["instance"]): target["health"]
            for target in prometheus_api("/api/v1/targets?state=active")["activeTargets"]}


@pytest.fixture(scope="module")
def operators_prometheus():
    """The operator's file in place and loaded; afterwards, the scenario's own file back and loaded."""
    ours = node_exec(PROMETHEUS, f"cat {CONFIG}")
    node_exec(PROMETHEUS, f"cat > {CONFIG} && systemctl reload prometheus", stdin=OPERATORS_CONFIG)
    wait_until(loaded_config, lambda seen: seen["global"].get("external_labels") == {"site": "lab"}, 60,
               "the operator's configuration loaded")
    try:
        yield
    finally:
        node_exec(PROMETHEUS, f"cat > {CONFIG} && rm -f {CONFIG}.*~ && systemctl reload prometheus", stdin=ours)
        wait_until(loaded_config, lambda seen: "external_labels" not in seen["global"], 60, "the scenario's configuration back")


@pytest.fixture(scope="module", name="existing_run")
def existing_run_fixture(operators_prometheus):
    # The whole file as the diff's context: the operator's job, with its password, is shown, not just the lines
    # around the Ray job's change (3 by default, which may or may not reach it).
    return run_playbook("monitoring.yml", "--limit", "prometheus", "-e", "monitoring_mode=existing", "--diff",
                        env={"ANSIBLE_DIFF_CONTEXT": "1000"})


def test_the_diff_shows_the_ray_job_and_never_the_operators_password(existing_run):
    assert existing_run.returncode == 0, existing_run.stdout[-3000:]
    assert OPERATORS_PASSWORD not in existing_run.stdout + existing_run.stderr
    assert "password: <redacted>" in existing_run.stdout
    assert "198.18.92.80:9091" in existing_run.stdout  # the Ray job's new target, in the diff


def test_existing_mode_replaces_only_the_ray_job_and_keeps_the_operators_settings(existing_run):
    assert existing_run.returncode == 0, existing_run.stdout[-3000:]
    assert changed_per_host(existing_run.stdout)["prometheus"] > 0
    written = yaml.safe_load(node_exec(PROMETHEUS, f"cat {CONFIG}"))
    assert [job["job_name"] for job in written["scrape_configs"]] == ["prometheus", "ray-cluster", "ray-cluster-head-processes"]
    # The operator's job, its password included, is written as it was.
    assert written["scrape_configs"][0] == {"job_name": "prometheus",
                                            "basic_auth": {"username": "ops", "password": OPERATORS_PASSWORD},
                                            "static_configs": [{"targets": ["127.0.0.1:9090"]}]}
    assert [config["targets"] for config in written["scrape_configs"][1]["static_configs"]] == [["198.18.92.84:9091"], ["198.18.92.80:9091"]]
    assert written["global"] == {"scrape_interval": "5s", "external_labels": {"site": "lab"}}
    assert written["rule_files"] == ["/etc/prometheus/wizardsofts-ray-ray.rules.yml"]
    assert "The operator's Prometheus" in node_exec(PROMETHEUS, f"cat {CONFIG}.*~")  # the backup


def test_the_running_prometheus_was_reloaded_and_scrapes_both_jobs(existing_run):
    expected = {("prometheus", "127.0.0.1:9090"): "up",
                ("ray-cluster", "198.18.92.84:9091"): "up", ("ray-cluster", "198.18.92.80:9091"): "up",
                # The head's autoscaler and dashboard metrics, pinned by the cluster model, in a job of their own.
                ("ray-cluster-head-processes", "198.18.92.84:44217"): "up",
                ("ray-cluster-head-processes", "198.18.92.84:44227"): "up"}
    assert wait_until(jobs_health, lambda seen: seen == expected, 60, "both jobs' targets up") == expected
    assert [group["name"] for group in prometheus_api("/api/v1/rules")["groups"]] == ["wizardsofts-ray-ray"]


def test_a_second_existing_mode_run_changes_nothing(existing_run):
    assert existing_run.returncode == 0
    again = run_playbook("monitoring.yml", "--limit", "prometheus", "-e", "monitoring_mode=existing")
    assert again.returncode == 0, again.stdout[-3000:]
    assert changed_per_host(again.stdout) == {"prometheus": 0}
