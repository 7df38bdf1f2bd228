"""The org backup format (``export_org`` / ``import_org``): a directory, its manifest, JSON-lines files.

Django-free: the parts that can be wrong without a database — writing and reading JSON lines,
checksums, the manifest and its validation — are here and tested on their own.

Layout of an export directory::

    manifest.json          format and version, Botwright version, org, embedder, counts, checksums
    <table>.jsonl          one JSON object per line, one row each, in a fixed order
    files/<storage key>    the original bytes of every stored file (documents, avatars)

The manifest lists every other file with its SHA-256 and size. :func:`verify` checks all of them
before an import writes anything, so a partial copy or a tampered file is refused as a whole.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

FORMAT = "botwright-org-export"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
FILES_DIR = "files"
_READ_BLOCK = 1 << 20


class ArchiveError(Exception):
    """The export directory is unusable: missing, partial, corrupt or of another format."""


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(row: dict[str, Any]) -> str:
    """One row as a JSON line: keys sorted, no spaces, non-ASCII kept (deterministic bytes)."""
    return json.dumps(row, default=_default, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass
class FileEntry:
    sha256: str
    bytes: int
    rows: int | None = None  # JSON-lines files only

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"sha256": self.sha256, "bytes": self.bytes}
        if self.rows is not None:
            data["rows"] = self.rows
        return data


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> FileEntry:
    """Stream ``rows`` into ``path`` one line each, hashing as it goes (nothing held in memory)."""
    digest = hashlib.sha256()
    count = size = 0
    with open(path, "wb") as fh:
        for row in rows:
            line = (dumps(row) + "\n").encode("utf-8")
            fh.write(line)
            digest.update(line)
            size += len(line)
            count += 1
    return FileEntry(sha256=digest.hexdigest(), bytes=size, rows=count)


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the rows of a JSON-lines file; a bad line is an ArchiveError naming the file and line."""
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ArchiveError(f"{path.name} line {number} is not valid JSON: {exc.msg}") from None
            if not isinstance(row, dict):
                raise ArchiveError(f"{path.name} line {number} is not a JSON object")
            yield row


def write_file(root: Path, relative: str, data: bytes) -> FileEntry:
    target = root / safe_relative(relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return FileEntry(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_READ_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def safe_relative(relative: str) -> str:
    """``relative`` if it stays inside the export directory; a manifest cannot point elsewhere."""
    path = PurePosixPath(relative)
    if not relative or path.is_absolute() or ".." in path.parts or "\\" in relative:
        raise ArchiveError(f"the manifest names an unsafe path {relative!r}")
    return str(path)


def file_path(storage_key: str) -> str:
    """Where a stored file's bytes go inside the export: ``files/<storage key>``."""
    return safe_relative(f"{FILES_DIR}/{storage_key}")


def encode_vector(vector: Any) -> str:
    """A vector as base64 of its float32 little-endian bytes: exact, and ~1/3 the size of decimals."""
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def decode_vector(text: str, dim: int) -> np.ndarray:
    try:
        data = base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise ArchiveError("a chunk's vector is not valid base64") from None
    if len(data) != 4 * dim:
        raise ArchiveError(f"a chunk's vector has {len(data) // 4} dimensions, the manifest says {dim}")
    return np.frombuffer(data, dtype="<f4").astype(np.float32)


@dataclass
class Manifest:
    org: dict[str, Any]
    botwright_version: str
    created_at: str
    embedder: dict[str, Any]
    tables: list[str]
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    @property
    def counts(self) -> dict[str, int]:
        return {t: int(self.files[f"{t}.jsonl"].get("rows", 0)) for t in self.tables}

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "format_version": self.format_version,
            "botwright_version": self.botwright_version,
            "created_at": self.created_at,
            "org": self.org,
            "embedder": self.embedder,
            "options": self.options,
            "tables": self.tables,
            "counts": self.counts,
            "files": {name: self.files[name] for name in sorted(self.files)},
        }


def write_manifest(root: Path, manifest: Manifest) -> None:
    # Written last, through a temporary name: a directory without manifest.json is an unfinished export.
    temporary = root / (MANIFEST + ".partial")
    temporary.write_text(json.dumps(manifest.as_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, root / MANIFEST)


def load_manifest(root: Path, *, required_tables: Iterable[str] = ()) -> Manifest:
    """Read and check ``manifest.json`` (format, version, required keys); not the files' checksums."""
    path = root / MANIFEST
    if not root.is_dir():
        raise ArchiveError(f"{root} is not a directory")
    if not path.is_file():
        raise ArchiveError(f"{root} has no {MANIFEST}: the export is incomplete (or not an export)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArchiveError(f"{MANIFEST} is not valid JSON ({exc}); the export is corrupt") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ArchiveError(f"{MANIFEST} is not a Botwright org export (format must be {FORMAT!r})")
    version = data.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise ArchiveError(
            f"export format version {version!r} is not supported (this Botwright reads 1..{FORMAT_VERSION}); "
            "upgrade Botwright to import it"
        )
    missing = [
        key
        for key in ("org", "botwright_version", "created_at", "embedder", "tables", "files")
        if key not in data
    ]
    if missing:
        raise ArchiveError(f"{MANIFEST} lacks {', '.join(missing)}; the export is corrupt")
    org, files, tables = data["org"], data["files"], data["tables"]
    if not isinstance(org, dict) or "id" not in org or "name" not in org:
        raise ArchiveError(f"{MANIFEST} names no organisation id and name")
    if not isinstance(files, dict) or not isinstance(tables, list):
        raise ArchiveError(f"{MANIFEST} has malformed 'files' or 'tables'")
    for name, entry in files.items():
        safe_relative(name)
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise ArchiveError(f"{MANIFEST} entry for {name!r} has no sha256")
    for table in [*tables, *required_tables]:
        if f"{table}.jsonl" not in files:
            raise ArchiveError(f"{MANIFEST} lists no {table}.jsonl; the export is incomplete")
    return Manifest(
        org=org,
        botwright_version=str(data["botwright_version"]),
        created_at=str(data["created_at"]),
        embedder=data["embedder"] if isinstance(data["embedder"], dict) else {},
        tables=[str(t) for t in tables],
        files=files,
        options=data.get("options") or {},
        format_version=version,
    )


def verify(root: Path, manifest: Manifest) -> None:
    """Every file the manifest lists exists with its size and SHA-256; raise ArchiveError otherwise."""
    problems = []
    for name in sorted(manifest.files):
        entry = manifest.files[name]
        path = root / safe_relative(name)
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif path.stat().st_size != entry.get("bytes", path.stat().st_size):
            problems.append(f"{name} has {path.stat().st_size} bytes, the manifest says {entry['bytes']}")
        elif sha256_file(path) != entry["sha256"]:
            problems.append(f"{name} does not match its checksum")
        if len(problems) >= 10:
            break
    if problems:
        raise ArchiveError(
            "the export is corrupt or incomplete, nothing was imported: " + "; ".join(problems)
        )
