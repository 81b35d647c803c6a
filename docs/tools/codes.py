"""Find, in cpcm's own source, every rule code a command can report or refuse with.

Read from the code, not from a list kept by hand, so a new code cannot be left out of the docs:

- `Refused(..., rule="code")`, and helpers named like `_refused(message, hint, "code")`, with
  the code written out or as a module-level constant: refused, exit 4;
- `Problem("code", ...)` in cpcm/workflow/: reported by `cpcm check`; an f-string code such as
  `f"{item.code}-overdue"` stands for that suffix on every clock whose item check reports
  (see `check_codes`);
- the keys of a module-level dictionary named `..._PROBLEMS` in cpcm/workflow/ (a code -> how its
  message is made, e.g. `rules.CONFLICT_PROBLEMS`): reported by `cpcm check`;
- `add("code", ...)` inside a function named `verify` or anywhere in cpcm/store/audit.py (the
  checks of `cpcm verify`): reported by `cpcm verify`.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "cpcm"


@dataclass(frozen=True, order=True)
class Found:
    code: str
    kind: str  # "refused", "check" or "verify"
    where: str  # cpcm/…py:line


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level NAME = "text" assignments."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value.value
    return found


def _text(node: ast.AST | None, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _suffix(node: ast.AST) -> str | None:
    """'-overdue' for f"{item.code}-overdue"."""
    if isinstance(node, ast.JoinedStr) and len(node.values) == 2 and isinstance(node.values[0], ast.FormattedValue):
        tail = node.values[1]
        if isinstance(tail, ast.Constant) and isinstance(tail.value, str):
            return tail.value
    return None


def scan(package: Path = PACKAGE) -> tuple[list[Found], list[tuple[str, str]]]:
    """(codes written out, (suffix, where) of Problem codes built from a clock's code)."""
    found: list[Found] = []
    suffixes: list[tuple[str, str]] = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = _constants(tree)
        rel = path.relative_to(package.parent).as_posix()
        if rel.startswith("cpcm/workflow/"):
            for node in tree.body:
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict) and any(
                        isinstance(t, ast.Name) and t.id.endswith("_PROBLEMS") for t in node.targets):
                    found += [Found(code, "check", f"{rel}:{key.lineno}") for key in node.value.keys
                              if (code := _text(key, constants))]
        verify_calls: set[int] = set()
        for function in ast.walk(tree):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) and (function.name == "verify" or path.name == "audit.py"):
                for call in ast.walk(function):
                    if isinstance(call, ast.Call) and _callee(call) == "add" and call.args:
                        verify_calls.add(id(call))
                        code = _text(call.args[0], constants)
                        if code:
                            found.append(Found(code, "verify", f"{rel}:{call.lineno}"))
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call) or id(call) in verify_calls:
                continue
            name = _callee(call)
            if "refused" in name.lower():
                texts = [_text(kw.value, constants) for kw in call.keywords if kw.arg == "rule"]
                if len(call.args) >= 3:
                    texts.append(_text(call.args[2], constants))
                found += [Found(t, "refused", f"{rel}:{call.lineno}") for t in texts if t]
            elif name == "Problem" and call.args:
                code = _text(call.args[0], constants)
                if code:
                    found.append(Found(code, "check", f"{rel}:{call.lineno}"))
                elif _suffix(call.args[0]):
                    suffixes.append((_suffix(call.args[0]), f"{rel}:{call.lineno}"))
            else:  # any other call that names a rule, e.g. a helper's rule=
                for kw in call.keywords:
                    text = _text(kw.value, constants) if kw.arg == "rule" else None
                    if text:
                        found.append(Found(text, "refused", f"{rel}:{call.lineno}"))
    return sorted(set(found)), suffixes


if __name__ == "__main__":
    codes, suffixes = scan()
    for f in codes:
        print(f.kind, f.code, f.where)
    print(suffixes)
