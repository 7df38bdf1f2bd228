"""Export benchmark: 1,000,000 messages streamed as CSV through the export API, against a plain dump.

Setup: a fresh PostgreSQL database (``BENCH_ANALYTICS_DATABASE_URL``, default
``postgres://botwright:botwright@127.0.0.1:5432/bw_bench_analytics``, dropped and re-created; the
role needs CREATEDB), or SQLite in a temporary folder when PostgreSQL cannot be reached. One org,
one bot, 100,000 conversations and ``ROWS`` messages generated in SQL (``generate_series`` /
a recursive CTE), ~2 % of them starting with a formula character.

Measured, each in its own subprocess so peak RSS is the export's alone:
(a) ``GET /api/orgs/<org>/analytics/export/messages/?format=csv`` through ``django.test.Client``,
    reading the ``StreamingHttpResponse`` chunk by chunk (nothing kept): rows/s and peak RSS
    (``ru_maxrss``, the process with Django loaded included). Goals: rows/s ≥ 0.5× the baseline,
    peak RSS ≤ 150 MB.
(b) the baseline over the same rows and columns in the same order: ``COPY (SELECT ...) TO STDOUT
    (FORMAT csv)`` on PostgreSQL, a cursor + ``csv.writer`` on SQLite — no formatting, escaping or
    pseudonyms.
(c) informational: the same export as JSON Lines.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import INFO, main, row  # noqa: E402

ROWS = int(os.environ.get("BENCH_ANALYTICS_ROWS", "1000000"))
CONVERSATIONS = max(1, ROWS // 10)
RSS_GOAL_MB = 150
RATIO_GOAL = 0.5
DEFAULT_PG = "postgres://botwright:botwright@127.0.0.1:5432/bw_bench_analytics"
ROOT = Path(__file__).resolve().parents[1]


def _postgres_url() -> str | None:
    """A fresh, empty PostgreSQL database for the run, or None when PostgreSQL is unreachable."""
    url = os.environ.get("BENCH_ANALYTICS_DATABASE_URL", DEFAULT_PG)
    try:
        import psycopg
    except ImportError:
        return None
    base, _, name = url.rpartition("/")
    try:
        with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        print(f"PostgreSQL not usable ({exc}); falling back to SQLite", file=sys.stderr)
        return None
    return url


def _env(database_url: str, workdir: Path) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(workdir / "media"),
        "EMBEDDER": "fake",
        "LLM_PROVIDER": "extractive",
        "DJANGO_DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }


def _generate(org_id: str, bot_id: str) -> None:
    """ROWS messages in CONVERSATIONS conversations, written by the database itself."""
    from django.db import connection

    days = 30
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Bulk load without the message indexes, then build them once (as a restore would).
            cursor.execute(
                "SELECT indexdef, indexname FROM pg_indexes WHERE tablename = 'chat_message' "
                "AND indexname NOT LIKE '%%pkey'"
            )
            indexes = cursor.fetchall()
            for _, name in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            cursor.execute(
                """
                INSERT INTO chat_conversation (id, org_id, bot_id, channel, visitor_id, title, message_count,
                                               started_at, last_activity_at)
                SELECT md5('c' || i)::uuid, %s, %s, CASE WHEN i %% 3 = 0 THEN 'builder' ELSE 'public' END,
                       CASE WHEN i %% 3 = 0 THEN '' ELSE 'v_' || md5('v' || i) END, 'Question ' || i, 10,
                       now() - ((i %% %s) || ' days')::interval, now()
                FROM generate_series(1, %s) AS i
                """,  # noqa: E501
                [org_id, bot_id, days, CONVERSATIONS],
            )
            cursor.execute(
                """
                INSERT INTO chat_message (id, org_id, bot_id, conversation_id, role, content, sources, unanswered,
                    model_name, prompt_tokens, completion_tokens, latency_ms, embeddings_computed, embedding_tokens,
                    vector_bytes_read, error, rating, feedback_comment, created_at)
                SELECT md5('m' || i)::uuid, %s, %s, md5('c' || (1 + i %% %s))::uuid,
                       CASE WHEN i %% 2 = 0 THEN 'user' ELSE 'assistant' END,
                       CASE WHEN i %% 50 = 0 THEN '=HYPERLINK("x") row ' || i
                            ELSE 'How long is the warranty of product ' || (i %% 997) || ', asked in message ' || i
                       END,
                       '[]', i %% 7 = 0, CASE WHEN i %% 2 = 1 THEN 'gemini-2.5-flash' ELSE '' END,
                       i %% 900, i %% 120, 200 + i %% 3000, 1, 0, 30000, '',
                       CASE WHEN i %% 11 = 0 THEN 'up' ELSE '' END, '',
                       now() - ((i %% %s) || ' days')::interval - ((i %% 86000) || ' seconds')::interval
                FROM generate_series(1, %s) AS i
                """,  # noqa: E501
                [org_id, bot_id, CONVERSATIONS, days, ROWS],
            )
            for definition, _ in indexes:
                cursor.execute(definition)
            cursor.execute("ANALYZE chat_message; ANALYZE chat_conversation")
        else:
            org, bot = org_id.replace("-", ""), bot_id.replace("-", "")
            cursor.execute(
                f"""
                WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {CONVERSATIONS})
                INSERT INTO chat_conversation (id, org_id, bot_id, channel, visitor_id, title, message_count,
                                               started_at, last_activity_at)
                SELECT printf('%032x', i), '{org}', '{bot}', CASE WHEN i % 3 = 0 THEN 'builder' ELSE 'public' END,
                       CASE WHEN i % 3 = 0 THEN '' ELSE 'v_visitor_' || i END, 'Question ' || i, 10,
                       datetime('now', '-' || (i % {days}) || ' days'), datetime('now')
                FROM s
                """  # noqa: S608, E501 - numbers and ids made here
            )
            cursor.execute(
                f"""
                WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {ROWS})
                INSERT INTO chat_message (id, org_id, bot_id, conversation_id, role, content, sources, unanswered,
                    model_name, prompt_tokens, completion_tokens, latency_ms, embeddings_computed, embedding_tokens,
                    vector_bytes_read, error, rating, feedback_comment, created_at)
                SELECT printf('%032x', 1000000000 + i), '{org}', '{bot}', printf('%032x', 1 + i % {CONVERSATIONS}),
                       CASE WHEN i % 2 = 0 THEN 'user' ELSE 'assistant' END,
                       CASE WHEN i % 50 = 0 THEN '=HYPERLINK("x") row ' || i
                            ELSE 'How long is the warranty of product ' || (i % 997) || ', asked in message ' || i
                       END,
                       '[]', i % 7 = 0, CASE WHEN i % 2 = 1 THEN 'gemini-2.5-flash' ELSE '' END,
                       i % 900, i % 120, 200 + i % 3000, 1, 0, 30000, '', CASE WHEN i % 11 = 0 THEN 'up' ELSE '' END,
                       '', strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (i % {days}) || ' days',
                                    '-' || (i % 86000) || ' seconds')
                FROM s
                """  # noqa: S608, E501 - numbers and ids made here
            )


BASELINE_SQL = """
SELECT m.org_id, m.id, m.conversation_id, m.bot_id, m.created_at, c.channel, c.visitor_id, m.role, m.content,
       m.unanswered, m.model_name, m.prompt_tokens, m.completion_tokens, m.latency_ms, m.rating,
       m.embeddings_computed, m.vector_bytes_read, m.error
