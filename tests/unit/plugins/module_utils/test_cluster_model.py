"""The cluster model against every preflight case (preflight_cases.yml, the table of docs/preflight.md),
and the plan it makes of a healthy cluster.

The settings are the roles' real defaults and argument specs, read from roles/, with the test cluster's
inventory over them: nothing of the model is faked."""

from __future__ import annotations

import copy
import hashlib
import json
import pathlib
import re

import pytest
import yaml

from ansible_collections.wizardsofts.ray.plugins.module_utils import _cluster_model as model

ROOT = pathlib.Path(__file__).resolve().parents[4]
CASES = yaml.safe_load((pathlib.Path(__file__).parent / "preflight_cases.yml").read_text())
COMMON_ROLES = ("ray_cluster", "docker", "ufw", "ray_redis")
ROLE_OF = {model.HEAD: "ray_head", model.WORKER: "ray_worker"}
TOKEN = "T" * 48
# What Ansible would make of the defaults that are templates, for the test inventory.
INVENTORY = {
    "server84": {"ansible_host": "198.18.88.84", "ray_head_num_cpus": 4, "ray_head_memory": "8GB",
                 "ray_head_object_store_memory": "2.3GB"},
    "server80": {"ansible_host": "198.18.88.80", "ray_worker_num_cpus": 8, "ray_worker_memory": "16GB",
                 "ray_worker_object_store_memory": "16GB"},
}
GROUP_VARS = {"ray_cluster_cidrs": ["198.18.88.0/25"], "inventory_dir": "/srv/inventory",
              "ray_cluster_auth_token": TOKEN, "ufw_ssh_port": 22}
_REFERENCE = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def _load(path):
    return yaml.safe_load((ROOT / path).read_text()) or {}


def _resolve(settings):
    """Resolve defaults that only refer to other variables ("{{ ray_cluster_version }}"), as Ansible would."""
    for _attempt in range(5):
        for name, value in list(settings.items()):
            if isinstance(value, str) and "{{" in value:
                whole = _REFERENCE.fullmatch(value.strip())
                if whole and whole.group(1) in settings:
                    settings[name] = copy.deepcopy(settings[whole.group(1)])
                elif all(ref in settings for ref in _REFERENCE.findall(value)) and _REFERENCE.search(value):
                    settings[name] = _REFERENCE.sub(lambda m: str(settings[m.group(1)]), value)
    return settings


def settings_for(host, role, overrides):
    settings = {}
    for name in COMMON_ROLES + (ROLE_OF[role],):
        settings.update(_load("roles/%s/defaults/main.yml" % name))
    settings.update(GROUP_VARS)
    settings.update(INVENTORY[host])
    settings.update(copy.deepcopy(overrides.get("all", {})))
    settings.update(copy.deepcopy(overrides.get(host, {})))
    return _resolve(settings)


def spec_for(role):
    spec = {}
    for name in COMMON_ROLES + (ROLE_OF[role],):
        spec.update(model.validator_spec(_load("roles/%s/meta/argument_specs.yml" % name)["argument_specs"]["main"]["options"]))
    return spec


# The roles site.yml runs after its preflight: the node checks of both apply unless a case says otherwise.
SITE_ROLES = (model.DOCKER_ROLE, model.UFW_ROLE)


def evaluate(overrides=None, facts=None, groups=None, unreachable=(), runs=SITE_ROLES):
    groups = dict({"ray_head": ["server84"], "ray_workers": ["server80"]}, **(groups or {}))
    heads = groups["ray_head"]
    hosts, specs = {}, {}
    for host in INVENTORY:
        role = model.HEAD if host in heads else model.WORKER
        hosts[host] = (role, settings_for(host, role, overrides or {}))
        specs[host] = spec_for(role)
    base_facts = None
    if facts is not None:
        base_facts = {host: dict({"cpus": 64, "memory_bytes": 10**12, "listeners": [], "snap_docker": False},
                                 **facts.get(host, {})) for host in INVENTORY}
    return model.evaluate(hosts, heads, specs, base_facts, unreachable, runs, groups.get("ray_redis", []))


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_preflight_case(case):
    plan, problems, warnings = evaluate(case.get("set"), case.get("facts"), case.get("groups"),
                                        runs=case.get("runs", SITE_ROLES))
    text = "\n".join(problem.text() for problem in problems)
    if not case["message"]:
        assert problems == [] and plan is not None, text
        if case.get("warning"):
            assert any(case["warning"] in warning for warning in warnings), warnings
        return
    assert plan is None
    assert case["message"] in text, text
    for problem in problems:
        assert "Fix: " in problem.text()
    # The token is never shown, whatever is wrong with it.
    assert TOKEN not in text and "ZZZZZZZZZZZZZZZZ" not in text


def test_every_rule_class_of_the_issue_has_cases():
    rules = set(case["rule"] for case in CASES)
    assert rules >= {"addresses", "inventory groups", "types", "ranges", "ports", "agreement", "versions", "sizes",
                     "extra arguments", "security", "the node"}


def test_the_node_checks_need_the_node():
    """Without node facts (the first, inventory-only phase) the node cases pass: they are checked in the second."""
    for case in CASES:
        if case.get("facts"):
            plan, problems, _warnings = evaluate(case.get("set"))
            assert problems == [], (case["id"], [p.text() for p in problems])


