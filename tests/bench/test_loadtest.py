"""``make loadtest``: the whole pipeline, briefly, against PostgreSQL; and its report, purely."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench.loadtest.__main__ import database_url, server_env
from bench.loadtest.report import PUBLIC_CHAT, format_table, goals

ROOT = Path(__file__).resolve().parents[2]
DATABASE = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = urlsplit(DATABASE).scheme.startswith("postgres")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-")


def _stats(p95: float, failures: int = 0) -> dict:
    route = {"requests": 10, "failures": failures, "rps": 1.0, "p50_ms": 100, "p95_ms": p95, "p99_ms": p95,
             "max_ms": p95, "avg_ms": 100.0}  # fmt: skip
    return {"duration_s": 10, "total": route, "routes": {PUBLIC_CHAT: route}, "errors": []}


def test_goals_fail_on_a_failed_request_or_a_consistency_problem_and_report_latency():
    passed = {"ok": True, "problems": []}

    assert all(g["ok"] for g in goals(_stats(400), passed))
    failed = {g["name"]: g for g in goals(_stats(400, failures=1), {"ok": False, "problems": ["lost"]})}
    assert not failed["failed requests"]["ok"] and failed["failed requests"]["required"]
    assert not failed["consistency problems (lost or duplicated writes, orphans)"]["ok"]
    slow = goals(_stats(900), passed)[-1]
    assert (slow["ok"], slow["required"], slow["measured"]) == (False, False, "900 ms")


def test_table_has_one_row_per_route_and_a_total():
    stats = _stats(250)
    table = format_table(stats["routes"], stats["total"]).splitlines()

    assert table[0].startswith("| route") and "p95 ms" in table[0] and "failures" in table[0]
    assert [line.split("|")[1].strip() for line in table[2:]] == [PUBLIC_CHAT, "total"]


def test_the_load_test_refuses_sqlite(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite:///x.sqlite3")
    with pytest.raises(SystemExit, match="PostgreSQL"):
        database_url("botwright_loadtest")


@pytest.mark.slow
@pytest.mark.skipif(not ON_POSTGRES, reason="the load test runs against PostgreSQL (set DATABASE_URL)")
def test_loadtest_runs_end_to_end_and_its_consistency_check_catches_a_lost_write(tmp_path):
    name = f"{urlsplit(DATABASE).path.lstrip('/')}_loadtest"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.loadtest",
            "--users",
            "5",
            "--duration",
            "15",
            "--spawn-rate",
            "5",
            "--database",
            name,
            "--out",
            str(tmp_path),
        ],  # fmt: skip
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "| route" in done.stdout and PUBLIC_CHAT in done.stdout and "Consistency: passed" in done.stdout
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["ok"] and result["consistency"]["ok"] and result["total"]["failures"] == 0
    assert result["routes"][PUBLIC_CHAT]["requests"] > 0
    uploads = result["consistency"]["documents"]
    assert uploads["uploads_recorded"] >= 1 and uploads["statuses"] == {"ready": uploads["uploads_recorded"]}
    assert result["consistency"]["messages"]["turns_recorded"] == result["routes"][PUBLIC_CHAT]["requests"]
    assert not any(
        "[" not in route.split(" ", 1)[1] and "-" in route for route in result["routes"]
    )  # by route

    # The same check against the same database, told of a turn and an upload that never happened.
    writes = json.loads((tmp_path / "writes.json").read_text())
    turn = next(w for w in writes if w["kind"] == "message")
    writes += [
        {**turn},  # the server answered this turn once; a second report of it is a lost write
        {"kind": "document", "document_id": str(uuid.uuid4()), "sha256": "0" * 64, "created": True},
    ]
    (tmp_path / "tampered.json").write_text(json.dumps(writes))
    env = server_env(db_url=database_url(name), out=tmp_path)
    check = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.loadtest._db",
            "check",
            "--writes",
            str(tmp_path / "tampered.json"),
            "--fixture",
            str(tmp_path / "fixture.json"),
            "--out",
            str(tmp_path / "tampered-report.json"),
            "--timeout",
            "5",
        ],  # fmt: skip
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads((tmp_path / "tampered-report.json").read_text())
    assert check.returncode == 1 and not report["ok"]
    assert any(p.startswith("uploaded documents missing: 1") for p in report["problems"])
    assert any(p.startswith("answers reported twice") for p in report["problems"])
    assert any(p.startswith("conversations whose stored turns differ") for p in report["problems"])
