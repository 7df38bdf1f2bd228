"""Reading a Supabase project: its Postgres tables (read-only, streamed) and its stored files.

The source connection is opened read-only (`SET SESSION CHARACTERISTICS … READ ONLY` through
psycopg's `read_only`), so a mistake in a mapping can never write to a live source; rows are
streamed with a server-side cursor in batches, so memory does not grow with the table.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from tenants.errors import InvalidInput, Unavailable

from .mapping import REQUIRED, SupabaseMapping, Table

ENTITIES = ("users", "bots", "documents")


class SourceFileError(Exception):
    """A document's file could not be read from the export or the storage URL."""


def redact_dsn(dsn: str) -> str:
    """The DSN without its password, for messages and reports."""
    try:
        parts = urllib.parse.urlsplit(dsn)
    except ValueError:
        return "<dsn>"
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return dsn


class SupabaseSource:
    """The tables of one Supabase database, as the mapping names them."""

    def __init__(self, dsn: str, mapping: SupabaseMapping, *, connect_timeout: int = 10) -> None:
        self.mapping = mapping
        try:
            self.conn = psycopg.connect(dsn, connect_timeout=connect_timeout, autocommit=False)
        except psycopg.Error as exc:
            raise Unavailable(
                f"Cannot connect to the source database {redact_dsn(dsn)}: {str(exc).strip()}. "
                "Check --dsn (postgres://user:password@host:5432/postgres) and that the host is reachable."
            )
        self.conn.read_only = True
        self._fields: dict[str, dict[str, str | None]] = {}
        self.missing_optional: dict[str, list[str]] = {}

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> SupabaseSource:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def table(self, entity: str) -> Table:
        return getattr(self.mapping, entity)

    def fields(self, entity: str) -> dict[str, str | None]:
        """Botwright field -> existing source column (None: absent, read as NULL)."""
        if entity not in self._fields:
            table = self.table(entity)
            with self.conn.cursor() as cur:
                cur.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = %s AND table_name = %s",
                    (table.schema, table.name),
                )
                existing = {row[0] for row in cur.fetchall()}
            self.conn.rollback()
            if not existing:
                raise InvalidInput(
                    f"The source has no table {table.label} (or this role cannot read it). Name the right "
                    f"table in the mapping file: supabase: {{{entity}: {{table: schema.name}}}}."
                )
            resolved: dict[str, str | None] = {}
            for field_name, column in table.columns.items():
                if column is not None and column not in existing:
                    if field_name in REQUIRED[entity]:
                        raise InvalidInput(
                            f"{table.label} has no column {column!r} for {field_name}. Map it in the mapping "
                            f"file: supabase: {{{entity}: {{columns: {{{field_name}: your_column}}}}}}."
                        )
                    self.missing_optional.setdefault(entity, []).append(column)
                    column = None
                resolved[field_name] = column
            self._fields[entity] = resolved
        return self._fields[entity]

    def _query(self, entity: str, *, since: datetime | None, count: bool) -> tuple[sql.Composable, list[Any]]:
        table = self.table(entity)
        fields = self.fields(entity)
        source = sql.Identifier(table.schema, table.name)
        where, params = sql.SQL(""), []
        if since is not None:
            stamps = [fields[f] for f in ("updated_at", "created_at") if fields.get(f)]
            if not stamps:
                raise InvalidInput(f"--since needs a created_at or updated_at column on {table.label}.")
            where = sql.SQL(" WHERE ") + sql.SQL(" OR ").join(
                sql.SQL("{} > %s").format(sql.Identifier(c)) for c in stamps
            )
            params = [since] * len(stamps)
        if count:
            return sql.SQL("SELECT count(*) FROM {}{}").format(source, where), params
        select = sql.SQL(", ").join(
            (
                sql.SQL("{} AS {}").format(sql.Identifier(col), sql.Identifier(f))
                if col
                else sql.SQL("NULL AS {}").format(sql.Identifier(f))
            )
            for f, col in fields.items()
        )
        order = [sql.Identifier(c) for c in (fields.get("created_at"), fields["id"]) if c]
        query = sql.SQL("SELECT {} FROM {}{} ORDER BY {}").format(
            select, source, where, sql.SQL(", ").join(order)
        )
        return query, params

    def count(self, entity: str, *, since: datetime | None = None) -> int:
        query, params = self._query(entity, since=since, count=True)
        with self.conn.cursor() as cur:
            cur.execute(query, params)
            (n,) = cur.fetchone()
        self.conn.rollback()
        return int(n)

    def batches(self, entity: str, *, since: datetime | None = None, size: int = 500) -> Iterator[list[dict]]:
        """The rows (dicts keyed by Botwright field names) in batches of `size`, oldest first."""
        query, params = self._query(entity, since=since, count=False)
        try:
            with self.conn.cursor(name=f"botwright_import_{entity}", row_factory=dict_row) as cur:
                cur.itersize = size
                cur.execute(query, params)
                while rows := cur.fetchmany(size):
                    yield [_plain(r) for r in rows]
        finally:
            self.conn.rollback()


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    # uuid.UUID ids become strings: they are compared with payload values and stored as source ids.
    return {k: (str(v) if k in ("id", "user_id", "bot_id") and v is not None else v) for k, v in row.items()}


class FileSource:
    """Document files: a Supabase Storage export on disk (`--storage-dir`) or a storage base URL."""

    def __init__(
        self,
        *,
        storage_dir: str | Path | None,
        base_url: str | None,
        max_bytes: int,
        headers: dict[str, str] | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.root = Path(storage_dir).resolve() if storage_dir else None
        self.base_url = base_url.rstrip("/") + "/" if base_url else None
        self.max_bytes = max_bytes
        self.headers = headers or {}
        self.timeout_s = timeout_s
        if self.root is not None and not self.root.is_dir():
            raise InvalidInput(f"--storage-dir {storage_dir} is not a directory.")

    @property
    def configured(self) -> bool:
        return self.root is not None or self.base_url is not None

    def read(self, storage_path: str) -> bytes:
        if not storage_path:
            raise SourceFileError("the row has no storage_path")
        if self.root is not None:
            return self._read_file(storage_path)
        if self.base_url is not None:
            return self._download(storage_path)
        raise SourceFileError("no --storage-dir or storage_base_url to read files from")

    def _read_file(self, storage_path: str) -> bytes:
        path = (self.root / storage_path.lstrip("/")).resolve()
        if not path.is_relative_to(self.root):
            raise SourceFileError(f"storage_path {storage_path!r} points outside --storage-dir; refused")
        try:
            size = path.stat().st_size
            if size > self.max_bytes:
                raise SourceFileError(f"the file is {size} bytes; the upload limit is {self.max_bytes}")
            return path.read_bytes()
        except FileNotFoundError:
            raise SourceFileError(f"{path} does not exist in the storage export")
        except OSError as exc:
            raise SourceFileError(f"cannot read {path}: {exc.strerror or exc}")

    def _download(self, storage_path: str) -> bytes:
        url = self.base_url + urllib.parse.quote(storage_path.lstrip("/"))
        request = urllib.request.Request(url, headers=self.headers)  # noqa: S310 (scheme checked by the mapping)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
                data = response.read(self.max_bytes + 1)
        except urllib.error.HTTPError as exc:
            raise SourceFileError(f"GET {url} answered {exc.code}")
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SourceFileError(f"GET {url} failed: {getattr(exc, 'reason', exc)}")
        if len(data) > self.max_bytes:
            raise SourceFileError(
                f"the file at {url} is larger than the upload limit ({self.max_bytes} bytes)"
            )
        return data
