#!/usr/bin/env python3
"""The benchmarks of issue 10, measured side by side in one run, printed as one table.

    benchmarks/bench.py [--runs N] [--workers 1,2,4,6] [--keep]

(`make bench`; `BENCH_RUNS=1 make bench` for a quick pass.) Test bed: the network wizardsofts-ray-bench
(198.18.98.0/24), a head and up to 6 workers named wizardsofts-ray-bench-<host>, plus a plain Ray
container wizardsofts-ray-bench-bare. All of them are removed at the end unless --keep.

What each figure is:
  cold deploy   site.yml on nodes that have Docker and the Ray image but no Ray container, no Ray data
                and an inactive, empty UFW (the state `reset_cold` leaves). Wall clock of ansible-playbook.
  floor         the same containers started by benchmarks/floor.sh (plain `docker run`) from the same
                state, until the dashboard lists every node ALIVE (what site.yml's verify waits for).
  rerun         site.yml again right after a cold deploy; changed=0 is checked and shown.
  readiness     time from the head's /api/gcs_healthz first answering success (polled every 10 ms from
                the machine) to the result of site.yml's "Wait until the head's GCS is healthy" task
                reaching the controller (benchmarks/callback_plugins/bench_timeline.py).
  head restart  the seed topology deployed, then `docker restart` of the head's container: until the GCS is
                healthy, and until both nodes are ALIVE again; without GCS fault tolerance, then with it (Redis on
                the worker's server). Whether the worker kept its node ID is counted.
  throughput    benchmarks/workload.py in the deployed head container, then in a plain container of the
                same image running `ray start --head` with the cluster's 12 CPUs (no Docker-in-Docker,
                no firewall), alternately, in the same run.
Medians over the runs; ratios are of medians.
"""

import argparse
import concurrent.futures
import datetime
import importlib.util
import json
import os
import pathlib
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
PROJECT = HERE.parent


