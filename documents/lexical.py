"""Lexical (full-text) search over chunk text, inside the relational database, for every vector store.

The dense side of retrieval lives in whichever vector store is configured; this side reads the
`documents_chunk` table every store shares, so hybrid retrieval works the same with the database,
DynamoDB or any other store. The index is maintained by the database itself — no pipeline code:

- **SQLite**: an FTS5 table ``documents_chunk_fts`` (Porter stemmer over unicode61) filled and
  emptied by triggers on ``documents_chunk``. FTS5 rows need integer ids and chunk ids are UUIDs, so
  ``documents_chunk_fts_map`` assigns each chunk a stable integer (its own ``INTEGER PRIMARY KEY``).
  Each row also carries a ``bot`` token, so a query only walks its own bot's postings. Ranking is
  FTS5's ``bm25()`` (its document frequencies span the whole table: on a shared SQLite file other
  bots' text shifts a word's weight slightly, never which rows match).
- **PostgreSQL**: a stored generated column ``documents_chunk.search_vector`` =
  ``to_tsvector('english', text)`` with a GIN index. Ranking is BM25-shaped and per bot: each query
  word weighs ``ln(1 + (N - n + 0.5) / (n + 0.5))`` with ``n`` the number of the bot's live chunks
  containing it and ``N`` all of them, times ``ts_rank`` (saturating in the word's count, normalised
  by the chunk's length).

Both are created by migration ``0003``; on SQLite the triggers are re-asserted after every ``migrate``
(:func:`repair_index`) because SQLite drops a table's triggers whenever Django rebuilds the table
for a later schema change.

Tenant scoping: every query filters ``org_id`` and ``bot_id`` exactly and joins the caller's live
``(document, generation)`` map, like the vector stores do — a bot never matches another bot's text,
nor a generation that is being written or is about to be deleted.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import connection as default_connection

__all__ = ["LexicalHit", "document_frequencies", "drop_index", "ensure_index", "repair_index", "search"]

MAP_TABLE = "documents_chunk_fts_map"

_SQLITE_DDL = (
    """CREATE TABLE IF NOT EXISTS documents_chunk_fts_map (
        rowid INTEGER PRIMARY KEY, chunk_id char(32) NOT NULL UNIQUE
    )""",
    """CREATE VIRTUAL TABLE IF NOT EXISTS documents_chunk_fts USING fts5(
        bot, text, tokenize = 'porter unicode61 remove_diacritics 2'
    )""",
    """CREATE TRIGGER IF NOT EXISTS documents_chunk_fts_insert AFTER INSERT ON documents_chunk BEGIN
        INSERT INTO documents_chunk_fts_map(chunk_id) VALUES (new.id);
        INSERT INTO documents_chunk_fts(rowid, bot, text)
            VALUES (last_insert_rowid(), 'b' || new.bot_id, new.text);
    END""",
    """CREATE TRIGGER IF NOT EXISTS documents_chunk_fts_delete AFTER DELETE ON documents_chunk BEGIN
        DELETE FROM documents_chunk_fts
            WHERE rowid = (SELECT rowid FROM documents_chunk_fts_map WHERE chunk_id = old.id);
        DELETE FROM documents_chunk_fts_map WHERE chunk_id = old.id;
    END""",
    """CREATE TRIGGER IF NOT EXISTS documents_chunk_fts_update
    AFTER UPDATE OF text, bot_id ON documents_chunk BEGIN
        DELETE FROM documents_chunk_fts
            WHERE rowid = (SELECT rowid FROM documents_chunk_fts_map WHERE chunk_id = old.id);
        INSERT INTO documents_chunk_fts(rowid, bot, text)
            SELECT rowid, 'b' || new.bot_id, new.text FROM documents_chunk_fts_map WHERE chunk_id = new.id;
    END""",
)
# Rows written while the triggers were missing (a table rebuild by a later migration), indexed now.
_SQLITE_BACKFILL = (
    "INSERT INTO documents_chunk_fts_map(chunk_id) SELECT id FROM documents_chunk "
    "WHERE id NOT IN (SELECT chunk_id FROM documents_chunk_fts_map)",
    "INSERT INTO documents_chunk_fts(rowid, bot, text) SELECT m.rowid, 'b' || c.bot_id, c.text "
    "FROM documents_chunk_fts_map m JOIN documents_chunk c ON c.id = m.chunk_id "
    "WHERE m.rowid NOT IN (SELECT rowid FROM documents_chunk_fts)",
)
_POSTGRES_DDL = (
    """ALTER TABLE documents_chunk ADD COLUMN IF NOT EXISTS search_vector tsvector
        GENERATED ALWAYS AS (to_tsvector('english'::regconfig, text)) STORED""",
    "CREATE INDEX IF NOT EXISTS documents_chunk_search_vector_gin "
    "ON documents_chunk USING gin (search_vector)",
)


def ensure_index(connection=default_connection) -> None:
    """Create the lexical index of ``connection``'s engine if any part is missing (idempotent)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for statement in (*_SQLITE_DDL, *_SQLITE_BACKFILL):
                cursor.execute(statement)
        elif connection.vendor == "postgresql":
            for statement in _POSTGRES_DDL:
                cursor.execute(statement)


