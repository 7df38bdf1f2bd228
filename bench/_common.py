"""Shared by the bench modules and the runner: result rows, timing helpers and the table.

A row is ``{"name", "value", "baseline", "ratio", "goal", "ok", "unit"}``; ``goal`` is a readable
target ("<= 1.3x") or ``"info"`` for a measurement without a target (always ``ok``). The runner adds
``"module"`` and, for a module that could not run, ``"error"``.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

INFO = "info"


def row(
    name: str, value: float, baseline: float, *, goal: str, ok: bool | None = None, unit: str = ""
) -> dict[str, Any]:
    """One result; ``ok`` may be omitted only for ``goal="info"``."""
    if ok is None:
        if goal != INFO:
            raise ValueError(f"row {name!r} has goal {goal!r} but no ok")
        ok = True
    return {
        "name": name,
        "value": round(value, 4),
        "baseline": round(baseline, 4),
        "ratio": round(value / baseline, 4) if baseline else None,
        "goal": goal,
        "ok": bool(ok),
        "unit": unit,
    }


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """``(seconds, result)`` of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def p50_ms(seconds: Iterable[float]) -> float:
    return statistics.median(seconds) * 1000


def _cell(value: Any, unit: str = "", *, ratio: bool = False) -> str:
    if value is None:
        return "-"
    if ratio:
        text = f"{value:.3f}"
    elif isinstance(value, bool) or not isinstance(value, int | float):
        text = str(value)
    elif abs(value) >= 1000:
        text = f"{value:,.0f}"
    else:
        text = f"{value:.4g}"
    return f"{text} {unit}" if unit else text


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(rows: list[dict[str, Any]], *, with_module: bool = False, goal_width: int = 48) -> str:
    """Rows as an aligned text table: [module |] name | value | baseline | ratio | goal | ok.

    Goals longer than ``goal_width`` are cut with "…" (the JSON keeps them whole).
    """
    header = (["module"] if with_module else []) + ["benchmark", "value", "baseline", "ratio", "goal", "ok"]
    lines = []
    for r in rows:
        ok = "yes" if r.get("ok") else ("ERROR" if r.get("error") else "NO")
        cells = [
            r.get("name", "?"),
            _cell(r.get("value"), r.get("unit", "")),
            _cell(r.get("baseline"), r.get("unit", "")),
            _cell(r.get("ratio"), ratio=True),
            _clip(str(r.get("goal", "")), goal_width),
            ok,
        ]
        lines.append(([str(r.get("module", ""))] if with_module else []) + cells)
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    numeric = {header.index(c) for c in ("value", "baseline", "ratio")}

    def fmt(line: list[str]) -> str:
        return " | ".join(
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i]) for i, cell in enumerate(line)
        ).rstrip()

    separator = "-+-".join("-" * w for w in widths)
    return "\n".join([fmt(header), separator, *(fmt(line) for line in lines)])


def main(run: Callable[[], dict[str, Any]]) -> None:
    """``python -m bench.bench_x``: the JSON result, then a table; ``--json``: the JSON only.

    Exits 1 when a goal row fails.
    """
    result = run()
    print(json.dumps(result, indent=2, default=str))
    if "--json" not in sys.argv[1:]:
        print()
        print(format_table(result["rows"]))
        for key, value in result.get("info", {}).items():
            print(f"  {key}: {value}")
    sys.exit(0 if all(r["ok"] for r in result["rows"]) else 1)
