"""Fixtures for the importers: a Supabase-shaped source in the PostgreSQL test database, a storage
export on disk, Qdrant collections in local mode, and counters of everything an import can write."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.files.storage import default_storage
from django.db import connection

from importers import demo


def storage_keys(path: str = "") -> list[str]:
    """Every object in the configured storage (the tests' in-memory storage), recursively."""
    try:
        dirs, files = default_storage.listdir(path)
    except FileNotFoundError:
        return []
    keys = [f"{path}/{f}" if path else f for f in files]
    for d in dirs:
        keys += storage_keys(f"{path}/{d}" if path else d)
    return sorted(keys)


def world_counts() -> dict[str, int]:
    """Rows of every Botwright table (through the unscoped managers) and objects in storage."""
    counts = {}
    for model in apps.get_models():
        manager = getattr(model, "all_orgs", None) or model._base_manager
        counts[model._meta.label] = manager.count()
    counts["storage objects"] = len(storage_keys())
    return counts


def clear_storage() -> None:
    for key in storage_keys():
        default_storage.delete(key)


@pytest.fixture(autouse=True)
def _empty_storage():
    # The in-memory storage outlives a test's database transaction: start and end empty.
    clear_storage()
    yield
    clear_storage()


@pytest.fixture
def source_db(db):
    """A psycopg connection (autocommit) to the test database with the Supabase-shaped schema.

    The importer reads it through its own connection, so the schema and rows must be committed:
    they are, and they are dropped after the test. Skipped on SQLite.
    """
    if connection.vendor != "postgresql":
        pytest.skip("the Supabase source is PostgreSQL: run with DATABASE_URL=postgres://…")
    import psycopg

    s = connection.settings_dict
    dsn = (
        f"postgresql://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    )
    conn = psycopg.connect(dsn, autocommit=True)
    demo.drop_schema(conn)
    demo.create_schema(conn)
    conn.dsn_for_import = dsn
    yield conn
    demo.drop_schema(conn)
    conn.close()


@pytest.fixture
def storage_dir(tmp_path):
    path = tmp_path / "storage-export"
    path.mkdir()
    return path


def write_file(storage_dir, storage_path: str, data: bytes | str) -> str:
    target = storage_dir / storage_path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data.encode() if isinstance(data, str) else data)
    return storage_path