FROM chat_message m JOIN chat_conversation c ON c.id = m.conversation_id
WHERE m.org_id = %s AND m.created_at >= %s AND m.created_at < %s
ORDER BY m.created_at, m.id
"""


class _Sink:
    """A file-like that counts what is written and keeps nothing."""

    def __init__(self) -> None:
        self.bytes = 0
        self.rows = 0

    def write(self, text: str) -> None:
        self.bytes += len(text)
        self.rows += 1


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(kind: str, org_id: str, user_id: str, start: str, end: str) -> dict[str, Any]:
    """Run one measurement in this (fresh) process; prints a JSON line with the figures."""
    import django

    django.setup()
    from django.db import connection

    idle_rss = _peak_rss_mb()
    started = time.perf_counter()
    rows = size = 0
    if kind in ("export_csv", "export_json"):
        from django.test import Client

        from accounts.models import User

        client = Client()
        client.force_login(User.objects.get(pk=user_id))
        fmt = "csv" if kind == "export_csv" else "json"
        url = f"/api/orgs/{org_id}/analytics/export/messages/"
        # Warm-up: the first request imports the URLconf and every API module (~1 s, once per process).
        warm = client.get(url, {"format": fmt, "from": "2000-01-01", "to": "2000-01-01"})
        b"".join(warm.streaming_content)
        started = time.perf_counter()
        response = client.get(url, {"format": fmt, "from": start, "to": end})
        assert response.status_code == 200 and response.streaming, response.status_code
        for chunk in response.streaming_content:
            size += len(chunk)
            rows += chunk.count(b"\n")
        rows -= 1 if fmt == "csv" else 0  # the header
    elif connection.vendor == "postgresql":
        from datetime import UTC, date, datetime, timedelta
        from datetime import time as dtime

        since = datetime.combine(date.fromisoformat(start), dtime.min, tzinfo=UTC)
        until = datetime.combine(date.fromisoformat(end), dtime.min, tzinfo=UTC) + timedelta(days=1)
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(
                f"COPY ({BASELINE_SQL}) TO STDOUT (FORMAT csv)", [org_id, since, until]
            ) as copy,
        ):
            for block in copy:
                size += len(block)
                rows += bytes(block).count(b"\n")
    else:
        from datetime import UTC, date, datetime, timedelta
        from datetime import time as dtime

        since = datetime.combine(date.fromisoformat(start), dtime.min, tzinfo=UTC)
        until = datetime.combine(date.fromisoformat(end), dtime.min, tzinfo=UTC) + timedelta(days=1)
        sink = _Sink()
        writer = csv.writer(sink, lineterminator="\n")
        with connection.cursor() as cursor:
            cursor.execute(BASELINE_SQL, [org_id.replace("-", ""), since, until])
            while batch := cursor.fetchmany(2000):
                writer.writerows(batch)
        rows, size = sink.rows, sink.bytes
    seconds = time.perf_counter() - started
    return {
        "rows": rows,
        "bytes": size,
        "seconds": seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "idle_rss_mb": idle_rss,
    }


def _run_child(kind: str, env: dict[str, str], *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_analytics", "--child", kind, *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run() -> dict[str, Any]:
    begun = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-analytics-") as tmp:
        workdir = Path(tmp)
        database_url = _postgres_url() or f"sqlite:///{workdir / 'bench.sqlite3'}"
        env = _env(database_url, workdir)
        os.environ.update(env)
        from bench import _django

        _django.setup(workdir, embedder="fake", database_url=database_url)
        from django.db import connection
        from django.utils import timezone

        user, org = _django.tenant("analytics")
        bot = _django.new_bot(org=org, user=user, name="Export bench bot")
        generated = time.perf_counter()
        _generate(str(org.pk), str(bot.pk))
        generate_s = time.perf_counter() - generated
        vendor = connection.vendor
        connection.close()
        end = timezone.now().date()
        start = end - timezone.timedelta(days=31)
        args = (str(org.pk), str(user.pk), start.isoformat(), end.isoformat())
        baseline = _run_child("baseline", env, *args)
        export = _run_child("export_csv", env, *args)
        # JSON Lines (informational) over the last 3 days only, to keep the run short.
        jsonl = _run_child(
            "export_json", env, args[0], args[1], (end - timezone.timedelta(days=2)).isoformat(), args[3]
        )
        if database_url.startswith("postgres"):
            import psycopg

            base, _, name = database_url.rpartition("/")
            with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    assert export["rows"] == baseline["rows"] == ROWS, (export["rows"], baseline["rows"])
    export_rate = export["rows"] / export["seconds"]
    baseline_rate = baseline["rows"] / baseline["seconds"]
    label = "COPY TO STDOUT" if vendor == "postgresql" else "cursor + csv.writer"
    rows_out = [
        row(
            f"messages CSV export, {ROWS:,} rows, rows/s (baseline: {label})",
            export_rate,
            baseline_rate,
            goal=f">= {RATIO_GOAL}x",
            ok=export_rate >= RATIO_GOAL * baseline_rate,
            unit="rows/s",
        ),
        row(
            f"messages CSV export, peak RSS (baseline: {label} process)",
            export["peak_rss_mb"],
            baseline["peak_rss_mb"],
            goal=f"<= {RSS_GOAL_MB} MB",
            ok=export["peak_rss_mb"] <= RSS_GOAL_MB,
            unit="MB",
        ),
        row(
            f"messages JSON Lines export ({jsonl['rows']:,} rows), rows/s",
            jsonl["rows"] / jsonl["seconds"],
            baseline_rate,
            goal=INFO,
            unit="rows/s",
        ),
        row(
            "messages JSON Lines export, peak RSS",
            jsonl["peak_rss_mb"],
            baseline["peak_rss_mb"],
            goal=INFO,
            unit="MB",
        ),
    ]
    info = {
        "database": vendor,
        "rows": ROWS,
        "generate_s": round(generate_s, 1),
        "export_csv": export,
        "baseline": baseline,
        "export_json": jsonl,
        "runtime_s": round(time.perf_counter() - begun, 1),
    }
    return {"module": "analytics", "rows": rows_out, "info": info}


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(json.dumps(child(*sys.argv[2:])))
    else:
        main(run)
