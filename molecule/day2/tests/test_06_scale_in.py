"""Scale in: remove_worker.yml drains server81 while a job's tasks run there, then takes it out; the rest of the
cluster is untouched."""

from helpers import (HEAD, INVENTORY, SERVER80, SERVER81, DrainJob, changed_per_host, cluster_nodes, ray_container,
                     run_playbook)


def test_remove_worker_drains_server81_so_its_running_tasks_finish_then_removes_only_it():
    before = {node["name"]: ray_container(node)["Id"] for node in (HEAD, SERVER80)}
    job = DrainJob(SERVER81, tasks=3)
    job.wait_for("running", 180)
    # A longer deadline than the default: the variable reaches Ray (the job reads it back from the GCS).
    run = run_playbook("remove_worker.yml", "-e", "ray_cluster_remove_hosts=server81", "-e", "ray_worker_drain_deadline=120")
    assert run.returncode == 0, run.stdout[-3000:]
    changed = changed_per_host(run.stdout)
    assert changed["server84"] == 0 and changed["server81"] > 0, changed
    assert "server80" not in changed  # not even connected to
    assert ray_container(SERVER81) is None
    assert {node["name"]: ray_container(node)["Id"] for node in (HEAD, SERVER80)} == before
    server81 = [state for ip, state, _ in cluster_nodes() if ip == SERVER81["ip"]]
    assert server81 and "ALIVE" not in server81  # Ray keeps a DEAD entry for the node that left
    message = "wizardsofts.ray remove_worker.yml: server81 leaves the cluster"
    done = job.assert_drained_without_a_failed_task(message, deadline=120)
    # The YAML callback folds the message over lines: compared with its whitespace undone.
    said = " ".join(run.stdout.split())
    assert f"drain: Ray node {done['node_id'][:12]} drained and left after" in said, run.stdout[-3000:]


def test_removing_a_worker_whose_container_is_already_gone_succeeds_and_changes_nothing():
    run = run_playbook("remove_worker.yml", "-e", "ray_cluster_remove_hosts=server81")
    assert run.returncode == 0, run.stdout[-3000:]
    assert changed_per_host(run.stdout) == {"server84": 0, "server81": 0}, run.stdout[-3000:]
    assert "server81: 0 Ray container(s) removed" in run.stdout


def test_without_server81_in_the_inventory_the_membership_check_no_longer_expects_it():
    run = run_playbook("verify.yml", "-e", '{"ray_cluster_verify_workloads": ["hello_world"]}', inventories=(INVENTORY,))
    assert run.returncode == 0, run.stdout[-3000:]
    assert "server84=" in run.stdout and "server80=" in run.stdout and "server81=" not in run.stdout
