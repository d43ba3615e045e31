"""Turning GCS fault tolerance on, on the running cluster, with site.yml: Redis on server80 behind a firewall that
only the head passes, the password in no container's configuration, and a second run that changes nothing."""

import json
import socket

from helpers import (FT_ON, HEAD, REDIS, REDIS_PASSWORD, WORKER, changed_per_host, inspect, node_exec,
                     redis_ping_from, run_playbook)


def test_site_turns_fault_tolerance_on_and_a_rerun_changes_nothing():
    first = run_playbook("site.yml", *FT_ON)
    assert first.returncode == 0, first.stdout[-3000:]
    again = run_playbook("site.yml", *FT_ON)
    assert again.returncode == 0, again.stdout[-3000:]
    assert changed_per_host(again.stdout) == {"server84": 0, "server80": 0}, again.stdout[-3000:]
    check = run_playbook("site.yml", *FT_ON, "--check")
    assert check.returncode == 0 and changed_per_host(check.stdout) == {"server84": 0, "server80": 0}, check.stdout[-3000:]


def test_the_head_keeps_its_tables_in_redis_and_the_worker_waits_for_a_restarting_head():
    head = inspect(HEAD, HEAD["ray"])
    env = dict(item.split("=", 1) for item in head["Config"]["Env"])
    assert env["RAY_REDIS_ADDRESS"] == f"{WORKER['ip']}:{REDIS['port']}"
    assert env["RAY_external_storage_namespace"] == "wizardsofts-ray-server84"
    worker_env = dict(item.split("=", 1) for item in inspect(WORKER, WORKER["ray"])["Config"]["Env"])
    assert worker_env["RAY_gcs_rpc_server_reconnect_timeout_s"] == "600"


def test_the_password_is_in_no_containers_configuration_and_its_files_are_0600():
    for node, container in ((HEAD, HEAD["ray"]), (WORKER, REDIS["container"]), (WORKER, WORKER["ray"])):
        assert REDIS_PASSWORD not in json.dumps(inspect(node, container)), container
    assert node_exec(WORKER, f"stat -c '%u %a' {REDIS['data_dir']}/config/redis.conf").split() == ["999", "600"]
    assert node_exec(HEAD, "stat -c '%u %a' /var/lib/ray/secrets/redis_password").split() == ["1000", "600"]
    assert node_exec(WORKER, f"grep -c '^appendonly yes$' {REDIS['data_dir']}/config/redis.conf").strip() == "1"
    # Redis's append-only file exists: what it is given survives its own restart.
    assert node_exec(WORKER, f"ls {REDIS['data_dir']}/data").strip()


def test_redis_answers_the_head_and_nobody_else():
    assert redis_ping_from(HEAD) == "+OK +PONG"
    # This machine is on the cluster's network (198.18.90.1) but is not the head: the firewall drops its packets
    # (no answer at all, not a refusal).
    try:
        socket.create_connection((WORKER["ip"], REDIS["port"]), timeout=3).close()
        seen = "open"
    except socket.timeout:
        seen = "filtered"
    except ConnectionRefusedError:
        seen = "refused"
    assert seen == "filtered"
    ufw = node_exec(WORKER, "ufw status")
    assert f"{REDIS['port']}/tcp" in ufw and HEAD["ip"] in ufw, ufw
