"""Rolling upgrade from the previous Ray release to the current one: head first, then one worker per batch."""

import json

from helpers import HEAD, NODES, TOKEN_FILE, load_testbed_images, node_exec, ray_container, run_playbook


def test_upgrade_goes_head_first_then_one_worker_per_batch_and_every_node_runs_the_new_version():
    images = load_testbed_images()
    new_version = images["ray_cluster_version"]
    assert images["testbed_previous_ray_version"] != new_version

    run = run_playbook("upgrade.yml", "-e", "ray_cluster_upgrade_batch_size=1")
    assert run.returncode == 0, run.stdout[-3000:]
    # One PLAY header per batch: two workers, batch size 1.
    assert run.stdout.count("PLAY [Upgrade - the workers, a batch at a time]") == 2
    assert run.stdout.count("TASK [Check that the head and every worker upgraded so far are ALIVE members") == 2

    containers = {node["name"]: ray_container(node) for node in NODES}
    assert all(c["Config"]["Image"] == images["ray_cluster_image"] for c in containers.values())
    # Head first, then the batches in inventory order.
    created = sorted(containers, key=lambda name: containers[name]["Created"])
    assert created == ["server84", "server80", "server81"], created

    for node in NODES:
        assert node_exec(node, f"docker exec {node['ray']} ray --version").strip().endswith(f"version {new_version}")
    token = TOKEN_FILE.read_text(encoding="utf-8").strip()
    version = json.loads(node_exec(HEAD, f"curl -sf -H 'Authorization: Bearer {token}' http://127.0.0.1:8265/api/version"))
    assert version["ray_version"] == new_version
    assert f"Ray {new_version} cluster: 3 ALIVE node(s)" in run.stdout
