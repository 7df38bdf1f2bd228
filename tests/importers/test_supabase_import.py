"""import_supabase against a Supabase-shaped schema created by real SQL in the PostgreSQL test database.

Skipped on SQLite (the source is Postgres). Passwords are bcrypt hashes made by the `bcrypt` library
the way Supabase Auth writes them (`$2a$10$`).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User
from bots.models import Bot
from documents.models import Document
from importers import demo
from importers.mapping import load_mapping
from importers.models import ImportedRecord, Kind
from importers.supabase import supabase_import
from importers.supabase_source import FileSource, SupabaseSource
from tenants.models import AuditEvent, Membership, Organization

from .conftest import storage_keys, world_counts, write_file

pytestmark = pytest.mark.django_db

WARRANTY = "# Warranty\n\nThe RoboVac has a two-year warranty on the motor and battery.\n"
RETURNS = "# Returns\n\nRefunds are issued within 14 days of the parcel reaching our warehouse.\n"


class Killed(BaseException):
    """A run stopped from outside (SIGINT, a killed container): not an error the import handles."""


def _run(dsn, *args, capture=None):
    """call_command, with document processing (queued on commit) run as a real run would."""
    from io import StringIO

    out = StringIO()
    with capture(execute=True):
        call_command("import_supabase", "--dsn", dsn, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def run(source_db, django_capture_on_commit_callbacks):
    def _call(*args):
        return _run(source_db.dsn_for_import, *args, capture=django_capture_on_commit_callbacks)

    return _call


@pytest.fixture
def project(source_db, storage_dir):
    """Two good users with bots and documents, plus every kind of bad row the issue names."""
    conn = source_db
    ada = demo.insert_user(conn, email="Ada@Acme.example", password="correct horse", name="Ada Lovelace")
    grace = demo.insert_user(conn, email="grace@acme.example", password="navy-cobol", name="Grace Hopper")
    banned = demo.insert_user(
        conn, email="mallory@acme.example", password="x", banned_until=datetime.now(UTC) + timedelta(days=30)
    )
    deleted = demo.insert_user(conn, email="gone@acme.example", password="x", deleted_at=datetime.now(UTC))
    no_email = demo.insert_user(conn, email=None, password=None)
    anonymous = demo.insert_user(conn, email=None, is_anonymous=True)
    support = demo.insert_bot(
        conn,
        user_id=ada,
        name="Acme Support",
        description="Customer support",
        system_prompt="Answer from the knowledge base.",
        welcome_message="Hi, ask me anything.",
        model="gpt-4o-mini",
        temperature=3.5,
    )
    scratch = demo.insert_bot(
        conn, user_id=grace, name="Scratchpad", model="gemini-2.5-flash-lite", temperature=0.5
    )
    orphan = demo.insert_bot(conn, user_id="7b7b7b7b-0000-4000-8000-000000000000", name="Orphan")
    banned_bot = demo.insert_bot(conn, user_id=banned, name="Mallory's bot")
    warranty = demo.insert_document(
        conn,
        bot_id=support,
        filename="warranty.md",
        storage_path=write_file(storage_dir, f"{ada}/w.md", WARRANTY),
    )
    returns = demo.insert_document(
        conn,
        bot_id=support,
        filename="returns.md",
        storage_path=write_file(storage_dir, f"{ada}/r.md", RETURNS),
    )
    orphan_doc = demo.insert_document(conn, bot_id=orphan, filename="o.md", storage_path="nowhere/o.md")
    return {
        "users": {
            "ada": ada,
            "grace": grace,
            "banned": banned,
            "deleted": deleted,
            "no_email": no_email,
            "anonymous": anonymous,
        },
        "bots": {"support": support, "scratch": scratch, "orphan": orphan, "banned": banned_bot},
        "documents": {"warranty": warranty, "returns": returns, "orphan": orphan_doc},
    }


def _report(tmp_path, name="report.json"):
    return json.loads((tmp_path / name).read_text())


def _basic(client, email, password):
    token = base64.b64encode(f"{email}:{password}".encode()).decode()
    return client.get("/api/auth/me/", HTTP_AUTHORIZATION=f"Basic {token}")


def test_import_brings_users_orgs_bots_and_documents_and_reports_bad_rows(
    run, project, storage_dir, tmp_path, client
):
    output = run("--storage-dir", str(storage_dir), "--report", str(tmp_path / "report.json"))
    report = _report(tmp_path)
    users, bots, documents = (report["entities"][e] for e in ("users", "bots", "documents"))
    assert (users["read"], users["created"], users["skipped"], users["failed"]) == (6, 2, 4, 0)
    reasons = {p["source_id"]: p["reason"] for p in users["problems"]}
    assert "banned in Supabase until" in reasons[project["users"]["banned"]]
    assert "soft-deleted in Supabase" in reasons[project["users"]["deleted"]]
    assert reasons[project["users"]["no_email"]] == "user without email"
    assert reasons[project["users"]["anonymous"]].startswith("anonymous user")
    assert (bots["read"], bots["created"], bots["skipped"], bots["failed"]) == (4, 2, 2, 0)
    bot_reasons = {p["source_id"]: p["reason"] for p in bots["problems"]}
    assert "was not imported" in bot_reasons[project["bots"]["orphan"]]
    assert "banned in Supabase" in bot_reasons[project["bots"]["banned"]]
    assert (documents["read"], documents["created"], documents["skipped"], documents["failed"]) == (
        3,
        2,
        1,
        0,
    )
    assert report["failed"] == 0 and report["ok"] is True
    assert "failed: 0" in output

    ada = User.objects.get(email="ada@acme.example")
    assert ada.name == "Ada Lovelace" and ada.password.startswith("bcrypt$$2a$10$")
    # Each user owns a personal org named after them; their bots live there.
    ada_org = Organization.objects.get(memberships__user=ada)
    assert ada_org.name == "Ada Lovelace"
    assert Membership.objects.get(org=ada_org, user=ada).role == "owner"
    support = Bot.objects.for_org(ada_org).get()
    assert support.name == "Acme Support" and support.greeting == "Hi, ask me anything."
    assert support.temperature == 2.0 and support.model_name == ""  # clamped; not a Gemini model
    notes = " ".join(n["note"] for n in bots["notes"])
    assert (
        "temperature 3.5 clamped to 2" in notes and "'gpt-4o-mini' is not allowed on this deployment" in notes
    )
    grace_bot = Bot.objects.for_org(Organization.objects.get(name="Grace Hopper")).get()
    assert grace_bot.model_name == "gemini-2.5-flash-lite" and grace_bot.temperature == 0.5
    # Documents were stored and processed like any upload.
    docs = Document.objects.for_org(ada_org).filter(bot=support)
    assert sorted(d.filename for d in docs) == ["returns.md", "warranty.md"]
    assert {d.status for d in docs} == {"ready"} and all(d.chunk_count > 0 for d in docs)
    assert all(d.storage_key.startswith(f"{ada_org.pk}/{support.pk}/") for d in docs)
    assert len(storage_keys()) == 2
    # Tenant safety: every record sits in the org of the row it points at.
    for record in ImportedRecord.all_orgs.filter(kind__in=[Kind.BOT, Kind.DOCUMENT]):
        model = Bot if record.kind == Kind.BOT else Document
        assert model.objects.for_org(record.org_id).filter(pk=record.target_id).exists()
    assert not User.objects.filter(email__in=["mallory@acme.example", "gone@acme.example"]).exists()

    # The migrated user signs in with the old password through the API, and it is then re-hashed.
    assert _basic(client, "ada@acme.example", "wrong").status_code in (401, 403)
    response = _basic(client, "ada@acme.example", "correct horse")
    assert response.status_code == 200 and response.json()["email"] == "ada@acme.example"
    ada.refresh_from_db()
    assert ada.password.startswith("md5$")


def test_dry_run_changes_nothing(run, project, storage_dir, tmp_path):
    before = world_counts()
    output = run("--storage-dir", str(storage_dir), "--dry-run", "--report", str(tmp_path / "report.json"))
    assert world_counts() == before
    assert output.startswith("DRY RUN — nothing was written.")
    report = _report(tmp_path)
    assert report["dry_run"] is True
    assert report["entities"]["users"]["created"] == 2 and report["entities"]["users"]["skipped"] == 4
    assert report["entities"]["bots"]["created"] == 2 and report["entities"]["documents"]["created"] == 2


def test_second_run_changes_nothing(run, project, storage_dir, tmp_path):
    run("--storage-dir", str(storage_dir))
    before = world_counts()
    audit_before = AuditEvent.objects.count()
    passwords = dict(User.objects.values_list("email", "password"))
    run("--storage-dir", str(storage_dir), "--report", str(tmp_path / "again.json"))
    assert world_counts() == before and AuditEvent.objects.count() == audit_before
    assert dict(User.objects.values_list("email", "password")) == passwords
    report = _report(tmp_path, "again.json")
    for entity in ("users", "bots", "documents"):
        counts = report["entities"][entity]
        assert counts["created"] == counts["updated"] == counts["failed"] == 0, entity
    assert report["entities"]["users"]["unchanged"] == 2 and report["entities"]["documents"]["unchanged"] == 2


def test_since_picks_up_an_edited_bot_and_a_new_document_only(run, project, source_db, storage_dir, tmp_path):
    run("--storage-dir", str(storage_dir))
    cutoff = datetime.now(UTC)
    later = cutoff + timedelta(seconds=5)
    source_db.execute(
        "UPDATE public.bots SET system_prompt = 'Be brief.', updated_at = %s WHERE id = %s",
        (later, project["bots"]["support"]),
    )
    path = write_file(storage_dir, "ada/shipping.md", "# Shipping\n\nOrders ship the same working day.\n")
    new_doc = demo.insert_document(
        source_db,
        bot_id=project["bots"]["support"],
        filename="shipping.md",
        storage_path=path,
        created_at=later,
    )
    run(
        "--storage-dir",
        str(storage_dir),
        "--since",
        cutoff.isoformat(),
        "--report",
        str(tmp_path / "sync.json"),
    )
    report = _report(tmp_path, "sync.json")
    users, bots, documents = (report["entities"][e] for e in ("users", "bots", "documents"))
    assert users["read"] == 0
    assert (bots["read"], bots["updated"]) == (1, 1)
    assert (documents["read"], documents["created"]) == (1, 1)
    support = Bot.all_orgs.get(name="Acme Support")
    assert support.system_prompt == "Be brief."
    record = ImportedRecord.all_orgs.get(kind=Kind.DOCUMENT, source_id=new_doc)
    assert Document.objects.for_org(record.org_id).get(pk=record.target_id).bot_id == support.pk


def test_a_run_killed_half_way_is_finished_by_the_next_run(
    project, source_db, storage_dir, tmp_path, django_capture_on_commit_callbacks
):
    mapping = load_mapping(None).supabase

    def stop_after_first_user_batch(entity, number):
        if entity == "users" and number == 1:
            raise Killed()

    files = FileSource(storage_dir=storage_dir, base_url=None, max_bytes=10_000_000)
    with SupabaseSource(source_db.dsn_for_import, mapping) as source, pytest.raises(Killed):
        supabase_import(
            source=source, files=files, mapping=mapping, batch_size=2, after_batch=stop_after_first_user_batch
        )
    # The first batch (two users) committed; nothing after it.
    assert ImportedRecord.all_orgs.filter(kind=Kind.USER).count() == 2
    assert not Bot.all_orgs.exists()
    _run(
        source_db.dsn_for_import,
        "--storage-dir",
        str(storage_dir),
        "--report",
        str(tmp_path / "r.json"),
        capture=django_capture_on_commit_callbacks,
    )
    report = _report(tmp_path, "r.json")
    assert report["failed"] == 0
    assert User.objects.filter(email__in=["ada@acme.example", "grace@acme.example"]).count() == 2
    assert Bot.all_orgs.count() == 2 and Document.all_orgs.filter(status="ready").count() == 2
    assert ImportedRecord.all_orgs.filter(kind=Kind.USER).count() == 2


def test_a_missing_file_fails_the_run_with_a_reason_and_a_json_report(
    run, project, source_db, storage_dir, tmp_path
):
    demo.insert_document(
        source_db, bot_id=project["bots"]["support"], filename="lost.pdf", storage_path="ada/lost.pdf"
    )
    with pytest.raises(CommandError) as excinfo:
        run("--storage-dir", str(storage_dir), "--report", str(tmp_path / "report.json"))
    assert excinfo.value.returncode == 1 and "1 row(s) or check(s) failed" in str(excinfo.value)
    report = _report(tmp_path)
    problem = next(p for p in report["entities"]["documents"]["problems"] if p["outcome"] == "failed")
    assert "does not exist in the storage export" in problem["reason"]
    assert report["entities"]["documents"]["created"] == 2  # the rest imported


def test_storage_paths_cannot_escape_the_export(run, project, source_db, storage_dir, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not import me")
    demo.insert_document(
        source_db, bot_id=project["bots"]["support"], filename="x.txt", storage_path="../secret.txt"
    )
    with pytest.raises(CommandError):
        run("--storage-dir", str(storage_dir), "--report", str(tmp_path / "report.json"))
    reasons = [p["reason"] for p in _report(tmp_path)["entities"]["documents"]["problems"]]
    assert any("points outside --storage-dir" in r for r in reasons)
    assert not Document.all_orgs.filter(filename="x.txt").exists()


def test_a_mapping_reads_other_table_and_column_names_into_one_shared_org(
    source_db, storage_dir, tmp_path, django_capture_on_commit_callbacks
):
    source_db.execute(
        "CREATE TABLE public.chatbots (id uuid PRIMARY KEY, owner uuid, title text, instructions text, "
        "created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now())"
    )
    try:
        ada = demo.insert_user(source_db, email="ada@acme.example", password="pw-1", name="Ada")
        bob = demo.insert_user(source_db, email="bob@acme.example", password="pw-2", name="Bob")
        source_db.execute(
            "INSERT INTO public.chatbots (id, owner, title, instructions) VALUES "
            "('11111111-1111-4111-8111-111111111111', %s, 'Helper', 'Be kind.'), "
            "('22222222-2222-4222-8222-222222222222', %s, 'Helper', 'Be terse.')",
            (ada, bob),
        )
        mapping = tmp_path / "mapping.yaml"
        mapping.write_text(
            "supabase:\n"
            "  organization: {name: Acme Inc}\n"
            "  member_role: admin\n"
            "  bots:\n"
            "    table: public.chatbots\n"
            "    columns: {user_id: owner, name: title, system_prompt: instructions, description: null,\n"
            "              welcome_message: null, model: null, temperature: null}\n"
        )
        _run(
            source_db.dsn_for_import,
            "--mapping",
            str(mapping),
            "--storage-dir",
            str(storage_dir),
            "--report",
            str(tmp_path / "r.json"),
            capture=django_capture_on_commit_callbacks,
        )
    finally:
        source_db.execute("DROP TABLE public.chatbots")
    org = Organization.objects.get(name="Acme Inc")
    roles = dict(Membership.objects.filter(org=org).values_list("user__email", "role"))
    assert roles == {"ada@acme.example": "owner", "bob@acme.example": "admin"}
    bots = dict(Bot.objects.for_org(org).values_list("name", "system_prompt"))
    assert bots == {"Helper": "Be kind.", "Helper (2)": "Be terse."}  # names stay unique in the org
    assert Organization.objects.count() == 1
    assert _report(tmp_path, "r.json")["failed"] == 0


def test_a_mapping_naming_a_column_the_table_lacks_is_a_clear_error(run, project, tmp_path):
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"supabase": {"bots": {"columns": {"name": "title"}}}}))
    with pytest.raises(CommandError) as excinfo:
        run("--mapping", str(mapping))
    assert "public.bots has no column 'title' for name" in str(excinfo.value)
    assert excinfo.value.returncode == 2
    assert not Bot.all_orgs.exists()


def test_an_unreachable_source_is_a_clear_error_without_the_password(db):
    with pytest.raises(CommandError) as excinfo:
        call_command("import_supabase", "--dsn", "postgres://u:hunter2@127.0.0.1:1/postgres")
    assert "Cannot connect to the source database" in str(excinfo.value)
    assert "hunter2" not in str(excinfo.value)


def test_a_user_banned_after_import_is_deactivated_on_the_next_sync(run, project, source_db, storage_dir):
    run("--storage-dir", str(storage_dir))
    source_db.execute(
        "UPDATE auth.users SET banned_until = %s, updated_at = %s WHERE id = %s",
        (datetime.now(UTC) + timedelta(days=7), datetime.now(UTC), project["users"]["grace"]),
    )
    run("--storage-dir", str(storage_dir))
    assert User.objects.get(email="grace@acme.example").is_active is False


def test_cognito_pre_creates_users_with_verified_email_and_source_id(
    aws, run, project, storage_dir, settings, tmp_path
):
    idp = boto3.client("cognito-idp", region_name="eu-west-1")
    pool = idp.create_user_pool(
        PoolName="botwright",
        UsernameAttributes=["email"],
        Schema=[{"Name": "source_id", "AttributeDataType": "String", "Mutable": True}],
    )["UserPool"]["Id"]
    settings.COGNITO_USER_POOL_ID = pool
    settings.COGNITO_REGION = "eu-west-1"
    settings.AWS_ENDPOINT_URL = None
    run("--storage-dir", str(storage_dir), "--cognito", "--report", str(tmp_path / "r.json"))
    report = _report(tmp_path, "r.json")
    assert report["entities"]["cognito_users"]["created"] == 2
    user = idp.admin_get_user(UserPoolId=pool, Username="ada@acme.example")
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert attributes["email_verified"] == "true"
    assert attributes["custom:source_id"] == project["users"]["ada"]
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    assert User.objects.get(email="ada@acme.example").external_id == attributes["sub"]
    # Idempotent: a second run finds them.
    run("--storage-dir", str(storage_dir), "--cognito", "--report", str(tmp_path / "r2.json"))
    again = _report(tmp_path, "r2.json")["entities"]["cognito_users"]
    assert again["created"] == 0 and again["unchanged"] == 2
    assert len(idp.list_users(UserPoolId=pool)["Users"]) == 2


def test_files_can_come_from_a_storage_url_with_the_service_key(
    run, project, storage_dir, monkeypatch, tmp_path
):
    """storage_base_url: files are fetched over HTTP (a local server standing in for Supabase Storage)."""
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    seen = []

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, self.headers.get("Authorization")))
            super().do_GET()

        def log_message(self, *args):
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(storage_dir)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", "service-key")
        run(
            "--storage-base-url",
            f"http://127.0.0.1:{server.server_address[1]}/",
            "--report",
            str(tmp_path / "r.json"),
        )
    finally:
        server.shutdown()
        server.server_close()
    report = _report(tmp_path, "r.json")
    assert report["entities"]["documents"]["created"] == 2 and report["failed"] == 0
    assert sorted(path for path, _ in seen) == sorted(
        f"/{project['users']['ada']}/{name}" for name in ("r.md", "w.md")
    )
    assert {auth for _, auth in seen} == {"Bearer service-key"}


def test_a_password_changed_in_supabase_is_synced_until_the_user_signs_in_here(
    run, project, source_db, storage_dir, client
):
    run("--storage-dir", str(storage_dir))

    def change_password(new):
        source_db.execute(
            "UPDATE auth.users SET encrypted_password = %s, updated_at = %s WHERE id = %s",
            (demo.bcrypt_hash(new, rounds=4), datetime.now(UTC), project["users"]["ada"]),
        )

    change_password("second password")
    run("--storage-dir", str(storage_dir))
    assert _basic(client, "ada@acme.example", "second password").status_code == 200  # and now upgraded
    change_password("third password")
    run("--storage-dir", str(storage_dir))
    # Signed in here already: the Botwright password is theirs now and is not overwritten.
    assert _basic(client, "ada@acme.example", "second password").status_code == 200
    assert _basic(client, "ada@acme.example", "third password").status_code in (401, 403)


def test_an_unconfirmed_email_never_brings_a_password_or_links_to_an_existing_account(
    run, source_db, storage_dir, tmp_path, client
):
    demo.insert_user(source_db, email="squatter@acme.example", password="attacker-pw", confirmed=False)
    demo.insert_user(source_db, email="boss@acme.example", password="attacker-pw", confirmed=False)
    boss = User.objects.create_user(email="boss@acme.example", password="the-real-one")
    run("--storage-dir", str(storage_dir), "--report", str(tmp_path / "r.json"))
    report = _report(tmp_path, "r.json")["entities"]["users"]
    squatter = User.objects.get(email="squatter@acme.example")
    assert not squatter.has_usable_password()
    assert _basic(client, "squatter@acme.example", "attacker-pw").status_code in (401, 403)
    assert any(
        "not confirmed in Supabase: the password is not imported" in n["note"] for n in report["notes"]
    )
    assert report["skipped"] == 1 and "not confirmed" in report["problems"][0]["reason"]
    assert not Membership.objects.filter(user=boss).exists()  # nothing was attached to the real account
    assert _basic(client, "boss@acme.example", "the-real-one").status_code == 200
