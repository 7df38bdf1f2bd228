"""export_org → the org deleted (or a fresh database) → import_org: the same search, answer and history.

Runs on the test database (SQLite, or PostgreSQL in CI) with the database vector store, and on S3
plus DynamoDB vectors against moto.
"""

from __future__ import annotations

import io
import json
import shutil

import boto3
import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User
from analytics.models import DailyMetrics
from bots.models import Bot
from bots.services import bot_avatar_set
from chat.models import BotApiKey, Conversation, Message
from chat.services import api_key_authenticate, api_key_create, chat_answer
from documents.models import Chunk, Document
from documents.retrieval import retrieve
from documents.services import document_process, document_upload
from importers import archive
from importers.backup_export import org_export, org_find
from importers.backup_import import ImportRefused, org_import
from integrations import storage
from integrations.vectors.factory import get_vector_store
from tenants.models import AuditEvent, Invitation, Membership, Organization, Role
from tenants.services import org_delete
from tests.conftest import S3_TEST_BUCKET
from tests.factories import add_member, make_user
from tests.test_local_platform import LocalPlatform
from tests.widget.images import png

pytestmark = pytest.mark.django_db

FAQ = b"""# Returns

Refunds are issued within 14 days of the parcel arriving at our warehouse.

# Opening hours

The office opens at 08:30 and closes at 18:00 from Monday to Friday.
"""
GUIDE = b"""# Kettle care

Descale the kettle every month with a mixture of water and white vinegar.

# Warranty

Every kettle carries a two year warranty covering the heating element.
"""
QUESTION = "When are refunds issued?"


@pytest.fixture
def populated(org, owner, bot):
    """An org with two members, an invitation, a configured bot, two documents, a key and a conversation."""
    editor = make_user("editor.backup@example.com", external_id="cognito-sub-editor")
    add_member(org, editor, Role.EDITOR)
    Invitation.objects.create(org=org, email="invitee@example.com", role=Role.VIEWER, invited_by=owner)
    bot.allowed_origins = ["https://shop.example.com"]
    bot.relevance_threshold = 0.1  # the fake embedder is lexical: unrelated text scores < 0.07 here
    bot.theme_color = "#123456"
    bot.suggested_questions = [QUESTION]
    bot.save()
    bot_avatar_set(bot=bot, user=owner, data=png())
    bot.refresh_from_db()
    for data, name in ((FAQ, "faq.md"), (GUIDE, "kettles.md")):
        document, _ = document_upload(bot=bot, user=editor, data=data, filename=name, enqueue=False)
        document_process(document_id=str(document.pk), org_id=str(bot.org_id))
    _, raw_key = api_key_create(bot=bot, user=owner, name="shop backend")
    first = chat_answer(bot=bot, message=QUESTION, user=owner)
    chat_answer(bot=bot, message="And the opening hours?", conversation=first.conversation, user=owner)
    return {"org": org, "bot": bot, "raw_key": raw_key, "conversation_id": first.conversation.pk}


def search(bot: Bot, query: str = QUESTION) -> list[tuple[str, str, float]]:
    return [(p.chunk_id, p.document_id, p.score) for p in retrieve(bot=bot, query=query, top_k=4)]


def texts_and_similarities(bot: Bot) -> list[tuple[str, float | None]]:
    passages = retrieve(bot=bot, query=QUESTION, top_k=4)
    return sorted((p.text, None if p.similarity is None else round(p.similarity, 6)) for p in passages)


def history(org_id, conversation_id) -> list[tuple]:
    messages = (
        Message.objects.for_org(org_id).filter(conversation_id=conversation_id).order_by("created_at", "id")
    )
    return [(m.pk, m.role, m.content, m.sources, m.created_at) for m in messages]


def answer(bot: Bot) -> tuple[str, list[dict]]:
    result = chat_answer(bot=bot, message=QUESTION)
    return result.message.content, result.sources


def stored_vectors(org) -> dict[str, np.ndarray]:
    store = get_vector_store()
    return {
        item.chunk_id: item.vector
        for d in Document.objects.for_org(org)
        for item in store.read_document(
            org_id=str(org.pk), bot_id=str(d.bot_id), document_id=str(d.pk), generation=d.active_generation
        )
    }


def assert_same_search(before, after):
    assert [(c, d) for c, d, _ in after] == [(c, d) for c, d, _ in before]
    assert [s for *_, s in after] == pytest.approx([s for *_, s in before], abs=1e-6)


