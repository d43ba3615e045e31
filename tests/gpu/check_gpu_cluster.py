# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End-to-end GPU check, for a machine with an NVIDIA GPU, its driver and Docker (not the test bed: it has none).

Deploys a one-node Ray cluster on this machine with the collection's own playbook (playbooks/site.yml, firewall
left alone) from a generated inventory, with GPUs for the head; then, inside the head's container, runs a
`@ray.remote(num_gpus=1)` task that reports CUDA_VISIBLE_DEVICES and the GPU name nvidia-smi shows it; and
compares that with the host's GPUs, the plan (the GPU count) and Ray's accelerator type. It prints what it saw
and removes the cluster again (playbooks/teardown.yml) unless --keep is given.

    sudo .venv/bin/python tests/gpu/check_gpu_cluster.py [--gpus 1] [--image rayproject/ray:2.60.0-gpu] [--keep]

Exit codes:
    0  the task saw the GPU(s) it was given
    1  a mismatch, or the deployment or the task failed (what was seen is printed)
    2  bad arguments
    3  no NVIDIA GPU on this machine (nvidia-smi missing, failing, or listing none): nothing was deployed
    4  another prerequisite is missing (Docker does not answer, ansible-playbook not found): nothing was deployed
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
_PACKAGE = "ansible_collections.wizardsofts.ray.plugins."

OK, MISMATCH, USAGE, NO_GPU, NO_PREREQUISITE = 0, 1, 2, 3, 4
HOST = "gpu-node"
CONTAINER = "ray-head"
# Runs in the head's container, as a Ray driver (the container's environment carries the token settings).
PROBE = r"""
import json, os, subprocess
import ray

ray.init(address="auto", log_to_driver=False)

@ray.remote(num_gpus=1)
def probe():
    smi = subprocess.run(["nvidia-smi", "--query-gpu=index,name,uuid", "--format=csv,noheader"],
                         capture_output=True, text=True)
    return {"cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"), "gpu_ids": ray.get_gpu_ids(),
            "nvidia_smi": smi.stdout.strip(), "nvidia_smi_rc": smi.returncode, "nvidia_smi_err": smi.stderr.strip()}

print("PROBE " + json.dumps({"task": ray.get(probe.remote(), timeout=120),
                             "resources": ray.cluster_resources()}))
"""


def collection(name):
    """A module of this checkout's collection (collections/ links the checkout as wizardsofts.ray): the GPU list is
    parsed by node_facts' own parser and the accelerator type named by the model's own function."""
    if str(ROOT / "collections") not in sys.path:
        sys.path.insert(0, str(ROOT / "collections"))
    return importlib.import_module(_PACKAGE + name)


def host_gpus():
    """(GPUs nvidia-smi -L lists on this machine, why there are none or None)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return [], "nvidia-smi not found"
    try:
        run = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [], "nvidia-smi -L could not run: %s" % exc
    if run.returncode != 0:
        return [], "nvidia-smi -L failed (rc %d): %s" % (run.returncode, (run.stderr or run.stdout).strip()[:200])
    gpus = collection("modules.node_facts").parse_nvidia_smi(run.stdout)
    return gpus, None if gpus else "nvidia-smi -L listed no GPU"


def node_ip():
    """This machine's address on its default route (no packet is sent: a UDP connect only picks the route)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))
        return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"
    finally:
        probe.close()


def inventory(directory, args, ip, gpus):
    head = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "ray_cluster_node_ip": ip,
        "ray_head_num_cpus": os.cpu_count() or 1,
        "ray_head_num_gpus": args.gpus,
        "ray_head_memory": args.memory,
        "ray_head_object_store_memory": args.object_store_memory,
    }
    data = {"ray_cluster": {
        "vars": {"ray_cluster_cidrs": ["%s/32" % ip], "ray_cluster_image": args.image,
                 "ray_cluster_verify_workloads": []},
        "children": {"ray_head": {"hosts": {HOST: head}}, "ray_workers": {"hosts": {}}}}}
    path = pathlib.Path(directory) / "hosts.yml"
    path.write_text(json.dumps(data, indent=2))  # JSON is YAML
    return path


def playbook(name, hosts, extra):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    command = [shutil.which("ansible-playbook") or "ansible-playbook", "-i", str(hosts),
               str(ROOT / "playbooks" / name), "--skip-tags", "firewall"] + list(extra)
    print("+ " + " ".join(command), flush=True)
    return subprocess.run(command, cwd=str(ROOT), env=env, check=False).returncode


