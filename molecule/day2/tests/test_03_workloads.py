"""verify.yml: the seed's three example workloads as Ray jobs, on every node."""

import re

from helpers import run_playbook

ROW = re.compile(r"^\s*(?P<workload>hello_world|training|data_processing)\s+(?P<tasks>\d+)\s+(?P<seconds>[\d.]+)"
                 r"\s+(?P<throughput>[\d.]+ \S+)\s+(?P<nodes>.*)$", re.M)


def test_the_three_workloads_run_as_jobs_and_the_workers_do_work():
    run = run_playbook("verify.yml")
    assert run.returncode == 0, run.stdout[-3000:]
    rows = {m["workload"]: m for m in ROW.finditer(run.stdout)}
    assert sorted(rows) == ["data_processing", "hello_world", "training"], run.stdout[-3000:]
    for row in rows.values():
        print(f"[day2] {row.group(0).strip()}")
        assert int(row["tasks"]) > 0
    # Hello-world tasks ran on all three nodes (verify.yml checks it too); the others on more than one.
    assert all(f"{name}=" in rows["hello_world"]["nodes"] for name in ("server84", "server80", "server81"))
    for workload in ("training", "data_processing"):
        assert rows[workload]["nodes"].count("=") >= 2, rows[workload].group(0)