def delete_everything(org, django_capture_on_commit_callbacks) -> None:
    """The org, its files and vectors (through the service and its after-commit purge) and its users."""
    user_ids = list(Membership.objects.filter(org=org).values_list("user_id", flat=True))
    bot_ids = [str(b) for b in Bot.objects.for_org(org).values_list("pk", flat=True)]
    with django_capture_on_commit_callbacks(execute=True):
        org_delete(org=Organization.objects.get(pk=org.pk), user=None)  # a copy: `org` keeps its pk
    User.objects.filter(pk__in=user_ids).delete()
    store = get_vector_store()
    assert all(store.count(org_id=str(org.pk), bot_id=b) == 0 for b in bot_ids)


def round_trip(populated, tmp_path, django_capture_on_commit_callbacks):
    org, bot = populated["org"], populated["bot"]
    before_search = search(bot)
    before_history = history(org.pk, populated["conversation_id"])
    before_answer = answer(bot)
    before_bot = Bot.objects.for_org(org).get(pk=bot.pk)
    documents = {d.pk: (d.storage_key, storage.read(d.storage_key)) for d in Document.objects.for_org(org)}
    before_vectors = stored_vectors(org)
    before_metrics = sorted(
        (str(m.day), m.channel, m.user_messages, m.assistant_messages)
        for m in DailyMetrics.objects.for_org(org)
    )
    assert before_metrics
    avatar = storage.read(before_bot.avatar_key)

    export = org_export(org=org, directory=tmp_path / "export")
    assert export.manifest.counts["chunks"] == Chunk.objects.for_org(org).count()
    assert export.manifest.counts["messages"] == 6  # three exchanges of two messages
    delete_everything(org, django_capture_on_commit_callbacks)
    assert not Organization.objects.filter(pk=org.pk).exists()
    assert not any(storage.exists(key) for key, _ in documents.values()) and not storage.exists(
        before_bot.avatar_key
    )

    result = org_import(directory=tmp_path / "export")

    # The analytics rows as they were (checked before the answer below counts another turn).
    assert before_metrics == sorted(
        (str(m.day), m.channel, m.user_messages, m.assistant_messages)
        for m in DailyMetrics.objects.for_org(org.pk)
    )
    assert result.org_id == str(org.pk) and result.users_created == 2 and result.users_matched == 0
    restored = Bot.objects.for_org(org.pk).get(pk=bot.pk)
    for name in (
        "public_id",
        "allowed_origins",
        "theme_color",
        "suggested_questions",
        "created_at",
        "avatar_key",
    ):
        assert getattr(restored, name) == getattr(before_bot, name), name
    for document_id, (key, data) in documents.items():
        assert Document.objects.for_org(org.pk).get(pk=document_id).storage_key == key
        assert storage.read(key) == data
    assert storage.read(restored.avatar_key) == avatar
    # The vectors are the exported ones, bit for bit: nothing was embedded again.
    after_vectors = stored_vectors(org)
    assert after_vectors.keys() == before_vectors.keys()
    assert all(np.array_equal(after_vectors[k], v) for k, v in before_vectors.items())
    assert_same_search(before_search, search(restored))
    assert history(org.pk, populated["conversation_id"]) == before_history
    after_answer = answer(restored)
    assert after_answer[0] == before_answer[0]
    assert [(s["document_id"], s["chunk_id"]) for s in after_answer[1]] == [
        (s["document_id"], s["chunk_id"]) for s in before_answer[1]
    ]
    # The API key still opens the same bot; the editor keeps their Cognito identity and role.
    assert api_key_authenticate(populated["raw_key"]).bot_id == bot.pk
    editor = User.objects.get(email="editor.backup@example.com")
    assert editor.external_id == "cognito-sub-editor" and not editor.has_usable_password()
    assert Membership.objects.get(org_id=org.pk, user=editor).role == Role.EDITOR
    assert Invitation.objects.filter(org_id=org.pk, email="invitee@example.com").exists()
    assert AuditEvent.objects.filter(org_id=org.pk, action="org.imported").exists()
    return result


def test_round_trip_on_the_database_store_gives_the_same_search_answer_and_history(
    populated, tmp_path, django_capture_on_commit_callbacks
):
    round_trip(populated, tmp_path, django_capture_on_commit_callbacks)


@pytest.fixture
def s3_and_dynamodb(s3_storage, dynamodb_store):
    return dynamodb_store


def test_round_trip_on_s3_and_dynamodb(
    s3_and_dynamodb, populated, tmp_path, django_capture_on_commit_callbacks
):
    org_id = populated["org"].pk
    round_trip(populated, tmp_path, django_capture_on_commit_callbacks)
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=S3_TEST_BUCKET)["Contents"]]
    assert len(keys) == 3 and all(key.startswith(f"{org_id}/") for key in keys)  # two documents, an avatar


