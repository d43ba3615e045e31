"""The seed's example 03: a data-processing job.

Map-reduce over synthetic sales records, in plain Python: PARTITIONS generate tasks each make a partition
in the object store, map tasks total the revenue per category (each on the node after the one that made
its partition, so every partition moves between nodes; with one node, nothing moves), and the driver
merges the totals and checks them against the record count. Prints `WIZARDSOFTS_RESULT {json}`: tasks,
time, records per second, and which nodes ran the map tasks.
Submitted as a Ray job by playbooks/verify.yml.
"""

import collections
import json
import random
import sys
import time

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

PARTITIONS = int(sys.argv[1]) if len(sys.argv) > 1 else 24
RECORDS = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000
CATEGORIES = 16


@ray.remote(num_cpus=1)
def generate(seed):
    rng = random.Random(seed)
    return [(rng.randrange(CATEGORIES), rng.uniform(1.0, 100.0)) for _record in range(RECORDS)]


@ray.remote(num_cpus=1)
def aggregate(partition):
    counts = collections.Counter()
    revenue = collections.defaultdict(float)
    for category, amount in partition:
        counts[category] += 1
        revenue[category] += amount
    return dict(counts), dict(revenue), ray.util.get_node_ip_address()


def main():
    ray.init(address="auto", logging_level="ERROR")
    node_ids = sorted(node["NodeID"] for node in ray.nodes() if node["Alive"])

    def on(index):
        return NodeAffinitySchedulingStrategy(node_ids[index % len(node_ids)], soft=False)

    start = time.perf_counter()
    partials = ray.get([
        aggregate.options(scheduling_strategy=on(seed + 1)).remote(generate.options(scheduling_strategy=on(seed)).remote(seed))
        for seed in range(PARTITIONS)
    ])
    counts = collections.Counter()
    revenue = collections.defaultdict(float)
    for partial_counts, partial_revenue, _node in partials:
        counts.update(partial_counts)
        for category, amount in partial_revenue.items():
            revenue[category] += amount
    seconds = time.perf_counter() - start
    if sum(counts.values()) != PARTITIONS * RECORDS:
        raise SystemExit(f"data_processing: {sum(counts.values())} records counted, {PARTITIONS * RECORDS} made")
    nodes = collections.Counter(partial[2] for partial in partials)
    print("WIZARDSOFTS_RESULT " + json.dumps({
        "workload": "data_processing",
        "tasks": 2 * PARTITIONS,
        "seconds": round(seconds, 3),
        "throughput": round(PARTITIONS * RECORDS / seconds, 1),
        "unit": "records/s",
        "top_category": max(revenue, key=revenue.get),
        "nodes": dict(sorted(nodes.items())),
    }))


if __name__ == "__main__":
    main()