@pytest.mark.parametrize("overrides, api_url, dashboard_url, dashboard_sources", [
    ({}, "http://127.0.0.1:8265", "http://198.18.88.84:8265", ["198.18.88.0/25"]),
    # Narrowed to one admin network that holds no node: the checks still ask the head on its loopback.
    ({"all": {"ray_cluster_admin_cidrs": ["198.18.99.0/28"]}},
     "http://127.0.0.1:8265", "http://198.18.88.84:8265", ["198.18.99.0/28"]),
    ({"all": {"ray_cluster_dashboard_port": 8365, "ray_cluster_admin_cidrs": ["198.18.99.7/32"]}},
     "http://127.0.0.1:8365", "http://198.18.88.84:8365", ["198.18.99.7/32"]),
])
def test_api_url_is_the_heads_loopback_whatever_the_admin_networks(overrides, api_url, dashboard_url, dashboard_sources):
    """The collection's own API checks run on the head against loopback: the dashboard rule may exclude every node."""
    plan, problems, _warnings = evaluate(overrides, facts={})
    assert problems == [], [p.text() for p in problems]
    assert plan["api_url"] == api_url
    assert plan["dashboard_url"] == dashboard_url
    rules = dict((rule["comment"], rule) for rule in plan["nodes"]["server84"]["firewall_rules"])
    assert rules["Ray dashboard and Jobs API"]["port"] == dashboard_url.rsplit(":", 1)[1]
    assert rules["Ray dashboard and Jobs API"]["sources"] == dashboard_sources
    # Only the head carries the dashboard rule: no worker needs, or gets, the port.
    assert "Ray dashboard and Jobs API" not in [rule["comment"] for rule in plan["nodes"]["server80"]["firewall_rules"]]


def test_a_healthy_cluster_is_planned():
    plan, problems, warnings = evaluate(facts={})
    assert problems == [] and warnings == []
    head, worker = plan["nodes"]["server84"], plan["nodes"]["server80"]
    assert plan["head_host"] == "server84" and plan["gcs_address"] == "198.18.88.84:6379"
    assert plan["dashboard_url"] == "http://198.18.88.84:8265"
    assert head["container"]["command"][:5] == ["ray", "start", "--head", "--block", "--dashboard-host=0.0.0.0"]
    assert "--port=6379" in head["container"]["command"]
    assert "--object-store-memory=2300000000" in head["container"]["command"]
    assert worker["container"]["command"][:4] == ["ray", "start", "--block", "--address=198.18.88.84:6379"]
    assert "--port=6379" not in worker["container"]["command"]
    assert "--memory=16000000000" in worker["container"]["command"]
    # The head's two metrics endpoints are pinned through the environment, opened to Prometheus and scraped.
    assert head["container"]["env"]["AUTOSCALER_METRIC_PORT"] == "44217"
    assert head["container"]["env"]["DASHBOARD_METRIC_PORT"] == "44227"
    assert "AUTOSCALER_METRIC_PORT" not in worker["container"]["env"]
    assert head["metrics_targets"] == ["198.18.88.84:44217", "198.18.88.84:44227", "198.18.88.84:9091"]
    assert worker["metrics_targets"] == ["198.18.88.80:9091"]
    # The token is in neither the plan nor the container: a file, and a fingerprint label.
    assert TOKEN not in repr(plan)
    assert head["container"]["labels"]["io.wizardsofts.ray.auth"] == "token-sha256:" + model.token_fingerprint(TOKEN)[:16]
    assert head["container"]["shm_size"] == int(2300000000 * 1.1) + 268435456
    assert head["container_state"] == "create"


def test_one_table_of_ports_feeds_the_firewall_the_command_and_the_checks():
    overrides = {"all": {"ray_cluster_metrics_export_port": 9191, "ray_cluster_prometheus_cidrs": ["198.18.88.0/26"]}}
    plan, _problems, _warnings = evaluate(overrides, facts={})
    for host, node in plan["nodes"].items():
        rules = dict((rule["comment"], rule) for rule in node["firewall_rules"])
        assert rules["SSH"] == {"port": "22", "sources": ["any"], "comment": "SSH"}
        assert node["firewall_rules"][0]["comment"] == "SSH"  # SSH first: added before default-deny
        assert rules["Ray metrics"] == {"port": "9191", "sources": ["198.18.88.0/26"], "comment": "Ray metrics"}
        assert rules["Ray worker ports"]["port"] == "10002:19999"
        assert "--metrics-export-port=9191" in node["container"]["command"]
        assert {"name": "metrics_export", "variable": "ray_cluster_metrics_export_port", "port": 9191} in node["ports"]
        head_only = set(["Ray GCS", "Ray dashboard and Jobs API", "Ray client server", "Ray autoscaler metrics",
                         "Ray dashboard metrics"])
        assert (head_only <= set(rules)) == (host == "server84")
    # Every port of the table is a rule on the head, with the table's comment.
    head_rules = [rule["comment"] for rule in plan["nodes"]["server84"]["firewall_rules"]]
    assert [port.comment for port in model.PORTS] == head_rules[1:-1]