def test_export_is_deterministic_and_holds_vectors_and_files(populated, tmp_path):
    org = populated["org"]
    first = org_export(org=org, directory=tmp_path / "one").manifest
    second = org_export(org=org, directory=tmp_path / "two").manifest
    assert {k: v for k, v in first.files.items()} == second.files
    chunk = next(archive.read_jsonl(tmp_path / "one" / "chunks.jsonl"))
    assert len(archive.decode_vector(chunk["vector"], first.embedder["dim"])) == first.embedder["dim"]
    users = list(archive.read_jsonl(tmp_path / "one" / "users.jsonl"))
    assert users and all("password" not in u for u in users)
    assert sum(1 for name in first.files if name.startswith("files/")) == 3  # two documents, an avatar


def test_org_found_by_exact_name_and_an_ambiguous_name_is_refused(populated, tmp_path):
    org = populated["org"]
    assert org_find(ref=org.name) == org and org_find(ref=str(org.pk)) == org
    Organization.objects.create(name=org.name)
    with pytest.raises(CommandError, match="organisations are called"):
        call_command("export_org", org.name, "--output", str(tmp_path / "x"))


@pytest.fixture
def exported(populated, tmp_path):
    org_export(org=populated["org"], directory=tmp_path / "export")
    return tmp_path / "export"


def test_an_existing_org_is_refused_and_nothing_changes(populated, exported):
    before = Message.objects.for_org(populated["org"]).count()
    with pytest.raises(ImportRefused, match="already exists. Pass --replace"):
        org_import(directory=exported)
    with pytest.raises(CommandError, match="already exists"):
        call_command("import_org", str(exported))
    assert Message.objects.for_org(populated["org"]).count() == before
    assert Organization.objects.filter(name=populated["org"].name).count() == 1


def test_replace_restores_the_export_over_later_changes(populated, exported):
    org, bot = populated["org"], populated["bot"]
    before = search(bot)
    chat_answer(bot=bot, message="Something after the backup")
    Bot.objects.for_org(org).filter(pk=bot.pk).update(theme_color="#000000")
    result = org_import(directory=exported, replace=True)
    assert result.users_matched == 2 and result.users_created == 0
    assert Conversation.objects.for_org(org).count() == 1
    restored = Bot.objects.for_org(org).get(pk=bot.pk)
    assert restored.theme_color == "#123456"
    assert_same_search(before, search(restored))


def test_new_id_imports_a_consistent_copy_beside_the_original(populated, exported):
    org, bot = populated["org"], populated["bot"]
    result = org_import(directory=exported, new_id=True)
    assert result.org_id != str(org.pk) and result.users_matched == 2
    copy = Bot.objects.for_org(result.org_id).get()
    assert copy.pk != bot.pk and copy.public_id != bot.public_id and copy.name == bot.name
    assert not BotApiKey.objects.for_org(result.org_id).exists()
    assert copy.avatar_key.startswith(f"{result.org_id}/{copy.pk}/avatar/") and storage.exists(
        copy.avatar_key
    )
    for document in Document.objects.for_org(result.org_id):
        assert document.storage_key.startswith(f"{result.org_id}/{copy.pk}/{document.pk}/")
        assert storage.exists(document.storage_key)
    copied = search(copy)
    # Fresh ids reorder ties (broken by id), so compare what was found, not the rank of equals.
    assert texts_and_similarities(copy) == texts_and_similarities(bot)
    chunk_ids = {str(pk) for pk in Chunk.objects.for_org(result.org_id).values_list("pk", flat=True)}
    assert {c for c, _, _ in copied} <= chunk_ids
    sources = [s for m in Message.objects.for_org(result.org_id) for s in m.sources]
    assert sources and all(s["chunk_id"] in chunk_ids for s in sources)
    assert search(bot) == search(bot)  # the original is untouched


def test_a_tampered_file_is_refused_before_anything_is_written(
    populated, exported, django_capture_on_commit_callbacks
):
    delete_everything(populated["org"], django_capture_on_commit_callbacks)
    path = exported / "chunks.jsonl"
    path.write_text(path.read_text().replace("Refunds", "Refundz"))
    with pytest.raises(CommandError, match="chunks.jsonl does not match its checksum"):
        call_command("import_org", str(exported))
    assert not Organization.objects.filter(pk=populated["org"].pk).exists()
    assert not User.objects.filter(email="editor.backup@example.com").exists()


