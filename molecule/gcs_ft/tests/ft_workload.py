"""The GCS fault-tolerance scenario's workload, run inside the head's Ray container (`python ft_workload.py CMD`),
as a Ray driver of the running cluster; it prints one JSON line.

Everything it starts is placed on the worker through the custom resource `ft_worker` that the scenario gives the
worker (ray_worker_resources), so that it is what a head restart must not take away:
  counter-start  a detached, named actor that counts; counted to 5
  counter-incr   the same actor, found by its name, counts once more (an error if Ray lost it)
  serve-deploy   a Ray Serve application whose replica is on the worker, with an HTTP proxy on every node
  node-ids       the ALIVE nodes as Ray's driver sees them: node IP -> node ID
"""

import json
import sys

import ray

NAMESPACE = "wsray-gcs-ft"
ON_THE_WORKER = {"ft_worker": 0.01}


@ray.remote(resources=ON_THE_WORKER, num_cpus=0)
class Counter(object):
    def __init__(self):
        self.count = 0

    def incr(self):
        self.count += 1
        return self.count, ray.get_runtime_context().get_node_id()


def counter_start():
    try:  # a counter of an earlier run of the scenario's tests: a new one starts from 0
        ray.kill(ray.get_actor("counter", namespace=NAMESPACE))
    except ValueError:
        pass
    counter = Counter.options(name="counter", lifetime="detached", max_restarts=0).remote()
    for _ in range(5):
        count, node_id = ray.get(counter.incr.remote(), timeout=60)
    return {"count": count, "node_id": node_id}


def counter_incr():
    try:
        counter = ray.get_actor("counter", namespace=NAMESPACE)
        count, node_id = ray.get(counter.incr.remote(), timeout=60)
    except Exception as error:  # what Ray says when the actor is gone is the test's finding, not a crash
        return {"error": "%s: %s" % (type(error).__name__, str(error).splitlines()[0] if str(error) else "")}
    return {"count": count, "node_id": node_id}


def serve_deploy():
    from ray import serve

    @serve.deployment(ray_actor_options={"resources": ON_THE_WORKER, "num_cpus": 0})
    class Hello(object):
        def __call__(self, request):
            return "hello from %s" % ray.get_runtime_context().get_node_id()

    serve.start(http_options={"host": "0.0.0.0", "port": 8000, "location": "EveryNode"})
    serve.run(Hello.bind(), name="hello", route_prefix="/")
    return {"deployed": True}


def node_ids():
    return dict((node["NodeManagerAddress"], node["NodeID"]) for node in ray.nodes() if node["Alive"])


def main():
    ray.init(address="auto", namespace=NAMESPACE, log_to_driver=False)
    command = sys.argv[1]
    result = {"counter-start": counter_start, "counter-incr": counter_incr, "serve-deploy": serve_deploy,
              "node-ids": node_ids}[command]()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
