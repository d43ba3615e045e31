"""The hand-off to Ray's own tools: the environment file every deploy writes next to the inventory, used by Ray's
CLI on the controller as an operator would use it, and playbooks/status.yml.

Ray's CLI of the pinned version is the one in the scenario's Ray image, run on the controller's own network
(`--network host`): what it reaches is what a `pip install ray` on this machine would reach.
"""

import subprocess

from helpers import INVENTORY, NODES, TOKEN_FILE, changed_per_host, load_testbed_images, run_playbook

ENV_FILE = INVENTORY / "ray-client.env"
JOB = "import ray; ray.init(); print('ALIVE nodes:', sum(node['Alive'] for node in ray.nodes()))"


def env_settings():
    return dict(line.split("=", 1) for line in ENV_FILE.read_text(encoding="utf-8").splitlines()
                if line and not line.startswith("#"))


def ray_cli(*args, env_file=ENV_FILE):
    """Ray's CLI on the controller's network, with the environment file (and the token file it names) as given."""
    token_path = env_settings()["RAY_AUTH_TOKEN_PATH"]
    command = ["docker", "run", "--rm", "--network", "host", "--user", "0", "-v", f"{token_path}:{token_path}:ro"]
    command += ["--env-file", str(env_file)] if env_file else []
    command += [load_testbed_images()["ray_cluster_image"], "ray", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def test_the_deploy_wrote_the_env_file_for_rays_cli_and_no_secret_in_it():
    assert env_settings() == {
        "RAY_ADDRESS": f"http://{NODES['head']['ip']}:8265",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(TOKEN_FILE.resolve()),
    }
    assert TOKEN_FILE.read_text(encoding="utf-8").strip() not in ENV_FILE.read_text(encoding="utf-8")


def test_a_job_submitted_from_the_controller_with_the_env_file_runs_on_the_cluster():
    run = ray_cli("job", "submit", "--", "python", "-c", JOB)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "ALIVE nodes: 2" in run.stdout, run.stdout[-2000:]
    assert "succeeded" in run.stdout, run.stdout[-2000:]


def test_without_the_env_file_the_same_submission_is_refused(tmp_path):
    address_only = tmp_path / "address-only.env"
    address_only.write_text(f"RAY_ADDRESS=http://{NODES['head']['ip']}:8265\n", encoding="utf-8")
    run = ray_cli("job", "submit", "--", "python", "-c", JOB, env_file=address_only)
    assert run.returncode != 0, run.stdout[-2000:]
    assert "succeeded" not in run.stdout


def test_the_status_playbook_shows_what_ray_says_and_changes_nothing():
    run = run_playbook("playbooks/status.yml")
    assert run.returncode == 0, run.stdout[-3000:]
    assert changed_per_host(run.stdout) == {"server84": 0, "server80": 0}, run.stdout[-3000:]
    assert "Active:" in run.stdout, run.stdout[-3000:]  # `ray status`
    for node in NODES.values():
        assert node["ip"] in run.stdout, run.stdout[-3000:]  # `ray list nodes`