def test_a_corrupt_or_partial_export_is_refused(populated, exported, tmp_path):
    (exported / "manifest.json").write_text("{")
    with pytest.raises(ImportRefused, match="not valid JSON"):
        org_import(directory=exported, replace=True)
    partial = tmp_path / "partial"
    shutil.copytree(exported.parent / "export", partial)
    (partial / "manifest.json").unlink()
    with pytest.raises(ImportRefused, match="no manifest.json"):
        org_import(directory=partial, replace=True)
    assert Conversation.objects.for_org(populated["org"]).count() == 1  # --replace deleted nothing


def test_a_failure_midway_rolls_back_rows_files_and_vectors(
    populated, exported, django_capture_on_commit_callbacks, monkeypatch
):
    org = populated["org"]
    bot_id = str(populated["bot"].pk)
    keys = [d.storage_key for d in Document.objects.for_org(org)]
    delete_everything(org, django_capture_on_commit_callbacks)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("importers.backup_import._import_rows", _failing_after("messages", broken))
    with pytest.raises(RuntimeError, match="disk full"):
        org_import(directory=exported)
    assert not Organization.objects.filter(pk=org.pk).exists()
    assert not any(storage.exists(key) for key in keys)
    assert get_vector_store().count(org_id=str(org.pk), bot_id=bot_id) == 0


def _failing_after(table_name, failure):
    from importers import backup_import

    real = backup_import._import_rows

    def wrapper(run, table):
        if table == table_name:
            failure()
        return real(run, table)

    return wrapper


def test_dry_run_writes_nothing(populated, exported, django_capture_on_commit_callbacks):
    delete_everything(populated["org"], django_capture_on_commit_callbacks)
    result = org_import(directory=exported, dry_run=True)
    assert result.dry_run and result.counts["chunks"] > 0 and result.vectors == result.counts["chunks"]
    assert not Organization.objects.filter(pk=populated["org"].pk).exists()
    assert not User.objects.filter(email="editor.backup@example.com").exists()


def test_another_embedder_is_refused_unless_reembed(populated, exported):
    manifest = json.loads((exported / "manifest.json").read_text())
    manifest["embedder"] = {"name": "gemini-embedding-001", "dim": 768}
    (exported / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ImportRefused, match="Pass --reembed"):
        org_import(directory=exported, new_id=True)


