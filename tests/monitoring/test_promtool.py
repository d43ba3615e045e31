"""promtool on the files the monitoring role renders from ./inventory: check config, check rules, test rules.

The files are rendered by the role itself (render.yml runs its `render` entry point); promtool is
Debian's, unpacked by `make promtool` into .cache/prometheus (or the PROMTOOL environment variable).
"""

import os
import pathlib
import shutil
import subprocess

import pytest
import yaml

HERE = pathlib.Path(__file__).resolve().parent
PROJECT = HERE.parents[1]
PROMTOOL = os.environ.get("PROMTOOL", str(PROJECT / ".cache" / "prometheus" / "usr" / "bin" / "promtool"))
RULES_FILE = "wizardsofts-ray-ray.rules.yml"
UNIT_TESTS = "ray_alerts_test.yml"


def render(directory, *extra_vars):
    """The role's render entry point on ./inventory, into directory; returns the directory."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    args = ["-e", f"monitoring_render_dir={directory}", "-e", f"monitoring_prometheus_rules_file={directory / RULES_FILE}"]
    for extra in extra_vars:
        args += ["-e", extra]
    run = subprocess.run(
        ["ansible-playbook", "-i", str(HERE / "inventory"), str(HERE / "render.yml"), *args],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    shutil.copy(HERE / UNIT_TESTS, directory / UNIT_TESTS)
    return directory


def promtool(*args):
    assert os.access(PROMTOOL, os.X_OK), f"no promtool at {PROMTOOL}: run `make promtool` or set PROMTOOL"
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module", name="rendered")
def rendered_fixture(tmp_path_factory):
    return render(tmp_path_factory.mktemp("rendered"))


def test_promtool_accepts_the_configuration_and_finds_the_rule_file(rendered):
    result = promtool("check", "config", str(rendered / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout


def test_promtool_accepts_the_four_alert_rules(rendered):
    result = promtool("check", "rules", str(rendered / RULES_FILE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 4 rules found" in result.stdout


def test_each_alert_fires_and_stays_silent_as_expected(rendered):
    result = promtool("test", "rules", str(rendered / UNIT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_unit_tests_catch_a_head_alert_that_waits_too_long(tmp_path):
    result = promtool("test", "rules", str(render(tmp_path, "monitoring_head_down_for=10m") / UNIT_TESTS))
    assert result.returncode != 0
    failures = result.stderr
    assert "alertname: RayHeadNodeDown" in failures
    assert "alertname: RayWorkerDown" not in failures


def test_every_node_of_the_inventory_is_a_target_with_its_labels(rendered):
    config = yaml.safe_load((rendered / "prometheus.yml").read_text(encoding="utf-8"))
    assert config["rule_files"] == [str(rendered / RULES_FILE)]
    job, head_processes = config["scrape_configs"]
    assert job["job_name"] == "ray-cluster"
    # The head's autoscaler and dashboard endpoints, pinned by the cluster model, in a job of their own.
    assert head_processes == {"job_name": "ray-cluster-head-processes", "scrape_interval": job["scrape_interval"],
                              "static_configs": [{"targets": ["10.0.0.84:44217", "10.0.0.84:44227"],
                                                  "labels": {"cluster": "ray", "node": "server84", "role": "head"}}]}
    assert job["static_configs"] == [
        {"targets": ["10.0.0.84:9091"], "labels": {"cluster": "ray", "node": "server84", "role": "head"}},
        {"targets": ["10.0.0.80:9091"], "labels": {"cluster": "ray", "node": "server80", "role": "worker"}},
        {"targets": ["10.0.0.81:9191"], "labels": {"cluster": "ray", "node": "server81", "role": "worker"}},
    ]
