"""What `--debug` prints when a command fails: where it failed, never the values it failed on.

A debug traceback is what a worker pastes into a message to whoever looks after their install,
so it follows the rule of every message (docs/security.md): no value typed or read. Python's own
traceback breaks it three ways: an exception's text repeats what it was given (click's
`'Amani Otieno' is not a valid float`, a ValueError's date, an OSError's file name), an exception
met on the way and chained to the last one prints its text too, and a frame's source line or
locals can hold a value. This one keeps what finds the bug, the frames (file, line, function) of
every exception in the chain and each one's type, and of the text only the message cpcm itself
says for the last one (already without what was typed). No source lines, no locals, no notes.

Only the standard library: it runs when anything else may be what failed.
"""
from __future__ import annotations

import os
import traceback
from typing import Callable, Iterable

HEADER = "Traceback (most recent call last):"
CAUSE = "The above exception was the direct cause of the following exception:"
CONTEXT = "During handling of the above exception, another exception occurred:"


def type_name(exc: BaseException) -> str:
    """`click.exceptions.BadParameter`, `ValueError`: as Python names the type."""
    kind = type(exc)
    module = getattr(kind, "__module__", None)
    name = getattr(kind, "__qualname__", kind.__name__)
    return name if module in (None, "builtins", "__main__") else f"{module}.{name}"


def chain(exc: BaseException) -> list[tuple[BaseException, str | None]]:
    """The exceptions as Python prints them, the first met first: each with the line that leads
    from it to the next (None for the last)."""
    found: list[tuple[BaseException, str | None]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link: str | None = None
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, CONTEXT
        else:
            current = None
    return list(reversed(found))


def frames(exc: BaseException, shown: Callable[[str], str]) -> list[str]:
    """`File "…", line N, in function` for each frame of `exc`'s traceback: code's names only."""
    lines = []
    for frame, number in traceback.walk_tb(exc.__traceback__):
        code = frame.f_code
        lines.append(f'  File "{shown(code.co_filename)}", line {number}, in {code.co_name}')
    return lines


def safe_traceback(exc: BaseException, message: str | None = None, paths: Iterable[str] = ()) -> str:
    """The traceback of `exc` without a value: the frames and types of the exceptions that led to
    it, then its type and `message` (cpcm's own, redacted; None: the type alone). `paths`: paths
    the user gave (a repository, an identity), masked where a frame's file lies under one (an
    agency's template in a repository named after a child)."""
    prefixes = sorted(_path_forms(paths), key=len, reverse=True)

    def shown(filename: str) -> str:
        for prefix in prefixes:
            if filename == prefix or filename.startswith(prefix.rstrip(os.sep) + os.sep):
                return "…" + filename[len(prefix.rstrip(os.sep)):]
        return filename

    lines: list[str] = []
    for error, link in chain(exc):
        lines += _block(error, message if error is exc else None, shown)
        if link is not None:
            lines += ["", link, ""]
    return "\n".join(lines) + "\n"


def _block(error: BaseException, message: str | None, shown: Callable[[str], str], depth: int = 0) -> list[str]:
    lines = [HEADER, *frames(error, shown), type_name(error) + (f": {message}" if message else "")]
    inner = getattr(error, "exceptions", None)  # an exception group: each of its exceptions, as types and frames
    if isinstance(inner, tuple) and depth < 3:
        for number, sub in enumerate(inner, 1):
            if isinstance(sub, BaseException):
                lines.append(f"+-- {number} of {len(inner)}")
                lines += ["  " + line for line in _block(sub, None, shown, depth + 1)]
    return lines


def _path_forms(paths: Iterable[str]) -> set[str]:
    """Each path as given, with `~` expanded, made absolute and resolved: the forms a frame's file
    name can take. Only absolute ones of more than the root: a prefix of code's file names."""
    forms: set[str] = set()
    for path in paths:
        if not path:
            continue
        try:
            expanded = os.path.expanduser(path)
            candidates = {path, expanded, os.path.abspath(expanded), os.path.realpath(expanded)}
        except (OSError, ValueError):
            candidates = {path}
        forms |= {form for form in candidates if os.path.isabs(form) and form.rstrip(os.sep)}
    return forms
