# private to this collection; no compatibility guarantees
# Copyright: (c) 2026, WizardSofts ML platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The wait loop of the collection's modules: one total timeout, tries bounded by the time left."""

from __future__ import annotations

import time

# A try always gets at least this long, so a try started just before the deadline is not a
# guaranteed failure; it bounds how far elapsed can exceed the timeout.
MIN_TRY_SECONDS = 0.05


class Deadline(object):
    """A point in time on the monotonic clock (wall-clock jumps neither shorten nor extend a wait).

    timeout None means no deadline: each try gets its full limit (callers bound the tries with max_attempts).
    """

    def __init__(self, timeout):
        self.started = time.monotonic()
        self.expires = None if timeout is None else self.started + max(timeout, 0)

    def elapsed(self):
        return time.monotonic() - self.started

    def remaining(self):
        if self.expires is None:
            return float('inf')
        return max(0.0, self.expires - time.monotonic())

    def expired(self):
        return self.remaining() <= 0

    def try_timeout(self, limit):
        """Timeout for one network operation: limit, but never past the deadline."""
        return max(MIN_TRY_SECONDS, min(limit, self.remaining()))


class PollResult(object):
    """How a wait ended: the last try's value, whether it said done, tries made, seconds spent."""

    def __init__(self, value, done, attempts, elapsed):
        self.value = value
        self.done = done
        self.attempts = attempts
        self.elapsed = elapsed

    def summary(self):
        """'1 attempt in 0.01s', '12 attempts in 60.00s'."""
        return '%d attempt%s in %.2fs' % (self.attempts, '' if self.attempts == 1 else 's', self.elapsed)


def poll(attempt, timeout, sleep, max_attempts=None):
    """Call attempt(deadline) until it returns (True, value), the deadline passes, or max_attempts.

    attempt returns (done, value); done also covers a terminal failure that waiting cannot fix, the
    caller tells them apart by value. The first try always happens, even with timeout 0. Success
    returns at once: no sleep after the try that succeeded. A sleep never runs past the deadline.
    """
    deadline = Deadline(timeout)
    attempts = 0
    while True:
        attempts += 1
        done, value = attempt(deadline)
        if done or (max_attempts is not None and attempts >= max_attempts) or deadline.expired():
            break
        time.sleep(min(sleep, deadline.remaining()))
        if deadline.expired():
            break
    return PollResult(value, done, attempts, round(deadline.elapsed(), 3))
