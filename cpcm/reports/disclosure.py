"""Small-cell suppression for counts shared outside the agency.

A count from 1 to threshold-1 could point at a child, so it is shown as "<5" (primary
suppression; 0 is shown: it points at nobody). A hidden count must not be recoverable from
what is shown, so more cells are hidden (complementary suppression, shown as "x"):

1. every row and every column, totals included, with a hidden cell gets a second one: the
   smallest non-zero cell of the line first, then a zero, a total only when nothing else is
   left; never a cell of a line whose total is shown as 0 (it is 0 whatever it shows: "x 0 x 0"
   would hide nothing) while another cell is left;
2. the grand total (the headline count of the summary) is hidden only where no other cell
   can protect a small one: where, all the other cells hidden, it would still give one away
   (three rows of fewer than five adding up to 12 are four each). Totals are worked out from
   the counts before anything is hidden, never from what is shown;
3. then an audit plays the attacker: it knows the cells shown, that the rows and columns add
   up to their totals, that a "<5" cell is 1 to 4 and an "x" cell is 0 or at least 5. For each
   "<5" cell it searches for a table that fits all of that with another value in that cell
   (bounds propagation and a bounded search). Where there is none, the cell could be worked
   out: one more cell near it is hidden, and the audit runs again.

Tables that share totals (registrations by age and by disability both show the totals by
sex) are suppressed together: a total hidden in one is hidden in all (`linked_tables`).
What no table-by-table method covers: differences between reports of overlapping periods.
Publish statistics for fixed, non-overlapping periods.
"""
from __future__ import annotations

from typing import Iterable, Sequence

SECONDARY = "x"
SEARCH_BUDGET = 20_000  # search steps per question before the audit assumes the worst
Cell = tuple[int, int]
Spans = list[tuple[int, int]]  # a set of whole numbers as sorted, disjoint [low, high] intervals


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


# -- sets of whole numbers as intervals -----------------------------------------------------------
def _merge(spans) -> Spans:
    merged: Spans = []
    for low, high in sorted(spans):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _add(a: Spans, b: Spans) -> Spans:
    return _merge([(x0 + y0, x1 + y1) for x0, x1 in a for y0, y1 in b])


def _intersect(a: Spans, b: Spans) -> Spans:
    return _merge([(max(x0, y0), min(x1, y1)) for x0, x1 in a for y0, y1 in b if max(x0, y0) <= min(x1, y1)])


def _size(spans: Spans) -> int:
    return sum(high - low + 1 for low, high in spans)


class _OutOfBudget(Exception):
    pass


