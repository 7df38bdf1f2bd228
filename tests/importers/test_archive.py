"""The org export format without a database: JSON lines, checksums, the manifest and its checks."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import numpy as np
import pytest

from importers import archive
from importers.archive import ArchiveError, Manifest


def _export(tmp_path, rows=None):
    entry = archive.write_jsonl(tmp_path / "bots.jsonl", rows or [{"id": "b1", "name": "Help"}])
    stored = archive.write_file(tmp_path, archive.file_path("o/b/d/faq.md"), b"# FAQ\n")
    manifest = Manifest(
        org={"id": "o", "name": "Acme"},
        botwright_version="0.1.0",
        created_at="2026-12-01T00:00:00+00:00",
        embedder={"name": "fake", "dim": 4},
        tables=["bots"],
        files={"bots.jsonl": entry.as_dict(), "files/o/b/d/faq.md": stored.as_dict()},
    )
    archive.write_manifest(tmp_path, manifest)
    return manifest


def test_jsonl_round_trips_rows_deterministically_with_dates_uuids_and_unicode(tmp_path):
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    ident = uuid.UUID(int=7)
    rows = [{"b": 1, "a": when, "id": ident, "text": "Grüße ✓"}, {"a": None}]
    first = archive.write_jsonl(tmp_path / "one.jsonl", rows)
    second = archive.write_jsonl(tmp_path / "two.jsonl", rows)
    assert first.sha256 == second.sha256 == archive.sha256_file(tmp_path / "one.jsonl")
    assert first.rows == 2 and first.bytes == (tmp_path / "one.jsonl").stat().st_size
    read = list(archive.read_jsonl(tmp_path / "one.jsonl"))
    assert read == [{"a": when.isoformat(), "b": 1, "id": str(ident), "text": "Grüße ✓"}, {"a": None}]
    assert (tmp_path / "one.jsonl").read_text(encoding="utf-8").splitlines()[0].startswith('{"a":')


def test_read_jsonl_names_the_file_and_line_of_a_bad_row(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"ok": 1}\n{"broken": \n', encoding="utf-8")
    with pytest.raises(ArchiveError, match="bad.jsonl line 2"):
        list(archive.read_jsonl(tmp_path / "bad.jsonl"))


def test_vectors_are_encoded_exactly_and_a_wrong_dimension_is_refused():
    vector = np.random.default_rng(1).standard_normal(384).astype(np.float32)
    decoded = archive.decode_vector(archive.encode_vector(vector), 384)
    assert np.array_equal(decoded, vector) and decoded.dtype == np.float32
    with pytest.raises(ArchiveError, match="384 dimensions, the manifest says 8"):
        archive.decode_vector(archive.encode_vector(vector), 8)


def test_manifest_round_trips_and_verifies(tmp_path):
    written = _export(tmp_path)
    loaded = archive.load_manifest(tmp_path, required_tables=["bots"])
    assert loaded.org == written.org and loaded.counts == {"bots": 1}
    assert json.loads((tmp_path / "manifest.json").read_text())["counts"] == {"bots": 1}
    archive.verify(tmp_path, loaded)  # raises on any problem


def test_a_tampered_file_fails_verification_naming_it(tmp_path):
    _export(tmp_path)
    (tmp_path / "files/o/b/d/faq.md").write_bytes(b"# FAX\n")
    with pytest.raises(ArchiveError, match="files/o/b/d/faq.md does not match its checksum"):
        archive.verify(tmp_path, archive.load_manifest(tmp_path))


def test_a_missing_or_truncated_file_fails_verification(tmp_path):
    _export(tmp_path)
    (tmp_path / "files/o/b/d/faq.md").unlink()
    (tmp_path / "bots.jsonl").write_bytes(b"{}")
    with pytest.raises(ArchiveError) as excinfo:
        archive.verify(tmp_path, archive.load_manifest(tmp_path))
    assert "bots.jsonl has 2 bytes" in str(excinfo.value) and "faq.md is missing" in str(excinfo.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "has no manifest.json"),
        ("{not json", "not valid JSON"),
        ('{"format": "zip"}', "not a Botwright org export"),
        ('{"format": "botwright-org-export", "format_version": 99}', "version 99 is not supported"),
        ('{"format": "botwright-org-export", "format_version": 1, "org": {}}', "lacks"),
    ],
)
def test_a_corrupt_or_foreign_manifest_is_refused_clearly(tmp_path, content, message):
    if content is not None:
        (tmp_path / "manifest.json").write_text(content)
    with pytest.raises(ArchiveError, match=message):
        archive.load_manifest(tmp_path)


def test_a_manifest_cannot_point_outside_the_export_or_drop_a_table(tmp_path):
    manifest = _export(tmp_path)
    data = json.loads((tmp_path / "manifest.json").read_text())
    data["files"]["../../etc/passwd"] = {"sha256": "0" * 64, "bytes": 1}
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(ArchiveError, match="unsafe path"):
        archive.load_manifest(tmp_path)
    archive.write_manifest(tmp_path, manifest)
    with pytest.raises(ArchiveError, match="lists no documents.jsonl"):
        archive.load_manifest(tmp_path, required_tables=["bots", "documents"])
