"""The mapping file and the report: pure logic, no database."""

from __future__ import annotations

import json

import pytest

from importers.commands import parse_since
from importers.mapping import build_mapping, load_mapping, payload_value
from importers.report import ImportReport
from tenants.errors import InvalidInput


def test_defaults_read_the_supabase_schema_and_the_usual_payload():
    mapping = load_mapping(None)
    assert mapping.supabase.users.label == "auth.users"
    assert mapping.supabase.bots.columns["welcome_message"] == "welcome_message"
    assert mapping.supabase.documents.label == "public.documents"
    assert mapping.supabase.organization is None
    assert mapping.qdrant.payload["text"] == "text" and mapping.qdrant.vector is None


def test_a_yaml_file_overrides_only_what_it_names(tmp_path):
    path = tmp_path / "mapping.yaml"
    path.write_text(
        "supabase:\n"
        "  bots:\n"
        "    table: app.chatbots\n"
        "    columns: {user_id: owner_id, welcome_message: greeting, model: null}\n"
        "  organization: Acme\n"
        "qdrant:\n"
        "  payload: {text: page_content, document_id: metadata.doc_id}\n"
        "  vector: dense\n"
    )
    mapping = load_mapping(path)
    bots = mapping.supabase.bots
    assert (bots.schema, bots.name) == ("app", "chatbots")
    assert bots.columns["user_id"] == "owner_id" and bots.columns["model"] is None
    assert bots.columns["name"] == "name"  # untouched default
    assert mapping.supabase.organization == {"name": "Acme"}
    assert mapping.qdrant.payload["document_id"] == "metadata.doc_id"
    assert mapping.qdrant.payload["bot_id"] == "bot_id"
    assert mapping.qdrant.vector == "dense"


def test_a_json_file_works_too(tmp_path):
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps({"supabase": {"documents": {"columns": {"storage_path": "path"}}}}))
    assert load_mapping(path).supabase.documents.columns["storage_path"] == "path"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"supabase": {"bot": {}}}, "unknown key 'bot'"),
        ({"supabase": {"bots": {"columns": {"nmae": "x"}}}}, "unknown key 'nmae'"),
        ({"supabase": {"bots": {"columns": {"name": None}}}}, "must map name"),
        ({"supabase": {"users": {"table": "auth.users; drop table x"}}}, "is not a schema.table name"),
        ({"supabase": {"bots": {"columns": {"name": 'title"; --'}}}}, "is not a column name"),
        ({"supabase": {"member_role": "god"}}, "member_role must be one of"),
        ({"supabase": {"storage_base_url": "file:///etc"}}, "must be an http(s) URL"),
        ({"qdrant": {"payload": {"text": None}}}, "qdrant.payload.text cannot be empty"),
        ([1, 2], "must be an object"),
    ],
)
def test_bad_mappings_say_what_is_wrong(raw, message):
    with pytest.raises(InvalidInput) as excinfo:
        build_mapping(raw)
    assert message in excinfo.value.message


def test_unreadable_and_malformed_files_are_clear_errors(tmp_path):
    with pytest.raises(InvalidInput, match="Cannot read the mapping file"):
        load_mapping(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("supabase: [unclosed\n")
    with pytest.raises(InvalidInput, match="not valid YAML"):
        load_mapping(broken)


def test_payload_paths_reach_into_nested_objects():
    payload = {"text": "hi", "metadata": {"doc_id": "d1", "page": 3}}
    assert payload_value(payload, "text") == "hi"
    assert payload_value(payload, "metadata.doc_id") == "d1"
    assert payload_value(payload, "metadata.missing") is None
    assert payload_value(None, "text") is None and payload_value(payload, None) is None


def test_since_accepts_dates_and_times_and_defaults_to_utc():
    assert parse_since("2025-01-31").isoformat() == "2025-01-31T00:00:00+00:00"
    assert parse_since("2025-01-31T12:30:00+02:00").utcoffset().total_seconds() == 7200
    assert parse_since(None) is None
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not an ISO date"):
        parse_since("last tuesday")


def test_report_counts_outcomes_and_fails_on_failures_and_failed_checks(tmp_path):
    report = ImportReport("import_x")
    users = report.entity("users")
    users.read = 3
    users.add("created", "u1")
    users.add("skipped", "u2", "user without email")
    users.note("u1", "temperature clamped")
    assert report.ok and report.failed == 0
    users.add("failed", "u3", "file missing")
    report.check("vectors_read_back", passed=False, min_cosine=0.5)
    assert report.failed == 2 and not report.ok
    text = report.render()
    assert "skipped: users u2: user without email" in text and "check vectors_read_back: FAILED" in text
    report.write_json(tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["entities"]["users"]["created"] == 1 and data["failed"] == 2 and data["ok"] is False
    assert data["entities"]["users"]["problems"][0] == {
        "source_id": "u2",
        "outcome": "skipped",
        "reason": "user without email",
    }


def test_a_dry_run_report_says_so():
    report = ImportReport("import_x", dry_run=True)
    report.entity("bots").add("created", "b1")
    assert report.render().startswith("DRY RUN — nothing was written.")
    assert "would create" in report.render()
