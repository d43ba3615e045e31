"""Ray throughput: 2,000 trivial tasks and 20 CPU-bound tasks, on the cluster this process connects to.

Run inside a container of the cluster (`python3 - < workload.py`); prints one JSON line:
{"trivial_seconds", "trivial_per_second", "cpu_seconds", "cpus"}. Each batch runs once untimed
first, so Ray's worker processes are already started when the timed batch runs.
"""

import json
import time

import ray

TRIVIAL_TASKS = 2000
CPU_TASKS = 20
# About 0.1 s of pure Python per task on these machines: the seed's "CPU-intensive task".
CPU_LOOP = 1_000_000


@ray.remote
def trivial():
    return None


@ray.remote
def cpu_bound(n):
    return sum(i * i for i in range(n))


def timed(batch):
    batch()  # warm-up: starts the worker processes
    start = time.perf_counter()
    batch()
    return time.perf_counter() - start


def main():
    deadline = time.monotonic() + 120
    while True:  # a head started a moment ago may not accept drivers yet
        try:
            ray.init(address="auto", logging_level="ERROR", log_to_driver=False)
            break
        except ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    trivial_seconds = timed(lambda: ray.get([trivial.remote() for _ in range(TRIVIAL_TASKS)]))
    cpu_seconds = timed(lambda: ray.get([cpu_bound.remote(CPU_LOOP) for _ in range(CPU_TASKS)]))
    print(json.dumps({
        "trivial_seconds": trivial_seconds,
        "trivial_per_second": TRIVIAL_TASKS / trivial_seconds,
        "cpu_seconds": cpu_seconds,
        "cpus": ray.cluster_resources().get("CPU"),
    }))


if __name__ == "__main__":
    main()