def test_the_port_table_matches_the_role_defaults_and_argument_spec():
    defaults = _load("roles/ray_cluster/defaults/main.yml")
    spec = _load("roles/ray_cluster/meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    for port in model.PORTS:
        assert defaults[port.variable] == port.default, port.variable
        assert spec[port.variable]["default"] == port.default and spec[port.variable]["type"] == "int"


def test_no_other_file_lists_the_ports():
    """One fact in one place: no role or playbook template uses a Ray port variable (the defaults set them,
    the argument spec documents them, the cluster model reads them); they all take the plan's ports."""
    allowed = {"roles/ray_cluster/defaults/main.yml", "roles/ray_cluster/meta/argument_specs.yml"}
    offenders = []
    for path in list(ROOT.glob("roles/**/*.yml")) + list(ROOT.glob("roles/**/*.j2")) + list(ROOT.glob("playbooks/*.yml")):
        relative = str(path.relative_to(ROOT))
        if relative in allowed:
            continue
        expressions = " ".join(re.findall(r"\{\{.*?\}\}|\{%.*?%\}", path.read_text(), re.S))
        offenders += ["%s: %s" % (relative, variable) for variable in model.PORT_VARIABLES + model.WORKER_RANGE
                      if re.search(r"\b%s\b" % variable, expressions)]
    assert offenders == []


def test_a_changed_setting_changes_the_configuration_hash_and_an_unchanged_one_does_not():
    first, _problems, _warnings = evaluate(facts={})
    again, _problems, _warnings = evaluate(facts={})
    resized, _problems, _warnings = evaluate({"server80": {"ray_worker_num_cpus": 6}}, facts={})
    assert first["nodes"]["server80"]["config_hash"] == again["nodes"]["server80"]["config_hash"]
    assert first["nodes"]["server80"]["config_hash"] != resized["nodes"]["server80"]["config_hash"]
    assert first["nodes"]["server84"]["config_hash"] == resized["nodes"]["server84"]["config_hash"]


def test_the_drain_deadline_is_a_workers_and_changing_it_replaces_no_container():
    default, _problems, _warnings = evaluate(facts={})
    longer, _problems, _warnings = evaluate({"server80": {"ray_worker_drain_deadline": 300}}, facts={})
    assert default["nodes"]["server80"]["drain_deadline"] == 60 and longer["nodes"]["server80"]["drain_deadline"] == 300
    # The head is never drained: stopping it ends the cluster.
    assert default["nodes"]["server84"]["drain_deadline"] == 0
    assert default["nodes"]["server80"]["config_hash"] == longer["nodes"]["server80"]["config_hash"]


@pytest.mark.parametrize("existing, state", [
    (None, "create"),
    ({"running": True, "labels": {}}, "replace"),
    ({"running": True, "labels": {"io.wizardsofts.ray.config-hash": "HASH"}}, "none"),
    ({"running": False, "labels": {"io.wizardsofts.ray.config-hash": "HASH"}}, "start"),
])
def test_container_state(existing, state):
    assert model.container_state(existing, "HASH") == state


def test_an_unreachable_head_stops_everything_and_an_unreachable_worker_is_a_warning():
    plan, problems, _warnings = evaluate(facts={}, unreachable=["server84"])
    assert plan is None
    assert "The Ray head server84 could not be reached" in problems[0].text()
    plan, problems, warnings = evaluate(facts={}, unreachable=["server80"])
    assert problems == [] and plan["unreachable"] == ["server80"]
    assert "server80 could not be reached and will not be deployed" in warnings[0]


def test_disabled_authentication_is_warned_about():
    plan, problems, warnings = evaluate({"all": {"ray_cluster_auth_mode": "disabled"}})
    assert problems == [] and "ray_cluster_auth_mode=disabled" in warnings[0]
    assert "RAY_AUTH_MODE" not in plan["nodes"]["server84"]["container"]["env"]
    assert plan["nodes"]["server84"]["absent_paths"][0].endswith("/secrets/auth_token")


def test_the_docs_table_is_generated_from_the_cases():
    import importlib.util

    spec = importlib.util.spec_from_file_location("generate_preflight_table", ROOT / "docs" / "generate_preflight_table.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    current = (ROOT / "docs" / "preflight.md").read_text()
    assert generator.render(current, CASES) == current, "docs/preflight.md is stale: run make docs"


def _converged_facts(plan, host):
    """What node_facts reads on a node that the plan's container task has just converged."""
    node = plan["nodes"][host]
    paths = dict((entry["path"], {"exists": True, "type": "directory", "uid": entry["owner"], "gid": entry["group"],
                                  "mode": entry["mode"], "sha256": None}) for entry in node["directories"])
    paths[node["secrets_dir"] + "/auth_token"] = {"exists": True, "type": "file", "uid": 1000, "gid": 100, "mode": "0600",
                                                  "sha256": model.token_fingerprint(TOKEN)}
    paths.update(dict((path, {"exists": False}) for path in node["absent_paths"]))
    paths[node["data_dir"] + "/.wizardsofts-ray"] = {"exists": True, "type": "file", "uid": 0, "gid": 0, "mode": "0644",
                                                     "sha256": None}
    container = {"running": True, "labels": {"io.wizardsofts.ray.config-hash": node["config_hash"]}}
    return {"paths": paths, "containers": {node["container"]["name"]: container}}


@pytest.mark.parametrize("drift, in_sync", [
    (None, True),
    (lambda facts, node: facts["paths"][node["secrets_dir"] + "/auth_token"].update(sha256="0" * 64), False),
    (lambda facts, node: facts["paths"][node["secrets_dir"] + "/auth_token"].update(mode="0644"), False),
    (lambda facts, node: facts["paths"][node["data_dir"]].update(mode="0755"), False),
    # A directory from before the markers: the container task runs once, to write it.
    (lambda facts, node: facts["paths"].pop(node["data_dir"] + "/.wizardsofts-ray"), False),
    (lambda facts, node: facts["paths"][node["secrets_dir"]].update(uid=0), False),
    (lambda facts, node: facts["containers"][node["container"]["name"]].update(running=False), False),
    (lambda facts, node: facts["containers"][node["container"]["name"]]["labels"].clear(), False),
])
def test_a_node_is_in_sync_only_when_its_container_directories_and_token_file_are_as_planned(drift, in_sync):
    """In sync, the container task is skipped (no call to the node); any drift brings it back."""
    first, _problems, _warnings = evaluate(facts={})
    facts = {"server80": _converged_facts(first, "server80")}
    if drift:
        drift(facts["server80"], first["nodes"]["server80"])
    plan, problems, _warnings = evaluate(facts=facts)
    assert problems == []
    assert plan["nodes"]["server80"]["in_sync"] is in_sync
    assert plan["nodes"]["server84"]["in_sync"] is False  # nothing read there: a fresh node


def test_a_tls_node_is_never_called_in_sync():
    first, _problems, _warnings = evaluate({"all": {"ray_cluster_tls_enabled": True}}, facts={})
    facts = {"server80": _converged_facts(first, "server80")}
    plan, _problems, _warnings = evaluate({"all": {"ray_cluster_tls_enabled": True}}, facts=facts)
    assert plan["nodes"]["server80"]["in_sync"] is False


UFW_FIXTURES = ROOT / "tests" / "unit" / "fixtures" / "ufw-0.36.2"
SANDBOX = {"all": {"ray_cluster_cidrs": ["198.18.84.0/24"], "ray_cluster_admin_cidrs": ["198.18.84.0/24"],
                   "ray_cluster_prometheus_cidrs": ["198.18.84.0/24"]},
           "server84": {"ray_cluster_node_ip": "198.18.84.84"}, "server80": {"ray_cluster_node_ip": "198.18.84.80"}}


def _recorded_firewall(**changes):
    """What node_facts read on the sandbox's converged worker (recorded UFW files), with changes."""
    firewall = {"ufw_active": True, "ufw_defaults": (UFW_FIXTURES / "default-ufw-debian.txt").read_text(),
                "ufw_user_rules": [(UFW_FIXTURES / "user.rules-sandbox-worker").read_text(),
                                   (UFW_FIXTURES / "user6.rules-sandbox-worker").read_text()]}
    firewall.update(changes)
    return {"packages": {"ufw": "0.36.2-6"}, "firewall": firewall}


@pytest.mark.parametrize("facts, in_sync", [
    (_recorded_firewall(), True),
    (_recorded_firewall(ufw_active=False), False),
    (dict(_recorded_firewall(), packages={}), False),
    (_recorded_firewall(ufw_user_rules=[(UFW_FIXTURES / "user.rules-sandbox-worker").read_text().replace(
        "### tuple ### allow tcp 9091 ", "### tuple ### allow tcp 9092 ")]), False),
    (_recorded_firewall(ufw_defaults="DEFAULT_INPUT_POLICY=\"ACCEPT\"\nDEFAULT_OUTPUT_POLICY=\"ACCEPT\"\n"), False),
])
def test_the_firewall_is_in_sync_exactly_when_ufw_rules_would_change_nothing(facts, in_sync):
    plan, problems, _warnings = evaluate(SANDBOX, facts={"server80": facts})
    assert problems == []
    assert plan["nodes"]["server80"]["firewall_in_sync"] is in_sync


def test_a_moved_port_takes_the_firewall_out_of_sync():
    overrides = dict(SANDBOX, all=dict(SANDBOX["all"], ray_cluster_metrics_export_port=9191))
    plan, _problems, _warnings = evaluate(overrides, facts={"server80": _recorded_firewall()})
    assert plan["nodes"]["server80"]["firewall_in_sync"] is False


OPERATORS_DAEMON_JSON = {"runtimes": {"nvidia": {"path": "nvidia-container-runtime"}},
                         "registry-mirrors": ["https://mirror.example"], "log-opts": {"labels": "team"}}


def test_daemon_json_keeps_the_operators_keys_and_adds_ours():
    plan, _problems, _warnings = evaluate(facts={"server80": {"docker": {"answers": True, "daemon_json": OPERATORS_DAEMON_JSON}}})
    config = plan["nodes"]["server80"]["docker_daemon_config"]
    assert config == {"runtimes": {"nvidia": {"path": "nvidia-container-runtime"}},
                      "registry-mirrors": ["https://mirror.example"], "log-driver": "json-file",
                      "log-opts": {"labels": "team", "max-size": "100m", "max-file": "3"}}
    assert plan["nodes"]["server80"]["docker_in_sync"] is False
    again, _problems, _warnings = evaluate(facts={"server80": {"docker": {"answers": True, "daemon_json": config}}})
    assert again["nodes"]["server80"]["docker_in_sync"] is True


@pytest.mark.parametrize("docker, snap, in_sync", [
    ({"answers": False, "daemon_json": None}, False, False),   # no engine: the docker role installs one
    ({"answers": True, "daemon_json": None}, False, False),    # an engine, but not our log rotation yet
    ({"answers": True, "daemon_json": None, "daemon_json_error": "not JSON"}, False, False),
    ({"answers": False, "daemon_json": None}, True, True),     # a snap Docker is left as it is
])
def test_docker_in_sync(docker, snap, in_sync):
    plan, _problems, _warnings = evaluate(facts={"server80": {"docker": docker, "snap_docker": snap}})
    assert plan["nodes"]["server80"]["docker_in_sync"] is in_sync


TWO_A10G = {"nvidia_driver": True, "packages": {"nvidia-container-toolkit": "1.17.8-1"},
            "gpus": [{"index": 0, "name": "NVIDIA A10G", "uuid": "GPU-aaaa"},
                     {"index": 1, "name": "NVIDIA A10G", "uuid": "GPU-bbbb"}]}


@pytest.mark.parametrize("settings, facts, count, requests", [
    ({}, {}, 0, None),
    ({"ray_worker_num_gpus": "auto"}, {"gpus": [], "nvidia_driver": False}, 0, None),
    ({"ray_worker_num_gpus": 2}, TWO_A10G, 2, [{"driver": "nvidia", "count": 2, "capabilities": [["gpu"]]}]),
    ({"ray_worker_num_gpus": "auto"}, TWO_A10G, 2, [{"driver": "nvidia", "count": 2, "capabilities": [["gpu"]]}]),
    ({"ray_worker_num_gpus": "auto", "ray_worker_gpu_devices": ["GPU-bbbb"]}, TWO_A10G, 1,
     [{"driver": "nvidia", "device_ids": ["GPU-bbbb"], "capabilities": [["gpu"]]}]),
])
def test_the_container_gets_device_requests_exactly_when_the_node_gets_gpus(settings, facts, count, requests):
    plan, problems, _warnings = evaluate({"server80": settings}, facts={"server80": facts})
    assert problems == []
    worker, head = plan["nodes"]["server80"], plan["nodes"]["server84"]
    assert worker["container"].get("device_requests") == requests
    assert ("device_requests" in worker["container"]) is (count > 0)
    assert "--num-gpus=%d" % count in worker["container"]["command"]
    assert worker["gpus"]["count"] == count and plan["expected_gpus"] == count
    assert worker["gpus"]["accelerator_type"] == ("A10G" if count else None)
    assert "device_requests" not in head["container"]
    # The nvidia runtime is merged into daemon.json exactly on a GPU node.
    assert ("runtimes" in worker["docker_daemon_config"]) is (count > 0)
    assert worker["nvidia_toolkit"] is (count > 0)


def test_gpus_change_the_configuration_hash_and_the_same_gpus_do_not():
    cpu, _p, _w = evaluate(facts={"server80": TWO_A10G})
    one, _p, _w = evaluate({"server80": {"ray_worker_num_gpus": 1}}, facts={"server80": TWO_A10G})
    one_again, _p, _w = evaluate({"server80": {"ray_worker_num_gpus": 1}}, facts={"server80": TWO_A10G})
    two, _p, _w = evaluate({"server80": {"ray_worker_num_gpus": 2}}, facts={"server80": TWO_A10G})
    hashes = [plan["nodes"]["server80"]["config_hash"] for plan in (cpu, one, one_again, two)]
    assert hashes[1] == hashes[2]
    assert len({hashes[0], hashes[1], hashes[3]}) == 3


def test_a_cpu_node_keeps_the_command_and_hash_it_had_before_gpus_resources_and_labels_existed():
    plan, _p, _w = evaluate(facts={})
    container = plan["nodes"]["server80"]["container"]
    assert "--num-gpus=0" in container["command"]
    assert not any(arg.startswith(("--resources", "--labels")) for arg in container["command"])
    assert "device_requests" not in container


def test_resources_and_labels_reach_ray_start_and_the_plan():
    overrides = {"server80": {"ray_worker_resources": {"special_hardware": 2}, "ray_worker_labels": {"zone": "eu-west-1a"}}}
    plan, problems, _w = evaluate(overrides, facts={})
    worker = plan["nodes"]["server80"]
    assert problems == []
    assert worker["container"]["command"][-2:] == ['--resources={"special_hardware":2}', "--labels=zone=eu-west-1a"]
    assert (worker["resources"], worker["labels"]) == ({"special_hardware": 2}, {"zone": "eu-west-1a"})


def test_a_gpu_node_without_the_toolkit_is_not_docker_in_sync_until_it_is_installed():
    docker = {"answers": True, "daemon_json": None}
    facts = dict(TWO_A10G, packages={}, docker=docker)
    plan, _p, _w = evaluate({"server80": {"ray_worker_num_gpus": 1}}, facts={"server80": facts})
    config = plan["nodes"]["server80"]["docker_daemon_config"]
    assert config["runtimes"] == {"nvidia": {"path": "nvidia-container-runtime", "args": []}}
    docker["daemon_json"] = config
    missing, _p, _w = evaluate({"server80": {"ray_worker_num_gpus": 1}}, facts={"server80": facts})
    assert missing["nodes"]["server80"]["docker_in_sync"] is False
    installed, _p, _w = evaluate({"server80": {"ray_worker_num_gpus": 1}},
                                 facts={"server80": dict(facts, packages=TWO_A10G["packages"])})
    assert installed["nodes"]["server80"]["docker_in_sync"] is True


def test_extra_args_may_not_pass_resources_or_labels():
    plan, problems, _w = evaluate({"server80": {"ray_worker_extra_args": ['--resources={"a": 1}']}})
    assert plan is None
    assert "remove --resources from ray_worker_extra_args and set ray_worker_resources instead" in problems[0].text()


@pytest.mark.parametrize("run_tags, skip_tags, selected", [
    (["all"], [], {"docker", "ufw"}),                    # ansible-playbook site.yml
    ([], [], {"docker", "ufw"}),                         # no tags given at all
    (["all"], ["firewall"], {"docker"}),                 # --skip-tags firewall
    (["firewall"], [], {"ufw"}),                         # --tags firewall
    (["ray_head"], [], set()),                           # --tags ray_head: neither play runs
    (["tagged"], [], {"docker", "ufw"}),
    (["all"], ["tagged"], set()),
    (["untagged"], [], set()),
])
def test_the_node_checks_of_a_tagged_play_apply_when_the_run_selects_it(run_tags, skip_tags, selected):
    assert model.roles_selected({"docker": "docker", "ufw": "firewall"}, run_tags, skip_tags) == selected


def test_an_untagged_role_always_runs():
    """The ufw role of firewall.yml, the docker role used on its own: no tag skips them."""
    assert model.roles_selected({"ufw": None}, ["ray_head"], ["firewall"]) == {"ufw"}
    assert model.roles_selected({}, ["all"], []) == set()


@pytest.mark.parametrize("tables, foreign", [
    (None, []),                                                         # nft not installed
    ([], []),
    ([{"family": "ip", "name": "filter"}, {"family": "ip6", "name": "filter"}, {"family": "ip", "name": "nat"},
      {"family": "ip6", "name": "mangle"}, {"family": "bridge", "name": "filter"}, {"family": "arp", "name": "filter"}],
     []),                                                               # iptables-nft, ebtables-nft, arptables-nft
    ([{"family": "ip", "name": "docker-bridges"}, {"family": "ip6", "name": "docker-bridges"}], []),
    ([{"family": "inet", "name": "filter"}], ["inet filter"]),          # Debian's /etc/nftables.conf
    ([{"family": "inet", "name": "firewalld"}, {"family": "ip", "name": "filter"}], ["inet firewalld"]),
    ([{"family": "ip", "name": "kube-proxy"}], ["ip kube-proxy"]),
    ([{"family": "inet", "name": "nat"}], ["inet nat"]),                 # iptables-nft makes no inet tables
])
def test_foreign_nftables_tables(tables, foreign):
    assert ["%s %s" % (t["family"], t["name"]) for t in model.foreign_nftables(tables)] == foreign


def test_a_node_whose_firewall_is_in_sync_is_not_refused_for_another_firewall():
    """The ufw role does not run there (the plan skips it), so it changes nothing beside firewalld."""
    facts = _recorded_firewall(firewalld_running=True)
    plan, problems, _warnings = evaluate(SANDBOX, facts={"server80": facts})
    assert problems == [] and plan["nodes"]["server80"]["firewall_in_sync"] is True
    facts = _recorded_firewall(firewalld_running=True, ufw_active=False)
    _plan, problems, _warnings = evaluate(SANDBOX, facts={"server80": facts})
    assert [problem.text().split(":")[0] for problem in problems] == ["Another firewall on server80"]


def test_without_root_only_root_is_reported():
    """A node read without root is read partly: the one problem is root, not what could not be seen."""
    facts = {"server80": {"user_uid": 1000, "packages": {"netfilter-persistent": "1.0.20", "docker-ce": "5:27.3.1"},
                          "firewall": {"firewalld_running": True}, "docker": {"answers": False}}}
    _plan, problems, _warnings = evaluate(facts=facts)
    assert len(problems) == 1 and problems[0].text().startswith("Changing the firewall needs root on server80")


def test_every_conflict_names_an_engine_and_a_fix():
    for source, conflicts in model.ENGINE_CONFLICTS.items():
        assert source in model.ENGINE_INSTALLED_BY
        for package, (engine, _start) in conflicts:
            facts = {"server80": {"docker": {"answers": False, "socket": "/run/docker.sock"},
                                  "packages": {package: "1"}}}
            _plan, problems, _warnings = evaluate({"all": {"docker_install_source": source}}, facts=facts)
            assert len(problems) == 1, (source, package)
            text = problems[0].text()
            assert text.startswith("Docker on server80: %s is installed but its engine does not answer on "
                                   "/run/docker.sock (%s)" % (engine, package)), text
            assert "Fix: " in text and "never replaces" in text


# ---- the data directory: described, marked, pruned ----------------------------------------------------------

def test_the_data_directory_is_marked_and_every_candidate_described():
    plan, problems, _warnings = evaluate(facts={})
    assert problems == []
    worker = plan["nodes"]["server80"]
    assert worker["directories"][0] == {"path": "/var/lib/ray", "owner": 0, "group": 0, "mode": "0750",
                                        "marker": ".wizardsofts-ray"}
    # Which directory a node uses only its facts tell (a snap Docker): node_facts describes both, and their sessions.
    assert worker["data_dir_candidates"] == ["/var/lib/ray", "/home/ray-data"]
    assert worker["described_dirs"] == ["/var/lib/ray", "/var/lib/ray/session", "/home/ray-data", "/home/ray-data/session"]
    assert {"/var/lib/ray/.wizardsofts-ray", "/home/ray-data/.wizardsofts-ray"} <= set(worker["managed_paths"])
    # The marker is no part of the container's configuration: adding it recreates no running container.
    assert "marker" not in repr(worker["container"])


def test_a_configured_data_directory_is_the_only_candidate():
    plan, _problems, _warnings = evaluate({"all": {"ray_cluster_data_dir": "/data//ray/"}}, facts={})
    worker = plan["nodes"]["server80"]
    assert worker["data_dir"] == "/data/ray" and worker["data_dir_candidates"] == ["/data/ray"]
    assert worker["container"]["binds"][0] == "/data/ray/session:/tmp/ray"


SESSION = "session_2026-12-0%d_10-00-00_000001_1"


@pytest.mark.parametrize("session_dir, keep, prune", [
    (None, 5, False),                                                   # not read (no such directory asked for)
    ({"exists": False}, 5, False),                                      # a fresh node
    ({"exists": True, "entries": 3, "names": [SESSION % 1, SESSION % 2, "session_latest"]}, 2, False),
    ({"exists": True, "entries": 4, "names": [SESSION % 1, SESSION % 2, SESSION % 3, "session_latest"]}, 2, True),
    ({"exists": True, "entries": 4, "names": [SESSION % 1, SESSION % 2, SESSION % 3, "session_latest"]}, 3, False),
])
def test_sessions_are_pruned_only_when_the_node_holds_more_than_are_kept(session_dir, keep, prune):
    facts = {"server80": {"data_dirs": {"/var/lib/ray/session": session_dir} if session_dir else {}}}
    plan, problems, _warnings = evaluate({"all": {"ray_cluster_sessions_keep": keep}}, facts=facts)
    assert problems == []
    assert plan["nodes"]["server80"]["prune_sessions"] is prune


# ---- GCS fault tolerance ----------------------------------------------------------------------------------------
REDIS_PASSWORD = "ZZZZZZZZZZZZZZZZZZZZ"
FT = {"all": {"ray_cluster_gcs_ft_enabled": True, "ray_cluster_gcs_ft_redis_password": REDIS_PASSWORD}}
FT_GROUPS = {"ray_redis": ["server80"]}


def test_fault_tolerance_gives_the_head_its_redis_and_the_workers_a_long_reconnect():
    plan, problems, _warnings = evaluate(FT, groups=FT_GROUPS)
    assert problems == []
    head, worker = plan["nodes"]["server84"], plan["nodes"]["server80"]
    assert head["container"]["env"]["RAY_REDIS_ADDRESS"] == "198.18.88.80:6380"
    assert head["container"]["env"]["RAY_external_storage_namespace"] == "wizardsofts-ray-server84"
    assert "RAY_gcs_rpc_server_reconnect_timeout_s" not in head["container"]["env"]
    assert worker["container"]["env"]["RAY_gcs_rpc_server_reconnect_timeout_s"] == "600"
    assert "RAY_REDIS_ADDRESS" not in worker["container"]["env"]
    # The head's command reads the password from its secrets file; ray start's own arguments follow unchanged.
    command = head["container"]["command"]
    assert command[:2] == ["/bin/sh", "-c"]
    assert "$(cat /run/secrets/wizardsofts-ray/redis_password)" in command[2]
    assert command[3:5] == ["ray", "start"]
    assert head["redis_password_file"] == head["secrets_dir"] + "/redis_password"
    assert head["redis_password_file"] not in head["absent_paths"]
    assert worker["secrets_dir"] + "/redis_password" in worker["absent_paths"]
    assert plan["gcs_store"] == {"address": "198.18.88.80:6380", "redis_host": "198.18.88.80", "redis_port": 6380,
                                 "namespace": "wizardsofts-ray-server84", "password_sha": None, "host": "server80"}


def test_the_redis_password_is_in_no_plan_command_environment_or_label():
    plan, _problems, _warnings = evaluate(FT, groups=FT_GROUPS)
    assert REDIS_PASSWORD not in json.dumps(model.for_ansible(plan))


def test_redis_runs_on_the_ray_redis_host_opened_to_the_head_alone():
    plan, _problems, _warnings = evaluate(FT, groups=FT_GROUPS)
    store = plan["nodes"]["server80"]["gcs_store"]
    assert plan["nodes"]["server84"]["gcs_store"] is None
    assert plan["nodes"]["server80"]["runs_gcs_store"] and not plan["nodes"]["server84"]["runs_gcs_store"]
    assert store["container"]["command"] == ["redis-server", "/etc/wizardsofts-ray-redis/redis.conf"]
    config = store["container"]["config"]
    assert "bind 198.18.88.80 127.0.0.1\n" in config and "port 6380\n" in config and "appendonly yes\n" in config
    assert "requirepass" not in config
    assert store["config_sha256"] == hashlib.sha256((config + "requirepass %s\n" % REDIS_PASSWORD).encode()).hexdigest()
    rules = [rule for rule in plan["nodes"]["server80"]["firewall_rules"] if rule["comment"] == "Ray GCS store (Redis)"]
    assert rules == [{"port": "6380", "sources": ["198.18.88.84/32"], "comment": "Ray GCS store (Redis)"}]
    assert not [rule for rule in plan["nodes"]["server84"]["firewall_rules"] if "Redis" in rule["comment"]]
    assert store["container"]["name"] in plan["nodes"]["server80"]["facts_containers"]
    assert store["config_path"] in plan["nodes"]["server80"]["managed_paths"]


def test_your_own_redis_is_used_and_none_is_run():
    overrides = {"all": dict(FT["all"], ray_cluster_gcs_ft_redis_address="10.0.0.5:6379")}
    plan, problems, _warnings = evaluate(overrides)
    assert problems == []
    assert plan["nodes"]["server84"]["container"]["env"]["RAY_REDIS_ADDRESS"] == "10.0.0.5:6379"
    assert not any(node["runs_gcs_store"] for node in plan["nodes"].values())


def test_without_fault_tolerance_nothing_of_it_is_planned_and_the_hash_is_as_before():
    plan, _problems, _warnings = evaluate(groups=FT_GROUPS)
    head = plan["nodes"]["server84"]
    assert plan["gcs_store"] is None and head["gcs_store"] is None and plan["nodes"]["server80"]["gcs_store"] is None
    assert head["container"]["command"][:2] == ["ray", "start"]
    assert "RAY_REDIS_ADDRESS" not in head["container"]["env"]
    assert "io.wizardsofts.ray.gcs-store" not in head["container"]["labels"]
    assert "redis_password_file" not in head


def test_a_new_redis_password_restarts_the_head_and_redis_but_no_worker():
    first, _p, _w = evaluate(FT, groups=FT_GROUPS)
    other = {"all": dict(FT["all"], ray_cluster_gcs_ft_redis_password="Y" * 20)}
    second, _p, _w = evaluate(other, groups=FT_GROUPS)
    assert first["nodes"]["server84"]["config_hash"] != second["nodes"]["server84"]["config_hash"]
    assert first["nodes"]["server80"]["gcs_store"]["config_hash"] != second["nodes"]["server80"]["gcs_store"]["config_hash"]
    assert first["nodes"]["server80"]["config_hash"] == second["nodes"]["server80"]["config_hash"]


def _converged_store_facts(plan):
    facts = _converged_facts(plan, "server80")
    store = plan["nodes"]["server80"]["gcs_store"]
    for entry in store["directories"]:
        facts["paths"][entry["path"]] = {"exists": True, "type": "directory", "uid": entry["owner"], "gid": entry["group"],
                                         "mode": entry["mode"], "sha256": None}
    facts["paths"][store["config_path"]] = {"exists": True, "type": "file", "uid": 999, "gid": 999, "mode": "0600",
                                            "sha256": store["config_sha256"]}
    facts["containers"][store["container"]["name"]] = {
        "running": True, "labels": {"io.wizardsofts.ray.config-hash": store["config_hash"]}}
    return facts


@pytest.mark.parametrize("drift, in_sync", [
    (None, True),
    (lambda facts, store: facts["paths"][store["config_path"]].update(sha256="0" * 64), False),
    (lambda facts, store: facts["paths"][store["config_path"]].update(mode="0644"), False),
    (lambda facts, store: facts["containers"][store["container"]["name"]].update(running=False), False),
    (lambda facts, store: facts["containers"].pop(store["container"]["name"]), False),
    (lambda facts, store: facts["paths"][store["directories"][1]["path"]].update(uid=0), False),
])
def test_redis_is_in_sync_only_when_its_container_directories_and_configuration_are_as_planned(drift, in_sync):
    first, _p, _w = evaluate(FT, facts={}, groups=FT_GROUPS)
    facts = {"server80": _converged_store_facts(first)}
    if drift:
        drift(facts["server80"], first["nodes"]["server80"]["gcs_store"])
    plan, problems, _w = evaluate(FT, facts=facts, groups=FT_GROUPS)
    assert problems == []
    assert plan["nodes"]["server80"]["gcs_store_in_sync"] is in_sync
    # The Ray node on the same host is judged on its own: Redis's drift does not replace it.
    assert plan["nodes"]["server80"]["in_sync"] is True


def test_the_head_is_in_sync_only_with_its_copy_of_the_redis_password():
    first, _p, _w = evaluate(FT, facts={}, groups=FT_GROUPS)
    facts = {"server84": _converged_facts(first, "server84")}
    head = first["nodes"]["server84"]
    plan, _p, _w = evaluate(FT, facts=facts, groups=FT_GROUPS)
    assert plan["nodes"]["server84"]["in_sync"] is False  # the password file is missing
    facts["server84"]["paths"][head["redis_password_file"]] = {
        "exists": True, "type": "file", "uid": 1000, "gid": 100, "mode": "0600",
        "sha256": model.token_fingerprint(REDIS_PASSWORD)}
    plan, _p, _w = evaluate(FT, facts=facts, groups=FT_GROUPS)
    assert plan["nodes"]["server84"]["in_sync"] is True
