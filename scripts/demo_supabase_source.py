#!/usr/bin/env python
"""Create a small Supabase + Qdrant source to try the importers on (README: "Migrating from Supabase").

- a PostgreSQL database shaped like a Supabase project: `auth.users` (bcrypt passwords, one banned
  user), `public.bots`, `public.documents` — created if missing, reset if it exists;
- a Supabase Storage export on disk with the documents' files (`--storage-dir`);
- a Qdrant local-mode collection `kb_chunks` (`--qdrant-path`) with one point per passage, embedded
  with Botwright's configured embedder (EMBEDDER, default MiniLM), plus a document that exists only
  in Qdrant.

    python scripts/demo_supabase_source.py \\
        --dsn postgres://botwright:botwright@127.0.0.1:5432/supabase_demo \\
        --storage-dir /tmp/botwright-demo/storage --qdrant-path /tmp/botwright-demo/qdrant
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")


def ensure_database(dsn: str) -> None:
    """CREATE DATABASE for the DSN's database name when it does not exist (needs CREATEDB)."""
    import psycopg
    from psycopg import sql

    parts = urllib.parse.urlsplit(dsn)
    name = parts.path.lstrip("/")
    maintenance = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dsn", required=True, help="postgres://user:password@host:5432/<new or demo database>"
    )
    parser.add_argument("--storage-dir", required=True, type=Path)
    parser.add_argument("--qdrant-path", required=True, type=Path)
    parser.add_argument("--collection", default="kb_chunks")
    args = parser.parse_args()

    import django

    django.setup()
    import psycopg
    from qdrant_client import QdrantClient

    from importers import demo
    from integrations.embeddings import get_embedder

    ensure_database(args.dsn)
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        demo.drop_schema(conn)
        shutil.rmtree(args.storage_dir, ignore_errors=True)
        project = demo.create_demo_project(conn, storage_dir=args.storage_dir)
    embedder = get_embedder()
    client = QdrantClient(path=str(args.qdrant_path))
    try:
        points = demo.create_demo_collection(
            client, collection=args.collection, project=project, embedder=embedder
        )
    finally:
        client.close()
    users, files = len(demo.DEMO_USERS) + 1, len(demo.DEMO_FILES)
    print(f"Supabase-shaped source: {users} users (1 banned), 2 bots, {files} documents")
    print(f"storage export: {args.storage_dir}")
    print(f"Qdrant collection {args.collection!r} at {args.qdrant_path}: {points} points, {embedder.name}")
    for user in demo.DEMO_USERS:
        print(f"sign in after the import as {user.email} / {user.password}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
