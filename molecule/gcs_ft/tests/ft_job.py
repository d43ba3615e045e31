"""A Ray job for the GCS fault-tolerance scenario: its driver and its task run on the worker (the entrypoint and the
task both ask for the worker's `ft_worker` resource), and the task outlasts a head restart. It succeeds only when
the task finishes and its result comes back."""

import sys
import time

import ray

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 40


@ray.remote(resources={"ft_worker": 0.01}, num_cpus=0, max_retries=0)
def long_task(seconds):
    started = time.time()
    time.sleep(seconds)
    return time.time() - started


ray.init(log_to_driver=False)
took = ray.get(long_task.remote(SECONDS))
print("ft_job: the task on the worker ran %.1f s" % took)