def run_probe():
    run = subprocess.run(["docker", "exec", "-i", CONTAINER, "python", "-"], input=PROBE, capture_output=True,
                         text=True, timeout=300, check=False)
    for line in run.stdout.splitlines():
        if line.startswith("PROBE "):
            return json.loads(line[len("PROBE "):]), None
    return None, "the task did not report (rc %d): %s" % (run.returncode, (run.stderr or run.stdout).strip()[-2000:])


def compare(seen, host, expected_gpus):
    """What differs between what the task saw and what this machine has and the cluster was given."""
    problems = []
    task, resources = seen["task"], seen["resources"]
    visible = [part for part in (task.get("cuda_visible_devices") or "").split(",") if part.strip()]
    if len(visible) != 1:
        problems.append("CUDA_VISIBLE_DEVICES=%r in a num_gpus=1 task, expected one device" % task.get("cuda_visible_devices"))
    if task.get("nvidia_smi_rc") != 0:
        problems.append("nvidia-smi in the task failed (rc %s): %s" % (task.get("nvidia_smi_rc"), task.get("nvidia_smi_err")))
    names = [line.split(",")[1].strip() for line in (task.get("nvidia_smi") or "").splitlines() if line.count(",") >= 2]
    host_names = [gpu["name"] for gpu in host]
    if not names or any(name not in host_names for name in names):
        problems.append("nvidia-smi in the task shows %s, the host has %s" % (names or "no GPU", host_names))
    if float(resources.get("GPU", 0)) != float(expected_gpus):
        problems.append("Ray counts GPU=%s, the node was given %s" % (resources.get("GPU", 0), expected_gpus))
    wanted = collection("module_utils._accelerators").accelerator_type(host[0]["name"])
    if wanted and "accelerator_type:%s" % wanted not in resources:
        problems.append("Ray has no accelerator_type:%s resource (it has %s)"
                        % (wanted, sorted(name for name in resources if name.startswith("accelerator_type:"))))
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--gpus", default="1", help="ray_head_num_gpus: a count or auto (default 1)")
    parser.add_argument("--image", default="rayproject/ray:2.60.0-gpu", help="a Ray image with CUDA")
    parser.add_argument("--memory", default="4GB")
    parser.add_argument("--object-store-memory", default="1GB")
    parser.add_argument("--keep", action="store_true", help="leave the cluster running")
    parser.add_argument("extra", nargs="*", help="after --: more ansible-playbook arguments (e.g. --become -K)")
    args = parser.parse_args(argv)
    if args.gpus != "auto" and not args.gpus.isdigit():
        parser.error("--gpus must be a count or auto")

    gpus, reason = host_gpus()
    if not gpus:
        print("no NVIDIA GPU on this machine (%s): nothing was deployed" % reason)
        return NO_GPU
    print("host GPUs: %s" % "; ".join("%d %s %s" % (gpu["index"], gpu["name"], gpu["uuid"]) for gpu in gpus))
    expected = len(gpus) if args.gpus == "auto" else int(args.gpus)
    if expected < 1:
        parser.error("--gpus must give the node at least one GPU")
    if shutil.which("ansible-playbook") is None:
        print("ansible-playbook not found (activate the collection's .venv): nothing was deployed")
        return NO_PREREQUISITE
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        print("Docker does not answer on this machine (docker info failed): nothing was deployed")
        return NO_PREREQUISITE

    with tempfile.TemporaryDirectory(prefix="wizardsofts-ray-gpu-") as directory:
        hosts = inventory(directory, args, node_ip(), gpus)
        try:
            if playbook("site.yml", hosts, args.extra) != 0:
                print("MISMATCH: the deployment failed (see above)")
                return MISMATCH
            seen, error = run_probe()
            if seen is None:
                print("MISMATCH: %s" % error)
                return MISMATCH
            print("task saw: CUDA_VISIBLE_DEVICES=%s, ray.get_gpu_ids()=%s, nvidia-smi: %s"
                  % (seen["task"]["cuda_visible_devices"], seen["task"]["gpu_ids"], seen["task"]["nvidia_smi"]))
            print("Ray resources: %s" % json.dumps(seen["resources"], sort_keys=True))
            problems = compare(seen, gpus, expected)
            for problem in problems:
                print("MISMATCH: " + problem)
            if not problems:
                print("OK: the task got its GPU, and Ray counts the %d GPU(s) the node was given" % expected)
            return MISMATCH if problems else OK
        finally:
            if not args.keep:
                playbook("teardown.yml", hosts, args.extra)


if __name__ == "__main__":
    sys.exit(main())