def _load_inventory_module():
    """benchmarks/inventory.py, next to this file (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_inventory", HERE / "inventory.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


inventory = _load_inventory_module()


def _load(name, filename):
    """A script next to this file (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_" + name, HERE / filename)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


WORK = PROJECT / ".cache" / "bench"
VENV_BIN = PROJECT / ".venv" / "bin"
BARE = "wizardsofts-ray-bench-bare"
HEAD_IP = inventory.PREFIX + str(inventory.HEAD[1])
RECAP = re.compile(r"^(?P<host>\S+)\s+: ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+"
                   r"failed=(?P<failed>\d+)", re.M)
# The head's task: ray_container returns once the new head is healthy (GCS and its own node ALIVE).
GCS_WAIT_TASK = "Run the Ray container, replaced only by a healthy successor, as head"
DEADLINE = 300


def log(message):
    print("[%s] %s" % (datetime.datetime.now().strftime("%H:%M:%S"), message), file=sys.stderr, flush=True)


def run(argv, check=True, **kwargs):
    result = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError("%s exited %d:\n%s\n%s" % (" ".join(map(str, argv)), result.returncode,
                                                      result.stdout[-4000:], result.stderr[-2000:]))
    return result


def node_container(host):
    return inventory.CONTAINER_PREFIX + host


def hosts_of(workers):
    return [inventory.HEAD[0]] + [name for name, _octet in inventory.WORKERS[:workers]]


def in_parallel(function, items):
    with concurrent.futures.ThreadPoolExecutor(max(1, len(items))) as pool:
        return list(pool.map(function, items))


class Bed(object):
    """The bench test bed: inventories for 1..N workers, the server containers, the bare Ray container."""

    def __init__(self, max_workers):
        self.max_workers = max_workers
        self.inventories = {}
        self.env = dict(os.environ, ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                        ANSIBLE_FORCE_COLOR="0", PATH="%s:%s" % (VENV_BIN, os.environ["PATH"]))

    def inventory(self, workers, gcs_ft=False):
        key = (workers, gcs_ft)
        if key not in self.inventories:
            self.inventories[key] = inventory.write_inventory(
                WORK / ("inventory-%d%s" % (workers, "-gcs-ft" if gcs_ft else "")), workers, PROJECT, gcs_ft=gcs_ft)
        return self.inventories[key]

    def images(self):
        images = {}
        for line in (PROJECT / ".cache" / "testbed_images.yml").read_text().splitlines():
            key, sep, value = line.partition(":")
            if sep and not key.startswith("#"):
                images[key.strip()] = value.strip().strip('"')
        return images

    def playbook(self, workers, playbook, timeline=None, gcs_ft=False, **env_overrides):
        env = dict(self.env, **env_overrides)
        if timeline:
            env.update(ANSIBLE_CALLBACK_PLUGINS=str(HERE / "callback_plugins"), ANSIBLE_CALLBACKS_ENABLED="bench_timeline",
                       BENCH_TIMELINE=str(timeline))
        start = time.perf_counter()
        result = run([str(VENV_BIN / "ansible-playbook"), "-i", str(self.inventory(workers, gcs_ft)), playbook],
                     check=False, cwd=PROJECT, env=env)
        seconds = time.perf_counter() - start
        recap = {m["host"]: int(m["changed"]) for m in RECAP.finditer(result.stdout)}
        if result.returncode != 0:
            raise RuntimeError("%s on %d worker(s) failed:\n%s" % (playbook, workers, result.stdout[-5000:]))
        return seconds, recap

    def create(self):
        log("creating %d server containers" % (self.max_workers + 1))
        self.playbook(self.max_workers, "testbed/playbooks/create.yml")

    def prepared(self, image):
        """Whether every node already has Docker and the Ray image (a bed kept with --keep)."""
        def has_image(host):
            return run(["docker", "exec", node_container(host), "docker", "image", "inspect", image], check=False).returncode == 0
        return all(in_parallel(has_image, hosts_of(self.max_workers)))

    def prepare(self):
        """One deploy onto the fresh servers: Docker configured, the image loaded, on every node."""
        log("first deploy on %d workers (configures Docker, installs UFW, loads the image)" % self.max_workers)
        return self.playbook(self.max_workers, "site.yml")[0]

    def reset_cold(self):
        """Every node back to: Docker and the image present; no Ray container or data; UFW inactive and empty."""
        def reset(host):
            run(["docker", "exec", node_container(host), "sh", "-c",
                 "docker rm -f ray-head ray-worker ray-gcs-redis >/dev/null 2>&1; rm -rf /var/lib/ray /var/lib/ray-redis; "
                 "ufw --force reset >/dev/null; rm -f /etc/ufw/*.rules.[0-9]*"])
        in_parallel(reset, hosts_of(self.max_workers))

    def alive_nodes(self, token):
        return len(self.node_ids(token))

    def node_ids(self, token):
        """ALIVE nodes, IP -> node ID, as the head's state API lists them ({} while it does not answer)."""
        request = urllib.request.Request("http://%s:8265/api/v0/nodes?limit=100" % HEAD_IP,
                                         headers={"Authorization": "Bearer %s" % token})
        try:
            with urllib.request.urlopen(request, timeout=2) as answer:
                nodes = json.load(answer)["data"]["result"]["result"]
        except (OSError, ValueError, KeyError):
            return {}
        return dict((node["node_ip"], node["node_id"]) for node in nodes if node.get("state") == "ALIVE")

    def destroy(self):
        log("removing the bench containers, volumes and network")
        run(["docker", "rm", "-f", BARE], check=False)
        self.playbook(self.max_workers, "testbed/playbooks/destroy.yml")


class HealthPoller(threading.Thread):
    """Polls the head's /api/gcs_healthz every 10 ms; remembers when it first said success."""

    def __init__(self):
        super(HealthPoller, self).__init__(daemon=True)
        self.healthy_at = None
        self.stop = threading.Event()

    def run(self):
        url = "http://%s:8265/api/gcs_healthz" % HEAD_IP
        while not self.stop.is_set() and self.healthy_at is None:
            try:
                with urllib.request.urlopen(url, timeout=1) as answer:
                    if answer.status == 200 and b"success" in answer.read():
                        self.healthy_at = time.time()
            except OSError:
                pass
            self.stop.wait(0.01)


def cold_deploy(bed, workers, readiness=False):
    bed.reset_cold()
    timeline = WORK / "timeline.jsonl"
    if timeline.exists():
        timeline.unlink()
    poller = HealthPoller()
    if readiness:
        poller.start()
    seconds, _recap = bed.playbook(workers, "site.yml", timeline=timeline if readiness else None)
    poller.stop.set()
    latency = None
    if readiness:
        events = [json.loads(line) for line in timeline.read_text().splitlines()]
        returned = [e["time"] for e in events if e["task"].endswith(GCS_WAIT_TASK) and e["host"] == inventory.HEAD[0]]
        if poller.healthy_at and returned:
            latency = returned[0] - poller.healthy_at
    return seconds, latency


def gcs_wait_readiness(bed, image, sleep):
    """The head alone started by floor.sh, gcs_wait run ad hoc with the given sleep: healthy -> result."""
    bed.reset_cold()
    timeline = WORK / "timeline-adhoc.jsonl"
    if timeline.exists():
        timeline.unlink()
    poller = HealthPoller()
    poller.start()
    run([str(HERE / "floor.sh"), image, str(inventory.token_file(PROJECT)),
         "%s=%s" % (node_container(inventory.HEAD[0]), HEAD_IP)])
    env = dict(bed.env, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_CALLBACK_PLUGINS=str(HERE / "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED="bench_timeline", BENCH_TIMELINE=str(timeline))
    run([str(VENV_BIN / "ansible"), "-i", str(bed.inventory(1)), inventory.HEAD[0], "-m", "wizardsofts.ray.gcs_wait",
         "-a", "host=%s port=6379 dashboard_port=8265 timeout=120 sleep=%s" % (HEAD_IP, sleep)], cwd=PROJECT, env=env)
    poller.stop.set()
    returned = [json.loads(line)["time"] for line in timeline.read_text().splitlines()]
    return returned[0] - poller.healthy_at if returned and poller.healthy_at else None


def head_recovery(bed, gcs_ft):
    """The seed topology deployed cold (with GCS fault tolerance or without), then `docker restart` of the head's
    container: (seconds until the GCS is healthy again, seconds until both nodes are ALIVE again, whether the worker
    kept its node ID), each counted from the restart's start."""
    bed.reset_cold()
    bed.playbook(1, "site.yml", gcs_ft=gcs_ft)
    token = inventory.token_file(PROJECT).read_text().strip()
    worker_ip = "%s%d" % (inventory.PREFIX, inventory.WORKERS[0][1])
    before = bed.node_ids(token).get(worker_ip)
    poller = HealthPoller()
    start = time.time()
    run(["docker", "exec", node_container(inventory.HEAD[0]), "docker", "restart", "ray-head"])
    poller.start()
    deadline = time.monotonic() + DEADLINE
    while poller.healthy_at is None or bed.alive_nodes(token) < 2:
        if time.monotonic() > deadline:
            raise RuntimeError("the cluster was not healthy with 2 ALIVE nodes within %d s of a head restart" % DEADLINE)
        time.sleep(0.05)
    both = time.time() - start
    poller.stop.set()
    return poller.healthy_at - start, both, bed.node_ids(token).get(worker_ip) == before


def rerun(bed, workers, **env):
    seconds, recap = bed.playbook(workers, "site.yml", **env)
    return seconds, sum(recap.values())


def floor(bed, workers, image):
    bed.reset_cold()
    token_file = inventory.token_file(PROJECT)
    nodes = ["%s=%s%d" % (node_container(name), inventory.PREFIX, octet)
             for name, octet in [inventory.HEAD] + inventory.WORKERS[:workers]]
    token = token_file.read_text().strip()
    start = time.perf_counter()
    run([str(HERE / "floor.sh"), image, str(token_file)] + nodes)
    deadline = time.monotonic() + DEADLINE
    while bed.alive_nodes(token) < workers + 1:
        if time.monotonic() > deadline:
            raise RuntimeError("the floor's cluster did not get %d ALIVE nodes in %d s" % (workers + 1, DEADLINE))
        time.sleep(0.01)
    return time.perf_counter() - start


def workload_in(container_argv):
    result = run(container_argv + ["python3", "-"], input=(HERE / "workload.py").read_text(), timeout=900)
    return json.loads(result.stdout.strip().splitlines()[-1])


def start_bare(image):
    run(["docker", "rm", "-f", BARE], check=False)
    # The cluster's 12 logical CPUs and the head's object store on one plain node, dashboard included like the
    # head's: no Docker-in-Docker, no firewall, no authentication, no network but loopback.
    run(["docker", "run", "-d", "--name", BARE, "--network", "none", "--shm-size", "2798435456", "--user", "1000:100",
         image, "ray", "start", "--head", "--block", "--num-cpus=12", "--num-gpus=0", "--memory=24000000000",
         "--object-store-memory=2300000000", "--disable-usage-stats"])


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, unit="s"):
    if value is None:
        return "-"
    if unit == "s":
        return "%.2f s" % value
    if unit == "x":
        return "%.2fx" % value
    if unit == "%":
        return "%.0f%%" % (100 * value)
    if unit == "/s":
        return "%.0f/s" % value
    return str(value)


def machine():
    cpus = os.cpu_count()
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        mem_kib = int(meminfo.readline().split()[1])
    load = os.getloadavg()
    docker = run(["docker", "version", "--format", "{{.Server.Version}}"], check=False).stdout.strip()
    return "%s, %d vCPUs, %.0f GiB, Docker %s, load average at the end %.1f/%.1f/%.1f" % (
        platform.platform(terse=True), cpus, mem_kib / 2**20, docker, *load)


def table(results, workers_list, runs):
    m = {key: median(values) for key, values in results.items()}
    rows = []

    def row(name, value, reference, ratio, target, met):
        rows.append((name, value, reference, ratio, target, "yes" if met else ("NO" if met is not None else "-")))

    def ok(value, bound):
        return None if value is None else value <= bound

    cold, fl = m.get("cold_1"), m.get("floor_1")
    ratio = cold / fl if cold and fl else None
    row("cold deploy, seed topology (2 nodes)", fmt(cold), "floor %s" % fmt(fl), fmt(ratio, "x"), "<= 1.5x floor",
        ok(ratio, 1.5))
    base_rerun = m.get("rerun_1")
    for workers in sorted(w for w in workers_list if "rerun_%d" % w in m):
        value = m["rerun_%d" % workers]
        changed = max(results["rerun_changed_%d" % workers])
        name = "rerun, %d nodes (changed=%d)" % (workers + 1, changed)
        if workers == 1:
            row(name, fmt(value), "", "", "<= 5 s", ok(value, 5) and changed == 0)
        else:
            r = value / base_rerun if base_rerun else None
            row(name, fmt(value), "2 nodes %s" % fmt(base_rerun), fmt(r, "x"),
                "<= 1.25x (7 nodes)" if workers + 1 == 7 else "", ok(r, 1.25) if workers + 1 == 7 else None)
    nopipe = m.get("rerun_nopipelining_1")
    row("  before: rerun, 2 nodes, pipelining off", fmt(nopipe), "pipelining on %s" % fmt(base_rerun),
        fmt(nopipe / base_rerun if nopipe and base_rerun else None, "x"), "", None)
    one = m.get("cold_1")
    for workers in sorted(workers_list):
        if workers != 1 and "cold_%d" % workers in m:
            per = (m["cold_%d" % workers] - one) / (workers - 1) if one else None
            share = per / one if per is not None and one else None
            row("deploy, %d workers" % workers, fmt(m["cold_%d" % workers]), "1 worker %s" % fmt(one),
                "+%s per worker (%s)" % (fmt(per), fmt(share, "%")), "<= 15% per worker", ok(share, 0.15))
    for key, label, bound in (("scale_plan_ansible", "plan 1,000 workers: cluster_plan task (ansible-playbook)", 2.0),
                              ("scale_plan_model", "plan 1,000 workers: the model alone", 2.0),
                              ("scale_cluster_info", "cluster_info on a 1,000-node answer", 1.0)):
        if key in m:
            row(label, fmt(m[key]), "", "", "<= %g s" % bound, ok(m[key], bound))
    row("readiness: GCS healthy -> gcs_wait returned", fmt(m.get("readiness")), "", "", "<= 0.5 s", ok(m.get("readiness"), 0.5))
    for sleep in ("1", "0.2"):
        row("  gcs_wait alone, sleep=%s (ad hoc)" % sleep, fmt(m.get("gcs_wait_sleep_%s" % sleep)), "", "", "<= 0.5 s",
            ok(m.get("gcs_wait_sleep_%s" % sleep), 0.5))
    for kind, label, unit in (("trivial", "2,000 trivial tasks", "/s"), ("cpu", "20 CPU-bound tasks", "s")):
        cluster, bare = m.get("cluster_%s" % kind), m.get("bare_%s" % kind)
        if kind == "trivial":
            r = cluster / bare if cluster and bare else None
        else:
            r = bare / cluster if cluster and bare else None  # throughput ratio: inverse of the times
        row("throughput, %s" % label, fmt(cluster, unit), "bare Ray %s" % fmt(bare, unit), fmt(r, "%"), ">= 97% of bare",
            None if r is None else r >= 0.97)
    for key, label in (("noft", "without"), ("ft", "with")):
        if "recovery_%s_gcs" % key in m:
            kept = results["recovery_%s_kept" % key]
            row("head restart %s GCS fault tolerance: GCS healthy" % label, fmt(m["recovery_%s_gcs" % key]), "", "", "", None)
            row("  ... and both nodes ALIVE (worker kept its node: %d of %d)" % (sum(kept), len(kept)),
                fmt(m["recovery_%s_nodes" % key]), "", "", "", None)
    header = ("figure", "median", "reference", "ratio", "target", "met")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    lines = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(header, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    return "\n".join(lines) + "\n\n%d run(s) per figure; %s." % (runs, machine())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "3")))
    parser.add_argument("--workers", default=os.environ.get("BENCH_WORKERS", "1,2,3,4,5,6"),  # 6 workers: 7 nodes
                        help="worker counts to deploy (1 is the seed topology and is always measured)")
    parser.add_argument("--keep", action="store_true", help="leave the test bed running at the end")
    options = parser.parse_args()
    workers_list = sorted(set([1] + [int(w) for w in options.workers.split(",")]))
    WORK.mkdir(parents=True, exist_ok=True)
    bed = Bed(max(workers_list))
    image = bed.images()["ray_cluster_image"]
    results = {}

    def record(key, value):
        results.setdefault(key, []).append(value)

    scale = _load("scale", "scale.py")
    for key, values in scale.measure(1000, options.runs).items():
        results["scale_" + key] = values
    try:
        bed.create()
        if not bed.prepared(image):
            # From scratch: a server container recreated over an old volume would find the Docker engine's old Ray
            # containers there, restarting before Ray's data directory and token exist.
            bed.destroy()
            bed.create()
            record("first_deploy", bed.prepare())
        start_bare(image)
        for number in range(1, options.runs + 1):
            log("run %d/%d: seed topology, floor then deploy" % (number, options.runs))
            record("floor_1", floor(bed, 1, image))
            seconds, latency = cold_deploy(bed, 1, readiness=True)
            record("cold_1", seconds)
            record("readiness", latency)
            seconds, changed = rerun(bed, 1)
            record("rerun_1", seconds)
            record("rerun_changed_1", changed)
            seconds, changed = rerun(bed, 1, ANSIBLE_PIPELINING="false")
            record("rerun_nopipelining_1", seconds)
            for sleep in ("1", "0.2"):
                record("gcs_wait_sleep_%s" % sleep, gcs_wait_readiness(bed, image, sleep))
            log("run %d/%d: throughput, cluster then bare" % (number, options.runs))
            cluster = workload_in(["docker", "exec", "-i", node_container(inventory.HEAD[0]), "docker", "exec", "-i", "ray-head"])
            bare = workload_in(["docker", "exec", "-i", BARE])
            record("cluster_trivial", cluster["trivial_per_second"])
            record("cluster_cpu", cluster["cpu_seconds"])
            record("bare_trivial", bare["trivial_per_second"])
            record("bare_cpu", bare["cpu_seconds"])
            for workers in workers_list:
                if workers == 1:
                    continue
                log("run %d/%d: %d workers, deploy then rerun" % (number, options.runs, workers))
                record("cold_%d" % workers, cold_deploy(bed, workers)[0])
                seconds, changed = rerun(bed, workers)
                record("rerun_%d" % workers, seconds)
                record("rerun_changed_%d" % workers, changed)
        for gcs_ft in (False, True):
            log("head restart %s GCS fault tolerance (seed topology)" % ("with" if gcs_ft else "without"))
            key = "recovery_%s" % ("ft" if gcs_ft else "noft")
            for _number in range(options.runs):
                healthy, both, kept = head_recovery(bed, gcs_ft)
                record(key + "_gcs", healthy)
                record(key + "_nodes", both)
                record(key + "_kept", kept)
        bed.reset_cold()
        stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
        (WORK / ("results-%s.json" % stamp)).write_text(json.dumps(results, indent=1))
        print(table(results, workers_list, options.runs))
        if "first_deploy" in results:
            print("\nfirst deploy (Docker configured, UFW installed, the image copied and loaded) on %d nodes: %s" % (
                max(workers_list) + 1, fmt(results["first_deploy"][0])))
        print("raw figures: %s" % (WORK / ("results-%s.json" % stamp)))
    finally:
        if not options.keep:
            bed.destroy()


if __name__ == "__main__":
    main()
