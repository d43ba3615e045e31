# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark-only callback: one JSON line per task result, with the wall-clock time it reached the controller.

Enabled by benchmarks/bench.py alone (ANSIBLE_CALLBACK_PLUGINS / ANSIBLE_CALLBACKS_ENABLED), never by ansible.cfg.
The file is named by the environment variable BENCH_TIMELINE.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: bench_timeline
type: aggregate
short_description: Write every task result's arrival time to a JSON lines file (benchmarks only)
description:
  - One line per task result, C({"time", "task", "host", "status", "changed", "elapsed"}), appended to the file
    named by the environment variable E(BENCH_TIMELINE). Does nothing when it is not set.
requirements:
  - enabled in callbacks_enabled
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timeline"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.path = os.environ.get("BENCH_TIMELINE")

    def _write(self, result, status):
        if not self.path:
            return
        answer = result._result
        line = {
            "time": time.time(),
            "task": result._task.get_name(),
            "action": result._task.action,
            "host": result._host.get_name(),
            "status": status,
            "changed": bool(answer.get("changed", False)),
            "elapsed": answer.get("elapsed"),
        }
        with open(self.path, "a", encoding="utf-8") as timeline:
            timeline.write(json.dumps(line) + "\n")

    def v2_runner_on_ok(self, result):
        self._write(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result):
        self._write(result, "skipped")
