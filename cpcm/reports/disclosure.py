"""Small-cell suppression for counts shared outside the agency.

A count from 1 to threshold-1 could point at a child, so it is shown as "<5" (primary
suppression; 0 is shown: it points at nobody). A hidden count must not be recoverable from
what is shown, so more cells are hidden (complementary suppression, shown as "x"):

1. every row and every column, totals included, with a hidden cell gets a second one: the
   smallest non-zero cell of the line first, then a zero, a total only when nothing else is
   left, the grand total last of all;
2. then an audit: no "<5" cell may be worked out exactly, neither by solving the rows and
   columns together as equations (exact linear algebra over the whole table), nor by
   narrowing each hidden cell, line after line, from the fact that a "<5" cell is 1 to 4 and
   an "x" cell is 0 or at least 5 (bounds propagation). A cell that could be worked out is
   given one more hidden neighbour, and the audit runs again.

Tables that share margins (registrations by age and by disability both show the totals by
sex) are suppressed together: a margin hidden in one is hidden in all (`forced`).
What the audit does not try: a full search of every table the published one could be
(integer programming), and differences between reports of overlapping periods. Keep the
threshold, and publish reports for fixed, non-overlapping periods.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Iterable, Sequence

SECONDARY = "x"
Cell = tuple[int, int]


def marker(threshold: int) -> str:
    return f"<{threshold}"


def with_margins(matrix: Sequence[Sequence[int]], width: int) -> list[list[int]]:
    """The table (rows of `width` counts) with a total column on the right and a total row
    at the bottom."""
    rows = [list(r) + [sum(r)] for r in matrix]
    totals = [sum(r[j] for r in rows) for j in range(width + 1)]
    return rows + [totals]


def _lines(n: int, m: int) -> list[list[tuple[Cell, int]]]:
    """Each row and column as (cell, sign): its cells add up (+1) to its total (-1)."""
    rows = [[((i, j), 1) for j in range(m)] + [((i, m), -1)] for i in range(n + 1)]
    cols = [[((i, j), 1) for i in range(n)] + [((n, j), -1)] for j in range(m + 1)]
    return rows + cols


def _basis(lines, hidden: set[Cell]) -> list[tuple[Cell, dict]]:
    """The row-reduced equations in the hidden cells (shown cells are constants)."""
    basis: list[tuple[Cell, dict]] = []
    for line in lines:
        vector = {cell: Fraction(sign) for cell, sign in line if cell in hidden}
        vector = _reduce(vector, basis)
        if vector:
            pivot = min(vector)
            scale = vector[pivot]
            vector = {c: v / scale for c, v in vector.items()}
            basis = [(p, _eliminate(row, vector, pivot)) for p, row in basis]
            basis.append((pivot, vector))
    return basis


def _eliminate(row: dict, by: dict, pivot: Cell) -> dict:
    factor = row.get(pivot)
    if not factor:
        return row
    out = dict(row)
    for cell, value in by.items():
        out[cell] = out.get(cell, 0) - factor * value
        if out[cell] == 0:
            del out[cell]
    return out


def _reduce(vector: dict, basis) -> dict:
    for pivot, row in basis:
        vector = _eliminate(vector, row, pivot)
    return vector


def _determined(cell: Cell, basis) -> bool:
    """Whether the equations fix the cell's value: its unit vector is in their span."""
    return not _reduce({cell: Fraction(1)}, basis)