class _Attacker:
    """What can be deduced of the hidden cells of one published table."""

    def __init__(self, grid, primary: set[Cell], hidden: set[Cell], lines, threshold: int):
        self.grid, self.hidden = grid, hidden
        top = max(grid[-1][-1], 0)
        small = [(1, threshold - 1)]
        other = _merge([(0, 0)] + ([(threshold, top)] if top >= threshold else []))
        self.start = {c: list(small if c in primary else other) for c in hidden}
        self.equations = []
        for line in lines:
            unknown = [(c, sign) for c, sign in line if c in hidden]
            if unknown:
                self.equations.append((unknown, sum(sign * grid[c[0]][c[1]] for c, sign in line if c not in hidden)))
        self.touching: dict[Cell, list[int]] = {c: [] for c in hidden}
        for index, (unknown, _) in enumerate(self.equations):
            for cell, _ in unknown:
                self.touching[cell].append(index)
        self.steps = 0

    def propagate(self, domains: dict[Cell, Spans]) -> bool:
        """Narrow every domain by every equation until nothing changes; False if one empties."""
        queue = list(range(len(self.equations)))
        waiting = set(queue)
        while queue:
            index = queue.pop()
            waiting.discard(index)
            unknown, known = self.equations[index]
            signed = [domains[c] if sign > 0 else [(-hi, -lo) for lo, hi in domains[c]] for c, sign in unknown]
            before = [[(0, 0)]]  # before[k]: the sum of the first k terms; after[k]: of the terms from k on
            for spans in signed:
                before.append(_add(before[-1], spans))
            after = [[(0, 0)]]
            for spans in reversed(signed):
                after.append(_add(after[-1], spans))
            after.reverse()
            for k, (cell, sign) in enumerate(unknown):
                rest = _add(before[k], after[k + 1])
                # sign * v + rest + known = 0
                allowed = [(-known - hi, -known - lo) for lo, hi in rest] if sign > 0 else [(known + lo, known + hi) for lo, hi in rest]
                narrowed = _intersect(domains[cell], allowed)
                if not narrowed:
                    return False
                if narrowed != domains[cell]:
                    domains[cell] = narrowed
                    for other in self.touching[cell]:
                        if other != index and other not in waiting:
                            waiting.add(other)
                            queue.append(other)
        return True

    def feasible(self, domains: dict[Cell, Spans]) -> bool:
        """Whether some table fits the domains (depth-first, smallest domain first)."""
        self.steps += 1
        if self.steps > SEARCH_BUDGET:
            raise _OutOfBudget
        domains = dict(domains)
        if not self.propagate(domains):
            return False
        open_cells = [c for c in domains if _size(domains[c]) > 1]
        if not open_cells:
            return all(sum(sign * domains[c][0][0] for c, sign in unknown) + known == 0 for unknown, known in self.equations)
        cell = min(open_cells, key=lambda c: (_size(domains[c]), c))
        spans = domains[cell]
        if len(spans) > 1:
            halves = [[span] for span in spans]
        else:
            low, high = spans[0]
            middle = (low + high) // 2
            halves = [[(low, middle)], [(middle + 1, high)]]
        return any(self.feasible({**domains, cell: half}) for half in halves)

    def could_be_other(self, cell: Cell) -> bool:
        """Whether some table fits what is published with another value in `cell`."""
        true = self.grid[cell[0]][cell[1]]
        others = _intersect(self.start[cell], [(-(10 ** 12), true - 1), (true + 1, 10 ** 12)])
        return bool(others) and self.feasible({**self.start, cell: others})


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
    every = {(i, j) for i in range(n + 1) for j in range(m + 1)}

    def rank(cell):
        i, j = cell
        value = grid[i][j]
        return ((i, j) == (n, m), i == n or j == m, value == 0, value, i, j)

    def useful(cell: Cell, hidden_now: set[Cell]) -> bool:
        """Whether hiding `cell` can hide anything: not the grand total (the headline, hidden only
        where nothing else protects a small cell), nor a cell of a line whose total is shown as 0
        (its cells are then 0 whatever they show: "x 0 x 0" hides nothing)."""
        i, j = cell
        if cell == (n, m):
            return False
        return not any(grid[a][b] == 0 and (a, b) not in hidden_now for a, b in {(i, m), (n, j)} - {cell})

    def best(cells: Iterable[Cell], hidden_now: set[Cell]) -> list[Cell]:
        """`cells` not hidden, the useful ones first (each group by `rank`)."""
        free = [c for c in cells if c not in hidden_now]
        return sorted(free, key=lambda c: (not useful(c, hidden_now), rank(c)))

    def exposed(hidden_now: set[Cell], cells: Iterable[Cell]) -> list[Cell]:
        attacker = _Attacker(grid, primary, hidden_now, lines, threshold)
        weak = []
        for cell in sorted(cells):
            attacker.steps = 0
            try:
                safe = attacker.could_be_other(cell)
            except _OutOfBudget:
                safe = False  # not shown to be safe: hide more
            if not safe:
                weak.append(cell)
        return weak

    while True:
        changed = True
        while changed:  # 1. no line with a single hidden cell
            changed = False
            for line in cells_of:
                if sum(1 for c in line if c in hidden) != 1:
                    continue
                candidates = best(line, hidden)
                if candidates:
                    hidden.add(candidates[0])
                    changed = True
        weak = exposed(hidden, primary)  # 2. the audit
        if not weak or hidden == every:
            break
        target = weak[0]
        near = {c for line in cells_of if target in line for c in line if c not in hidden}
        candidates = [c for c in best(near, hidden) + best(every - hidden - near, hidden) if useful(c, hidden)]
        # one cell that protects it, near it first; else the grand total, where only hiding it can (three rows of
        # fewer than five adding up to 12); else the best cell near it, and the audit runs again
        fix = next((c for c in candidates if not exposed(hidden | {c}, [target])), None)
        if fix is None and (n, m) not in hidden and (not candidates or exposed(every - {(n, m)}, [target])):
            fix = (n, m)
        hidden.add(fix if fix is not None else (candidates or best(every, hidden))[0])
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
