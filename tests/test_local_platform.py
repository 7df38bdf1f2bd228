"""Botwright as an operator runs it: a fresh database prepared by `manage.py migrate` alone, base
settings (the database cache, the local worker), each step in its own process like the real thing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

# Each test starts Django processes of its own (manage.py, a server): seconds to a minute each.
pytestmark = pytest.mark.slow

BASE_DIR = Path(__file__).resolve().parent.parent


class LocalPlatform:
    def __init__(self, workdir: Path, database_url: str) -> None:
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))},
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DJANGO_SECRET_KEY": "local-platform-test",
            "DATABASE_URL": database_url,
            "MEDIA_ROOT": str(workdir / "media"),
            "STORAGE_BACKEND": "local",
            "VECTOR_STORE": "database",
            "EMBEDDER": "fake",
            "LLM_PROVIDER": "extractive",
            "DOCUMENT_PROCESSING": "sync",
            "DOCUMENT_RETRY_BACKOFF_S": "0.05",
            "LOG_LEVEL": "WARNING",
        }

    def run(self, *args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
        result = subprocess.run(  # noqa: S603 - our own entry points with fixed arguments
            [sys.executable, *args],
            cwd=BASE_DIR,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr[-4000:]}"
        return result

    def manage(self, *args: str, **env: str) -> str:
        return self.run("manage.py", *args, **env).stdout

    def scenario(self, name: str, *args: str, **env: str) -> dict:
        out = self.run("-m", "tests.local_scenarios", name, *args, **env).stdout
        return json.loads(out.strip().splitlines()[-1])


@pytest.fixture
def sqlite_platform(tmp_path):
    return LocalPlatform(tmp_path, f"sqlite:///{tmp_path / 'botwright.sqlite3'}")


def _fresh_postgres_database():
    """A new, empty PostgreSQL database next to the test one (CI), dropped afterwards."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    import psycopg

    base, _, _ = url.rpartition("/")
    admin_url = f"{base}/postgres"  # the maintenance database: DATABASE_URL's own may not exist
    name = f"bw_fresh_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url, f"{base}/{name}", name


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_platform(request, tmp_path):
    if request.param == "sqlite":
        yield LocalPlatform(tmp_path, f"sqlite:///{tmp_path / 'botwright.sqlite3'}")
        return
    created = _fresh_postgres_database()
    if created is None:
        pytest.skip("DATABASE_URL is not PostgreSQL; CI runs this on PostgreSQL")
    admin_url, url, name = created
    try:
        yield LocalPlatform(tmp_path, url)
    finally:
        import psycopg

        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_migrate_alone_gives_a_platform_that_chats_and_searches(fresh_platform):
    fresh_platform.manage("migrate", "--noinput")
    result = fresh_platform.scenario("chat")
    assert result["cache_table"], "the rate-limit cache table must come from a migration"
    # Every limit counted in the migrated table: the member's search and chat, the public chat's three.
    assert result["rate_counters"] == [["bot", 1], ["ip", 1], ["member", 2], ["visitor", 1]]
    assert result["document_status"] == "ready"
    assert result["search_status"] == 200
    assert any("07:30" in text for text in result["search_texts"])
    assert result["chat_status"] == 200 and "07:30" in result["chat_answer"]
    assert result["public_status"] == 200 and "07:30" in result["public_answer"]


def test_sweep_documents_command_processes_stuck_documents_before_it_exits(sqlite_platform):
    # Regression: in thread mode the command queued the work on a background thread of a process
    # that was exiting; loading the real model there failed with "can't register atexit after
    # shutdown" and every document ended `failed`.
    sqlite_platform.manage("migrate", "--noinput")
    ids = sqlite_platform.scenario("seed_stuck", "3")["ids"]
    out = sqlite_platform.manage("sweep_documents", DOCUMENT_PROCESSING="thread", EMBEDDER="minilm")
    assert out.startswith("retried 3, failed 0")
    documents = sqlite_platform.scenario("report")["documents"]
    assert len(documents) == len(ids) == 3
    assert [d["status"] for d in documents] == ["ready"] * 3, documents


def test_process_documents_command_processes_inline_in_thread_mode(sqlite_platform):
    sqlite_platform.manage("migrate", "--noinput")
    sqlite_platform.scenario("seed_stuck", "2")
    # Stuck documents are not pending: --all re-indexes everything, in this process.
    out = sqlite_platform.manage("process_documents", "--all", DOCUMENT_PROCESSING="thread")
    assert "Processed 2 document(s), 0 failed." in out
    assert [d["status"] for d in sqlite_platform.scenario("report")["documents"]] == ["ready", "ready"]


def test_a_starting_server_recovers_work_left_behind_and_keeps_sweeping(sqlite_platform):
    sqlite_platform.manage("migrate", "--noinput")
    result = sqlite_platform.scenario(
        "restart", DOCUMENT_PROCESSING="thread", DOCUMENT_SWEEP_INTERVAL_S="0.5", DOCUMENT_STUCK_AFTER_S="60"
    )
    # Stuck and pending documents of the stopped server, processed by the new one's worker at start-up.
    assert [d["status"] for d in result["at_start"]] == ["ready"] * 4, result["at_start"]
    # A document that got stuck later was found by the periodic sweep.
    assert [d["status"] for d in result["later"]] == ["ready"] * 5, result["later"]


def test_local_worker_and_a_second_writer_lose_no_document_to_sqlite_locks(sqlite_platform):
    # The worker's threads and a `process_documents` run claim, write and finish documents in one
    # SQLite file at once. Retries are off here so that this checks the transaction mode alone: with
    # SQLite's default (DEFERRED) transactions some documents stayed `processing` for good, or the
    # command died, with "database is locked".
    sqlite_platform.manage("migrate", "--noinput")
    result = sqlite_platform.scenario(
        "worker_and_command", "30", DOCUMENT_PROCESSING="thread", DOCUMENT_RETRY_ATTEMPTS="1"
    )
    assert result["command_rc"] == 0, result["command_err"]
    assert "Processed 30 document(s), 0 failed" in result["command_out"]
    statuses = [d["status"] for d in result["documents"]]
    assert statuses == ["ready"] * 30, result["documents"]


def test_local_worker_finishes_small_documents_before_large_ones(sqlite_platform):
    """Two tenants each upload a large file, then five small ones follow: with two worker threads
    (large files may hold only one), every small document is ready before either large one."""
    sqlite_platform.manage("migrate", "--noinput")
    result = sqlite_platform.scenario(
        "fairness",
        "0.01",
        DOCUMENT_PROCESSING="thread",
        DOCUMENT_WORKERS="2",
        DOCUMENT_LARGE_BYTES="100000",
    )
    documents = result["documents"]
    print(json.dumps(documents, indent=1))  # the measured ordering, kept in the test log
    assert {d["status"] for d in documents.values()} == {"ready"}, documents
    large = [d for title, d in documents.items() if title.startswith("large")]
    small = [d for title, d in documents.items() if title.startswith("small")]
    assert len(large) == 2 and len(small) == 5
    assert all(d["bytes"] >= 100_000 for d in large) and all(d["bytes"] < 100_000 for d in small)
    assert max(d["finished_s"] for d in small) < min(d["finished_s"] for d in large), documents
