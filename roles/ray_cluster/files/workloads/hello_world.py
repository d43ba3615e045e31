"""The seed's example 01: distributed hello-world tasks.

Runs TASKS small CPU-bound tasks, dealt round-robin to every ALIVE node (pinned with node affinity, so
each node must run its share: Ray's SPREAD strategy is best-effort and may leave a node out), and prints one line
`WIZARDSOFTS_RESULT {json}` with the number of tasks, the time they took, the throughput and how
many tasks each node ran. Submitted as a Ray job by playbooks/verify.yml.
"""

import collections
import json
import socket
import sys
import time

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

TASKS = int(sys.argv[1]) if len(sys.argv) > 1 else 40
WORK = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000


@ray.remote(num_cpus=1)
def hello(index, work):
    total = sum(i * i for i in range(work))  # a little CPU, as the seed's tasks did
    return {"index": index, "node": ray.util.get_node_ip_address(), "host": socket.gethostname(), "checksum": total}


def main():
    ray.init(address="auto", logging_level="ERROR")
    node_ids = sorted(node["NodeID"] for node in ray.nodes() if node["Alive"])
    start = time.perf_counter()
    results = ray.get([
        hello.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node_ids[index % len(node_ids)], soft=False)).remote(index, WORK)
        for index in range(TASKS)
    ])
    seconds = time.perf_counter() - start
    expected = sum(i * i for i in range(WORK))
    if sorted(r["index"] for r in results) != list(range(TASKS)) or any(r["checksum"] != expected for r in results):
        raise SystemExit("hello_world: a task returned a wrong result")
    nodes = collections.Counter(r["node"] for r in results)
    print("WIZARDSOFTS_RESULT " + json.dumps({
        "workload": "hello_world",
        "tasks": TASKS,
        "seconds": round(seconds, 3),
        "throughput": round(TASKS / seconds, 1),
        "unit": "tasks/s",
        "nodes": dict(sorted(nodes.items())),
    }))


if __name__ == "__main__":
    main()