def repair_index(connection=default_connection) -> None:
    """Re-create SQLite's triggers (and index rows written without them) when the index exists.

    Runs after every ``migrate``: SQLite drops a table's triggers whenever Django rebuilds
    ``documents_chunk`` for a schema change. Does nothing before migration 0003 or after its reversal,
    and nothing on PostgreSQL, whose generated column survives table changes.
    """
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", [MAP_TABLE])
        installed = cursor.fetchone() is not None
    if installed:
        ensure_index(connection)


def drop_index(connection=default_connection) -> None:
    """Remove the lexical index (the migration's reverse)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for name in ("insert", "delete", "update"):
                cursor.execute("DROP TRIGGER IF EXISTS documents_chunk_fts_" + name)
            cursor.execute("DROP TABLE IF EXISTS documents_chunk_fts")
            cursor.execute("DROP TABLE IF EXISTS documents_chunk_fts_map")
        elif connection.vendor == "postgresql":
            cursor.execute("DROP INDEX IF EXISTS documents_chunk_search_vector_gin")
            cursor.execute("ALTER TABLE documents_chunk DROP COLUMN IF EXISTS search_vector")


# The number of the bot's live chunks (the N of an IDF); parameters: live map, org, bot.
_PG_LIVE_COUNT = """SELECT count(*) AS n FROM documents_chunk c
    JOIN jsonb_each_text(%s::jsonb) live
      ON live.key::uuid = c.document_id AND live.value::int = c.generation
    WHERE c.org_id = %s AND c.bot_id = %s"""
# SQLite plans these joins chunk-first unless told otherwise (a full-text MATCH per chunk row, a JSON
# parse per chunk row); materialised CTEs make the FTS hits and the live map drive the joins.
_SQLITE_LIVE_COUNT = """WITH live AS MATERIALIZED (
        SELECT key AS document_id, value AS generation FROM json_each(%s)
    )
    SELECT count(*) FROM live
    JOIN documents_chunk c ON c.document_id = live.document_id AND c.generation = live.generation
    WHERE c.org_id = %s AND c.bot_id = %s"""
_SQLITE_MATCHES = """WITH live AS MATERIALIZED (
        SELECT key AS document_id, value AS generation FROM json_each(%s)
    ),
    hits AS MATERIALIZED (
        SELECT rowid, bm25(documents_chunk_fts, 0.0, 1.0) AS rank
        FROM documents_chunk_fts WHERE documents_chunk_fts MATCH %s
    )
    SELECT c.id, hits.rank FROM hits
    JOIN documents_chunk_fts_map m ON m.rowid = hits.rowid
    JOIN documents_chunk c ON c.id = m.chunk_id
    JOIN live ON live.document_id = c.document_id AND live.generation = c.generation
    WHERE c.org_id = %s AND c.bot_id = %s"""


@dataclass(frozen=True)
class LexicalHit:
    chunk_id: str
    score: float  # higher is better; comparable only within one query


def _live_json(active: Mapping[str, int], vendor: str) -> str:
    # SQLite stores UUIDs as 32 hex digits, PostgreSQL as uuid (compared after a cast).
    key = (lambda d: uuid.UUID(str(d)).hex) if vendor == "sqlite" else (lambda d: str(uuid.UUID(str(d))))
    return json.dumps({key(d): int(g) for d, g in active.items()})


def _ids(org_id: str, bot_id: str, vendor: str) -> tuple[str, str]:
    if vendor == "sqlite":
        return uuid.UUID(str(org_id)).hex, uuid.UUID(str(bot_id)).hex
    return str(org_id), str(bot_id)


def _fts_query(bot_hex: str, words: Sequence[str]) -> str:
    # Words are alphanumeric (terms.query_words); quoting them keeps FTS5 operators out.
    alternatives = " OR ".join(f'"{w}"' for w in words)
    return f'bot : "b{bot_hex}" AND ({alternatives})'


def search(
    *,
    org_id: str,
    bot_id: str,
    active: Mapping[str, int],
    words: Sequence[str],
    limit: int,
    connection=default_connection,
) -> list[LexicalHit]:
    """The bot's live chunks matching any of ``words``, best first, at most ``limit``.

    ``words`` come from :func:`integrations.llm.terms.query_words` (alphanumeric only).
    """
    if not active or not words or limit <= 0:
        return []
    vendor = connection.vendor
    org, bot = _ids(org_id, bot_id, vendor)
    live = _live_json(active, vendor)
    with connection.cursor() as cursor:
        if vendor == "sqlite":
            cursor.execute(
                _SQLITE_MATCHES + " ORDER BY hits.rank, c.id LIMIT %s",  # noqa: S608 - constant SQL
                [live, _fts_query(bot, words), org, bot, limit],
            )
            # bm25() is negative, lower is better.
            return [LexicalHit(str(uuid.UUID(row[0])), -float(row[1])) for row in cursor.fetchall()]
        if vendor == "postgresql":
            cursor.execute(
                """WITH q AS (
                    SELECT DISTINCT to_tsquery('english', w) AS tq FROM unnest(%s::text[]) AS w
                ), terms AS (SELECT tq FROM q WHERE numnode(tq) > 0),
                cand AS (
                    SELECT c.id, c.search_vector AS tsv
                    FROM documents_chunk c
                    JOIN jsonb_each_text(%s::jsonb) live
                      ON live.key::uuid = c.document_id AND live.value::int = c.generation
                    WHERE c.org_id = %s AND c.bot_id = %s
                      AND c.search_vector @@ to_tsquery('english', %s)
                ), df AS (
                    SELECT t.tq, count(c.id) AS n FROM terms t JOIN cand c ON c.tsv @@ t.tq GROUP BY t.tq
                ), total AS (
                    SELECT count(*) AS n FROM documents_chunk c
                    JOIN jsonb_each_text(%s::jsonb) live
                      ON live.key::uuid = c.document_id AND live.value::int = c.generation
                    WHERE c.org_id = %s AND c.bot_id = %s
                )
                SELECT c.id, sum(ln(1 + (total.n - df.n + 0.5) / (df.n + 0.5)) * ts_rank(c.tsv, df.tq, 1))
                    AS score
                FROM cand c JOIN df ON c.tsv @@ df.tq CROSS JOIN total
                GROUP BY c.id ORDER BY score DESC, c.id LIMIT %s""",
                [list(words), live, org, bot, " | ".join(words), live, org, bot, limit],
            )
            return [LexicalHit(str(row[0]), float(row[1])) for row in cursor.fetchall()]
    raise NotImplementedError(f"Lexical search supports SQLite and PostgreSQL, not {vendor}.")


def document_frequencies(
    *,
    org_id: str,
    bot_id: str,
    active: Mapping[str, int],
    words: Sequence[str],
    connection=default_connection,
) -> tuple[int, dict[str, int]]:
    """``(N, {word: n})``: the bot's live chunks, and how many contain each word (as the engine stems it)."""
    if not active:
        return 0, {w: 0 for w in words}
    vendor = connection.vendor
    org, bot = _ids(org_id, bot_id, vendor)
    live = _live_json(active, vendor)
    counts: dict[str, int] = {}
    with connection.cursor() as cursor:
        if vendor == "sqlite":
            cursor.execute(_SQLITE_LIVE_COUNT, [live, org, bot])
            total = int(cursor.fetchone()[0])
            # One statement per word keeps each MATCH on the FTS index; a question has few words.
            for word in words:
                cursor.execute(
                    "SELECT count(*) FROM (" + _SQLITE_MATCHES + ")",  # noqa: S608 - constant SQL
                    [live, _fts_query(bot, [word]), org, bot],
                )
                counts[word] = int(cursor.fetchone()[0])
            return total, counts
        if vendor == "postgresql":
            cursor.execute(_PG_LIVE_COUNT, [live, org, bot])
            total = int(cursor.fetchone()[0])
            if words:
                cursor.execute(
                    """WITH q AS (
                        SELECT w, to_tsquery('english', w) AS tq FROM unnest(%s::text[]) AS w
                    ), cand AS (
                        SELECT c.search_vector AS tsv FROM documents_chunk c
                        JOIN jsonb_each_text(%s::jsonb) live
                          ON live.key::uuid = c.document_id AND live.value::int = c.generation
                        WHERE c.org_id = %s AND c.bot_id = %s
                          AND c.search_vector @@ to_tsquery('english', %s)
                    )
                    SELECT q.w, (SELECT count(*) FROM cand WHERE numnode(q.tq) > 0 AND cand.tsv @@ q.tq)
                    FROM q""",
                    [list(words), live, org, bot, " | ".join(words)],
                )
                counts = {w: int(n) for w, n in cursor.fetchall()}
            return total, {w: counts.get(w, 0) for w in words}
    raise NotImplementedError(f"Lexical search supports SQLite and PostgreSQL, not {vendor}.")
