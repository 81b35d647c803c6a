"""Crash points for the fault-injection tests (tests/test_crash.py).

Every step of a write calls `crash_point(name)`. When the test-only variable
`CPCM_TEST_CRASH_AT` names that step, the process kills itself with SIGKILL there: no
rollback, no `finally`, no buffered output, exactly what a power cut or `kill -9` leaves.
`name#N` kills at the N-th time the step is reached (counting from 1). `CPCM_TEST_PAUSE_AT`
stops the process there instead (SIGSTOP, holding whatever it holds) until it is sent SIGCONT:
the tests run readers against a writer paused between two steps. Unset (always, outside the
tests) this does nothing but two dictionary look-ups.

A crash point is also where a Ctrl-C that Python could not raise is raised (`keep_interrupts`).
"""
from __future__ import annotations

import os
import signal
import sys

CRASH = "CPCM_TEST_CRASH_AT"
PAUSE = "CPCM_TEST_PAUSE_AT"
_seen: dict[tuple[str, str], int] = {}


def _reached(variable: str, name: str) -> bool:
    target = os.environ.get(variable)
    if not target:
        return False
    step, _, nth = target.partition("#")
    if step != name:
        return False
    key = (variable, name)
    _seen[key] = _seen.get(key, 0) + 1
    return _seen[key] == int(nth or 1)


_swallowed = False  # a Ctrl-C came while Python could not raise it (`keep_interrupts`), not delivered yet


def keep_interrupts() -> None:
    """A Ctrl-C that arrives while Python runs code that cannot pass an exception on (an object's
    `__del__`, a weak reference's callback, the garbage collector) is printed as "Exception
    ignored" and lost: the command ran on, a sync to its end. From here on such a Ctrl-C is kept
    and raised at the next crash point (every step of a write, every git process), where the
    command stops as at any Ctrl-C: before anything more is written. Anything else that cannot be
    raised is reported as Python reports it."""
    report = sys.unraisablehook

    def kept(unraisable) -> None:
        global _swallowed
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            _swallowed = True
            return
        report(unraisable)
    sys.unraisablehook = kept


def crash_point(name: str) -> None:
    global _swallowed
    if _swallowed:
        _swallowed = False
        raise KeyboardInterrupt
    if _reached(PAUSE, name):
        os.kill(os.getpid(), signal.SIGSTOP)
    if _reached(CRASH, name):
        os.kill(os.getpid(), signal.SIGKILL)
