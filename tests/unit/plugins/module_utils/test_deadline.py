# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared deadline loop, with real (short) sleeps: correctness bounds only, no speed claims."""

from __future__ import annotations

from ansible_collections.wizardsofts.ray.plugins.module_utils._deadline import MIN_TRY_SECONDS, Deadline, poll

MARGIN = 1.0


class Recorder(object):
    """An attempt that says done on the n-th call and remembers the per-try timeouts it was given."""

    def __init__(self, done_on=None, limit=5.0):
        self.done_on = done_on
        self.limit = limit
        self.try_timeouts = []

    def __call__(self, deadline):
        self.try_timeouts.append(deadline.try_timeout(self.limit))
        calls = len(self.try_timeouts)
        return calls == self.done_on, calls


def test_success_returns_at_once_without_sleeping():
    result = poll(Recorder(done_on=1), timeout=60, sleep=30)

    assert result.done is True
    assert result.attempts == 1
    assert result.value == 1
    assert result.elapsed < 30


def test_tries_until_done():
    result = poll(Recorder(done_on=3), timeout=30, sleep=0.01)

    assert result.done is True
    assert result.attempts == 3


def test_timeout_is_honoured_and_tries_are_repeated():
    result = poll(Recorder(), timeout=0.5, sleep=0.05)

    assert result.done is False
    assert result.attempts > 1
    assert 0.5 <= result.elapsed <= 0.5 + MARGIN


def test_sleep_never_runs_past_the_deadline():
    result = poll(Recorder(), timeout=0.3, sleep=60)

    assert result.attempts == 1
    assert 0.3 <= result.elapsed <= 0.3 + MARGIN


def test_per_try_timeout_is_capped_at_the_time_left():
    attempt = Recorder(limit=30)
    poll(attempt, timeout=0.4, sleep=0.1)

    assert all(MIN_TRY_SECONDS <= timeout <= 0.4 for timeout in attempt.try_timeouts)
    # Later tries get less: the cap follows the deadline.
    assert attempt.try_timeouts[-1] < attempt.try_timeouts[0]


def test_zero_timeout_still_makes_one_try():
    attempt = Recorder()
    result = poll(attempt, timeout=0, sleep=1)

    assert result.attempts == 1
    assert attempt.try_timeouts == [MIN_TRY_SECONDS]


def test_max_attempts_stops_early():
    result = poll(Recorder(), timeout=60, sleep=0.01, max_attempts=1)

    assert result.attempts == 1
    assert result.done is False


def test_summary_counts_in_words():
    assert poll(Recorder(done_on=1), timeout=1, sleep=0).summary().startswith('1 attempt in ')
    assert poll(Recorder(done_on=2), timeout=1, sleep=0).summary().startswith('2 attempts in ')


def test_deadline_remaining_never_negative():
    deadline = Deadline(0)

    assert deadline.remaining() == 0.0
    assert deadline.expired() is True


def test_no_deadline_gives_each_try_its_full_limit():
    attempt = Recorder(limit=7.5)
    result = poll(attempt, timeout=None, sleep=60, max_attempts=1)

    assert result.attempts == 1
    assert attempt.try_timeouts == [7.5]
    assert result.elapsed < 60
