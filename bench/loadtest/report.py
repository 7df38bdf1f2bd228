"""The load test's table, goals and JSON document, from Locust's statistics and the consistency check."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

PUBLIC_CHAT = "POST /api/public/bots/[public_id]/chat/"
P95_GOAL_MS = 500


def goals(stats: dict[str, Any], consistency: dict[str, Any]) -> list[dict[str, Any]]:
    """Goal vs measured; ``required`` goals decide the exit status, the latency goal only with --strict."""
    chat = stats["routes"].get(PUBLIC_CHAT)
    p95 = chat["p95_ms"] if chat and chat["requests"] else None
    failures = stats["total"]["failures"]
    lost = len(consistency["problems"])
    return [
        {"name": "failed requests", "goal": "0", "measured": failures, "ok": failures == 0, "required": True},
        {
            "name": "consistency problems (lost or duplicated writes, orphans)",
            "goal": "0",
            "measured": lost,
            "ok": consistency["ok"],
            "required": True,
        },
        {
            "name": "public chat p95 (extractive answerer)",
            "goal": f"≤ {P95_GOAL_MS} ms",
            "measured": "no requests" if p95 is None else f"{p95:.0f} ms",
            "ok": p95 is not None and p95 <= P95_GOAL_MS,
            "required": False,
        },
    ]


def result_document(
    *, config: dict[str, Any], stats: dict[str, Any], consistency: dict[str, Any]
) -> dict[str, Any]:
    checks = goals(stats, consistency)
    return {
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "ok": all(g["ok"] for g in checks if g["required"]),
        "goals_met": all(g["ok"] for g in checks),
        "config": config,
        "machine": {"cpu_count": os.cpu_count(), "load_average_end": [round(x, 2) for x in os.getloadavg()]},
        "duration_s": stats["duration_s"],
        "total": stats["total"],
        "routes": stats["routes"],
        "errors": stats["errors"],
        "goals": checks,
        "consistency": consistency,
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def format_table(routes: dict[str, dict[str, Any]], total: dict[str, Any]) -> str:
    header = ("route", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "failures")
    rows = [
        (name, str(r["requests"]), f"{r['rps']:.2f}", _ms(r["p50_ms"]), _ms(r["p95_ms"]), _ms(r["p99_ms"]),
         _ms(r["max_ms"]), str(r["failures"]))
        for name, r in [*routes.items(), ("total", total)]
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        return (
            "| "
            + " | ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
            + " |"
        )

    rule = "|" + "|".join("-" * (w + 1) + ("-" if i == 0 else ":") for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def format_report(document: dict[str, Any]) -> str:
    cfg = document["config"]
    machine = document["machine"]
    parts = [
        f"Load test: {cfg['users']} users for {cfg['duration_s']} s against gunicorn "
        f"({cfg['workers']} workers × {cfg['threads']} threads) on PostgreSQL; "
        f"measured {document['duration_s']} s; load average (1/5/15 min) {cfg.get('load_average_start')} "
        f"before, {machine['load_average_end']} after, on {machine['cpu_count']} CPUs",
        "",
        format_table(document["routes"], document["total"]),
    ]
    cpu = cfg.get("server_cpu_s")
    if cpu is not None and document["duration_s"] and document["total"]["requests"]:
        parts += [
            "",
            f"Server CPU during the run: {cpu} s ({cpu / document['duration_s']:.2f} of "
            f"{machine['cpu_count']} cores on average), {1000 * cpu / document['total']['requests']:.0f} ms "
            "per request (uploads' processing included)",
        ]
    if document["errors"]:
        parts += ["", "Errors:"] + [
            f"  {e['occurrences']}× {e['route']}: {e['error']}" for e in document["errors"]
        ]
    c = document["consistency"]
    m, d = c["messages"], c["documents"]
    parts += [
        "",
        f"Consistency: {'passed' if c['ok'] else 'FAILED'} — {m['turns_recorded']} answered turns in "
        f"{m['conversations_recorded']} conversations ({m['messages_in_db']} messages stored); "
        f"{d['uploads_recorded']} uploads, statuses {d['statuses']} "
        f"after waiting {d['waited_for_processing_s']} s; "
        f"{d['chunks']} live chunks, {d['vectors']} vectors",
        *(f"  problem: {p}" for p in c["problems"]),
        "",
        "Goals:",
        *(
            f"  {'ok    ' if g['ok'] else 'MISSED'} {g['name']}: goal {g['goal']}, measured {g['measured']}"
            for g in document["goals"]
        ),
    ]
    return "\n".join(parts)
