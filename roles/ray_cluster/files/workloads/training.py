"""The seed's example 02: a small distributed training.

Data-parallel logistic regression in plain Python (any Ray image has it; NumPy is not always there): one
actor per ALIVE node (SPREAD), each holding its own shard of a synthetic data set. Every step the driver
broadcasts the weights, each actor computes the gradient on its shard, and the driver averages them.
Fails if the model did not learn (training accuracy below 0.9). Prints `WIZARDSOFTS_RESULT {json}`:
gradient tasks, time, samples per second, accuracy, and which nodes trained.
Submitted as a Ray job by playbooks/verify.yml.
"""

import collections
import json
import math
import random
import sys
import time

import ray

STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
SAMPLES_PER_SHARD = int(sys.argv[2]) if len(sys.argv) > 2 else 4_000
FEATURES = 10


def dot(left, right):
    return sum(a * b for a, b in zip(left, right))


@ray.remote(num_cpus=1, scheduling_strategy="SPREAD")
class Shard:
    def __init__(self, seed, true_weights):
        rng = random.Random(seed)
        self.x = [[rng.gauss(0.0, 1.0) for _feature in range(FEATURES)] for _sample in range(SAMPLES_PER_SHARD)]
        self.y = [1.0 if dot(row, true_weights) + rng.gauss(0.0, 0.5) > 0 else 0.0 for row in self.x]

    def node(self):
        return ray.util.get_node_ip_address()

    def gradient(self, weights):
        total = [0.0] * FEATURES
        for row, label in zip(self.x, self.y):
            error = 1.0 / (1.0 + math.exp(-dot(row, weights))) - label
            for index, value in enumerate(row):
                total[index] += error * value
        return [value / len(self.y) for value in total]

    def accuracy(self, weights):
        return sum((dot(row, weights) > 0) == (label > 0.5) for row, label in zip(self.x, self.y)) / len(self.y)


def main():
    ray.init(address="auto", logging_level="ERROR")
    workers = max(1, sum(1 for node in ray.nodes() if node["Alive"]))
    rng = random.Random(0)
    true_weights = [rng.gauss(0.0, 1.0) for _feature in range(FEATURES)]
    shards = [Shard.remote(seed, true_weights) for seed in range(1, workers + 1)]
    nodes = collections.Counter(ray.get([shard.node.remote() for shard in shards]))
    weights = [0.0] * FEATURES
    start = time.perf_counter()
    for _step in range(STEPS):
        gradients = ray.get([shard.gradient.remote(weights) for shard in shards])
        weights = [w - sum(g[i] for g in gradients) / len(gradients) for i, w in enumerate(weights)]
    seconds = time.perf_counter() - start
    accuracy = sum(ray.get([shard.accuracy.remote(weights) for shard in shards])) / len(shards)
    if accuracy < 0.9:
        raise SystemExit(f"training: accuracy {accuracy:.3f} after {STEPS} steps, the model did not learn")
    print("WIZARDSOFTS_RESULT " + json.dumps({
        "workload": "training",
        "tasks": STEPS * len(shards),
        "seconds": round(seconds, 3),
        "throughput": round(STEPS * len(shards) * SAMPLES_PER_SHARD / seconds, 1),
        "unit": "samples/s",
        "accuracy": round(accuracy, 3),
        "nodes": {ip: count * STEPS for ip, count in sorted(nodes.items())},
    }))


if __name__ == "__main__":
    main()