@pytest.mark.slow
def test_import_into_a_freshly_migrated_sqlite_database_answers_the_same(populated, tmp_path):
    bot = populated["bot"]
    before = search(bot)
    org_export(org=populated["org"], directory=tmp_path / "export")
    platform = LocalPlatform(tmp_path, f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    platform.manage("migrate", "--no-input")
    out = platform.manage("import_org", str(tmp_path / "export"), "--json")
    assert json.loads(out.strip().splitlines()[-1])["org_id"] == str(bot.org_id)
    script = (
        "import json; from bots.models import Bot; from documents.retrieval import retrieve; "
        f"bot = Bot.objects.for_org('{bot.org_id}').get(pk='{bot.pk}'); "
        f"hits = retrieve(bot=bot, query={QUESTION!r}, top_k=4); "
        "print(json.dumps([[p.chunk_id, p.document_id, p.score] for p in hits]))"
    )
    after = [
        tuple(hit) for hit in json.loads(platform.manage("shell", "-c", script).strip().splitlines()[-1])
    ]
    assert_same_search(before, after)


def test_reembed_imports_without_vectors_and_reindexes_every_document(
    populated, exported, django_capture_on_commit_callbacks
):
    org, bot = populated["org"], populated["bot"]
    before = search(bot)
    manifest = json.loads((exported / "manifest.json").read_text())
    manifest["embedder"] = {"name": "another-model", "dim": 8}
    (exported / "manifest.json").write_text(json.dumps(manifest))
    delete_everything(org, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        result = org_import(directory=exported, reembed=True)
    assert result.vectors == 0 and result.queued == 2
    documents = list(Document.objects.for_org(org.pk))
    assert [d.status for d in documents] == ["ready", "ready"]
    restored = Bot.objects.for_org(org.pk).get(pk=bot.pk)
    # Re-indexed into a new generation with new chunk ids: the same passages, found the same way.
    assert [d for _, d, _ in search(restored)] == [d for _, d, _ in before]
    assert [s for *_, s in search(restored)] == pytest.approx([s for *_, s in before], abs=1e-6)


def test_dry_run_with_replace_checks_an_existing_org_and_changes_nothing(populated, exported):
    org, bot = populated["org"], populated["bot"]
    chat_answer(bot=bot, message="Something after the backup")
    before = (Conversation.objects.for_org(org).count(), search(bot))
    result = org_import(directory=exported, replace=True, dry_run=True)
    assert result.dry_run and result.counts["conversations"] == 1 and result.users_matched == 2
    assert (Conversation.objects.for_org(org).count(), search(bot)) == before
    assert all(storage.exists(d.storage_key) for d in Document.objects.for_org(org))


def test_a_document_exported_while_pending_is_processed_after_the_import(
    populated, tmp_path, django_capture_on_commit_callbacks
):
    org, bot = populated["org"], populated["bot"]
    document, _ = document_upload(
        bot=bot, user=None, data=b"# Late\n\nShipping is free.\n", filename="late.md", enqueue=False
    )
    org_export(org=org, directory=tmp_path / "export")
    delete_everything(org, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        result = org_import(directory=tmp_path / "export")
    assert result.queued == 1
    restored = Document.objects.for_org(org.pk).get(pk=document.pk)
    assert restored.status == "ready" and restored.chunk_count == 1


def test_password_hashes_travel_only_when_asked(populated, tmp_path, django_capture_on_commit_callbacks):
    org = populated["org"]
    org_export(org=org, directory=tmp_path / "with", include_password_hashes=True)
    users = list(archive.read_jsonl(tmp_path / "with" / "users.jsonl"))
    assert all(u["password"] for u in users)
    delete_everything(org, django_capture_on_commit_callbacks)
    org_import(directory=tmp_path / "with")
    assert User.objects.get(email="editor.backup@example.com").check_password("pw-123456")


def test_export_command_refuses_a_directory_that_is_not_empty(populated, tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("keep me")
    with pytest.raises(CommandError, match="is not empty"):
        call_command("export_org", str(populated["org"].pk), "--output", str(tmp_path / "used"))
    assert (tmp_path / "used" / "notes.txt").read_text() == "keep me"


@pytest.mark.django_db(transaction=True)
def test_export_outside_any_transaction_reads_one_snapshot_and_round_trips(tmp_path, owner, bot):
    """As the command runs it (autocommit): on PostgreSQL the export's own REPEATABLE READ transaction."""
    document, _ = document_upload(bot=bot, user=owner, data=FAQ, filename="faq.md", enqueue=False)
    document_process(document_id=str(document.pk), org_id=str(bot.org_id))
    before = search(bot)
    call_command("export_org", str(bot.org_id), "--output", str(tmp_path / "export"))
    org_delete(org=Organization.objects.get(pk=bot.org_id), user=None)  # commits: the purge runs
    assert not storage.exists(document.storage_key)
    call_command("import_org", str(tmp_path / "export"))
    assert_same_search(before, search(Bot.objects.for_org(bot.org_id).get(pk=bot.pk)))
    assert storage.exists(document.storage_key)


def test_a_row_this_platform_cannot_read_is_refused_and_nothing_is_written(
    populated, exported, django_capture_on_commit_callbacks
):
    org = populated["org"]
    keys = [d.storage_key for d in Document.objects.for_org(org)]
    delete_everything(org, django_capture_on_commit_callbacks)
    # A hand-edited export whose manifest was updated to match: the checksums pass, the row does not.
    path = exported / "messages.jsonl"
    rows = list(archive.read_jsonl(path))
    rows[-1]["created_at"] = "yesterday"
    manifest = json.loads((exported / "manifest.json").read_text())
    manifest["files"]["messages.jsonl"] = archive.write_jsonl(path, rows).as_dict()
    (exported / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CommandError, match="cannot read .*nothing was imported"):
        call_command("import_org", str(exported))
    assert not Organization.objects.filter(pk=org.pk).exists()
    assert not any(storage.exists(key) for key in keys)
    assert get_vector_store().count(org_id=str(org.pk), bot_id=str(populated["bot"].pk)) == 0


def test_a_file_already_missing_from_storage_is_reported_and_the_row_kept(populated, tmp_path):
    document = Document.objects.for_org(populated["org"]).order_by("created_at").first()
    storage.delete(document.storage_key)
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "export_org", str(populated["org"].pk), "--output", str(tmp_path / "e"), stdout=out, stderr=err
    )
    assert f"warning: {document.storage_key} is not in storage" in err.getvalue()
    manifest = archive.load_manifest(tmp_path / "e")
    assert manifest.options["missing_files"] == [document.storage_key]
    assert any(r["id"] == str(document.pk) for r in archive.read_jsonl(tmp_path / "e" / "documents.jsonl"))