def _spans_add(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Minkowski sum of two unions of integer intervals, merged."""
    return _merge([(x0 + y0, x1 + y1) for x0, x1 in a for y0, y1 in b])


def _merge(spans) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for low, high in sorted(spans):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return _merge([(max(x0, y0), min(x1, y1)) for x0, x1 in a for y0, y1 in b if max(x0, y0) <= min(x1, y1)])


def _size(spans) -> int:
    return sum(high - low + 1 for low, high in spans)


def _narrowed(grid, primary: set[Cell], hidden: set[Cell], lines, threshold: int) -> dict[Cell, list[tuple[int, int]]]:
    """What an attacker can deduce of each hidden cell from the shown cells, the equations of
    the rows and columns, and the markers ("<5": 1 to 4; "x": 0 or at least 5): each line
    narrows its hidden cells, over and over until nothing changes (bounds propagation)."""
    top = max(grid[-1][-1], 0)
    small, other = [(1, threshold - 1)], _merge([(0, 0)] + ([(threshold, top)] if top >= threshold else []))
    domains = {c: list(small if c in primary else other) for c in hidden}
    changed = True
    while changed:
        changed = False
        for line in lines:
            unknown = [(c, sign) for c, sign in line if c in hidden]
            if not unknown:
                continue
            known = sum(sign * grid[c[0]][c[1]] for c, sign in line if c not in hidden)
            for cell, sign in unknown:
                rest: list[tuple[int, int]] = [(0, 0)]
                for other_cell, other_sign in unknown:
                    if other_cell != cell:
                        spans = domains[other_cell]
                        rest = _spans_add(rest, spans if other_sign > 0 else [(-hi, -lo) for lo, hi in spans])
                # sign * v + rest + known = 0
                if sign > 0:
                    allowed = [(-known - hi, -known - lo) for lo, hi in rest]
                else:
                    allowed = [(known + lo, known + hi) for lo, hi in rest]
                narrowed = _intersect(domains[cell], allowed)
                if narrowed != domains[cell] and narrowed:
                    domains[cell] = narrowed
                    changed = True
    return domains


def suppress(matrix: Sequence[Sequence[int]], threshold: int, width: int | None = None,
             forced: Iterable[Cell] = ()) -> tuple[list[list[int]], set, set]:
    """(the table with margins, primary cells, complementary cells) as (row, column) sets;
    the last row and column are the totals. `forced`: cells to hide whatever their value."""
    grid = with_margins(matrix, len(matrix[0]) if width is None and matrix else (width or 0))
    n, m = len(grid) - 1, len(grid[0]) - 1
    primary = {(i, j) for i in range(n + 1) for j in range(m + 1) if 0 < grid[i][j] < threshold}
    hidden = set(primary) | set(forced)
    lines = _lines(n, m)
    cells_of = [[c for c, _ in line] for line in lines]

    def rank(cell):
        i, j = cell
        value = grid[i][j]
        return ((i, j) == (n, m), i == n or j == m, value == 0, value, i, j)

    def exposed(hidden_now: set[Cell]) -> list[Cell]:
        basis = _basis(lines, hidden_now)
        domains = _narrowed(grid, primary, hidden_now, lines, threshold)
        return [c for c in sorted(primary) if _determined(c, basis) or _size(domains[c]) <= 1]

    while True:
        changed = True
        while changed:  # 1. no line with a single hidden cell
            changed = False
            for line in cells_of:
                if sum(1 for c in line if c in hidden) != 1:
                    continue
                candidates = [c for c in line if c not in hidden]
                if candidates:
                    hidden.add(min(candidates, key=rank))
                    changed = True
        weak = exposed(hidden)  # 2. the audit
        if not weak:
            break
        target = weak[0]
        near = sorted({c for line in cells_of if target in line for c in line if c not in hidden}, key=rank)
        rest = sorted({(i, j) for i in range(n + 1) for j in range(m + 1)} - hidden - set(near), key=rank)
        if not near + rest:
            break  # everything is hidden already
        choice = next((c for c in near + rest if target not in exposed(hidden | {c})), (near + rest)[0])
        hidden.add(choice)
    return grid, primary, hidden - primary


def protected_table(table_id: str, title: str, row_header: str, row_labels: Sequence[str], columns: Sequence[str],
                    matrix: Sequence[Sequence[int]], threshold: int, note: str = "", forced: Iterable[Cell] = ()) -> dict:
    """A table of counts ready to publish: each cell an int or a marker, with totals."""
    grid, primary, secondary = suppress(matrix, threshold, len(columns), forced)
    small = marker(threshold)

    def shown(i, j):
        if (i, j) in primary:
            return small
        if (i, j) in secondary:
            return SECONDARY
        return grid[i][j]

    rows = [[label] + [shown(i, j) for j in range(len(columns) + 1)] for i, label in enumerate(row_labels)]
    rows.append(["total"] + [shown(len(row_labels), j) for j in range(len(columns) + 1)])
    return {"id": table_id, "title": title, "columns": [row_header, *columns, "total"], "rows": rows, "note": note,
            "suppressed": {"primary": len(primary), "complementary": len(secondary)}}


def linked_tables(specs: Sequence[dict], threshold: int) -> list[dict]:
    """Tables of one measure, suppressed together: all show the same grand total, and those
    with the same columns show the same total row (one measure by age, by disability … each
    against sex). A total hidden in one table is hidden in every table that shows it.
    Each spec holds protected_table's arguments but the threshold."""
    hidden: dict[tuple, set[int]] = {}   # columns -> total-row positions hidden
    grand = False
    while True:
        tables = []
        for spec in specs:
            n, m = len(spec["row_labels"]), len(spec["columns"])
            forced = [(n, j) for j in hidden.get(tuple(spec["columns"]), ())] + ([(n, m)] if grand else [])
            tables.append(protected_table(**spec, threshold=threshold, forced=forced))
        changed = False
        for spec, table in zip(specs, tables):
            totals = table["rows"][-1][1:]
            now = {j for j, v in enumerate(totals[:-1]) if not isinstance(v, int)}
            key = tuple(spec["columns"])
            if not now <= hidden.get(key, set()):
                hidden[key] = hidden.get(key, set()) | now
                changed = True
            if not isinstance(totals[-1], int) and not grand:
                grand = changed = True
        if not changed:
            return tables


def line_check(rows: Sequence[Sequence]) -> list[str]:
    """Lines (rows or columns, totals included) with exactly one hidden cell: what the
    suppression must never leave. Takes a published table's rows (labels first)."""
    cells = [list(r[1:]) for r in rows]
    hidden = [[not isinstance(v, int) for v in r] for r in cells]
    problems = [f"row {rows[i][0]}" for i, r in enumerate(hidden) if sum(r) == 1]
    problems += [f"column {j}" for j in range(len(hidden[0]) if hidden else 0) if sum(r[j] for r in hidden) == 1]
    return problems
