"""A Supabase-shaped source to import from: the schema, row helpers and a small demo project.

Used by the tests (real SQL in the PostgreSQL test database) and by
`scripts/demo_supabase_source.py` (the README's end-to-end example). `auth.users` has the columns of
Supabase Auth's table that matter to an import, with their real names and types (written from
Supabase Auth's migrations); `public.bots` and `public.documents` are what a chatbot builder on
Supabase typically keeps. No foreign keys from the app tables to `auth.users`: projects often have
none, and the tests insert orphans on purpose.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SCHEMA_SQL = """
CREATE SCHEMA IF NOT EXISTS auth;
CREATE TABLE IF NOT EXISTS auth.users (
    instance_id uuid NULL,
    id uuid NOT NULL PRIMARY KEY,
    aud varchar(255) NULL,
    "role" varchar(255) NULL,
    email varchar(255) NULL,
    encrypted_password varchar(255) NULL,
    email_confirmed_at timestamptz NULL,
    invited_at timestamptz NULL,
    confirmation_token varchar(255) NULL,
    confirmation_sent_at timestamptz NULL,
    recovery_token varchar(255) NULL,
    recovery_sent_at timestamptz NULL,
    email_change_token_new varchar(255) NULL,
    email_change varchar(255) NULL,
    email_change_sent_at timestamptz NULL,
    last_sign_in_at timestamptz NULL,
    raw_app_meta_data jsonb NULL,
    raw_user_meta_data jsonb NULL,
    is_super_admin bool NULL,
    created_at timestamptz NULL,
    updated_at timestamptz NULL,
    phone text NULL DEFAULT NULL,
    phone_confirmed_at timestamptz NULL,
    confirmed_at timestamptz GENERATED ALWAYS AS (LEAST(email_confirmed_at, phone_confirmed_at)) STORED,
    banned_until timestamptz NULL,
    reauthentication_token varchar(255) NULL DEFAULT '',
    reauthentication_sent_at timestamptz NULL,
    is_sso_user boolean NOT NULL DEFAULT false,
    deleted_at timestamptz NULL,
    is_anonymous boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX IF NOT EXISTS users_email_partial_key ON auth.users (email) WHERE (is_sso_user = false);

CREATE TABLE IF NOT EXISTS public.bots (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid,
    name text NOT NULL,
    description text,
    system_prompt text,
    welcome_message text,
    model text,
    temperature double precision,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS public.documents (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    bot_id uuid,
    filename text,
    storage_path text,
    mime_type text,
    created_at timestamptz NOT NULL DEFAULT now()
);
"""

DROP_SQL = """
DROP TABLE IF EXISTS public.documents;
DROP TABLE IF EXISTS public.bots;
DROP SCHEMA IF EXISTS auth CASCADE;
"""


def bcrypt_hash(password: str, *, rounds: int = 10) -> str:
    """A hash the way Supabase Auth (Go's bcrypt) writes it: `$2a$10$…`."""
    import bcrypt

    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds, prefix=b"2a")).decode()


def create_schema(conn: Any) -> None:
    conn.execute(SCHEMA_SQL)


def drop_schema(conn: Any) -> None:
    conn.execute(DROP_SQL)


def insert_user(
    conn: Any,
    *,
    email: str | None,
    password: str | None = None,
    name: str = "",
    id: str | None = None,
    created_at: datetime | None = None,
    updated_at: datetime | None = None,
    deleted_at: datetime | None = None,
    banned_until: datetime | None = None,
    is_anonymous: bool = False,
    encrypted_password: str | None = None,
    confirmed: bool = True,
) -> str:
    user_id = id or str(uuid.uuid4())
    now = datetime.now(UTC)
    conn.execute(
        """INSERT INTO auth.users (instance_id, id, aud, "role", email, encrypted_password,
               email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at, deleted_at,
               banned_until, is_anonymous)
           VALUES ('00000000-0000-0000-0000-000000000000', %s, 'authenticated', 'authenticated', %s, %s, %s,
               %s, %s, %s, %s, %s, %s, %s)""",
        (
            user_id,
            email,
            encrypted_password
            if encrypted_password is not None
            else (bcrypt_hash(password) if password else ""),
            now if email and confirmed else None,
            json.dumps({"provider": "email", "providers": ["email"]}),
            json.dumps({"full_name": name} if name else {}),
            created_at or now,
            updated_at or created_at or now,
            deleted_at,
            banned_until,
            is_anonymous,
        ),
    )
    return user_id


def insert_bot(conn: Any, *, user_id: str, name: str, id: str | None = None, **fields: Any) -> str:
    bot_id = id or str(uuid.uuid4())
    now = datetime.now(UTC)
    columns = {
        "description",
        "system_prompt",
        "welcome_message",
        "model",
        "temperature",
        "created_at",
        "updated_at",
    }
    values = {"created_at": now, "updated_at": now, **fields}
    unknown = set(values) - columns
    if unknown:
        raise ValueError(f"unknown bot columns: {sorted(unknown)}")
    names = ["id", "user_id", "name", *values]
    placeholders = ", ".join(["%s"] * len(names))
    conn.execute(
        f"INSERT INTO public.bots ({', '.join(names)}) VALUES ({placeholders})",  # noqa: S608 (fixed names)
        (bot_id, user_id, name, *values.values()),
    )
    return bot_id


def insert_document(
    conn: Any,
    *,
    bot_id: str,
    filename: str,
    storage_path: str,
    id: str | None = None,
    mime_type: str = "text/markdown",
    created_at: datetime | None = None,
) -> str:
    document_id = id or str(uuid.uuid4())
    conn.execute(
        "INSERT INTO public.documents (id, bot_id, filename, storage_path, mime_type, created_at) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (document_id, bot_id, filename, storage_path, mime_type, created_at or datetime.now(UTC)),
    )
    return document_id


def passages_of(text: str) -> list[str]:
    """How the demo's old stack chunked a document: one passage per paragraph (headings dropped)."""
    return [p.strip() for p in text.split("\n\n") if p.strip() and not p.strip().startswith("#")]


# --- The demo project --------------------------------------------------------------------------

DEMO_FILES = {
    "warranty.md": (
        "# Warranty\n\n"
        "The RoboVac 3000 comes with a two-year warranty covering motor and battery defects.\n\n"
        "To claim the warranty, email support@acme.example with your order number and a photo of the "
        "fault.\n\n"
        "Accidental damage, such as dropping the vacuum down the stairs, is not covered by the warranty.\n"
    ),
    "returns.md": (
        "# Returns\n\n"
        "You can return any product within 30 days of delivery for a full refund.\n\n"
        "Refunds are issued to the original payment method within 14 days of the parcel reaching our "
        "warehouse.\n"
    ),
    "shipping.md": (
        "# Shipping\n\n"
        "Orders placed before 2 pm ship the same working day from our Rotterdam warehouse.\n\n"
        "Standard delivery inside the EU takes three to five working days and costs 4.95 euros.\n"
    ),
}
# Passages the old stack kept in Qdrant for a document whose file was never stored in Supabase.
QDRANT_ONLY_PASSAGES = [
    "Our support desk answers chat messages from 9 am to 6 pm, Monday to Friday.",
    "Outside those hours, leave a message and we reply the next working day.",
]


@dataclass(frozen=True)
class DemoUser:
    email: str
    password: str
    name: str


DEMO_USERS = [
    DemoUser("ada@acme.example", "correct horse battery staple", "Ada Lovelace"),
    DemoUser("grace@acme.example", "navy-cobol-1959", "Grace Hopper"),
]


def create_demo_project(conn: Any, *, storage_dir: Path) -> dict[str, Any]:
    """Users (one banned), two bots (one with out-of-range settings), three stored documents."""
    create_schema(conn)
    ada = insert_user(
        conn, email=DEMO_USERS[0].email, password=DEMO_USERS[0].password, name=DEMO_USERS[0].name
    )
    grace = insert_user(
        conn, email=DEMO_USERS[1].email, password=DEMO_USERS[1].password, name=DEMO_USERS[1].name
    )
    insert_user(
        conn,
        email="mallory@acme.example",
        password="not-welcome-here",
        name="Mallory",
        banned_until=datetime.now(UTC) + timedelta(days=3650),
    )
    support = insert_bot(
        conn,
        user_id=ada,
        name="Acme Support",
        description="Answers customers about warranty, returns and shipping.",
        system_prompt="You are Acme's friendly support assistant. Answer from the knowledge base only.",
        welcome_message="Hi! Ask me about warranty, returns or shipping.",
        model="gpt-4o-mini",
        temperature=0.3,
    )
    insert_bot(conn, user_id=grace, name="Scratchpad", description="Grace's experiments.", temperature=2.7)
    storage_dir.mkdir(parents=True, exist_ok=True)
    documents = {}
    for filename, text in DEMO_FILES.items():
        path = f"{ada}/{filename}"
        (storage_dir / path).parent.mkdir(parents=True, exist_ok=True)
        (storage_dir / path).write_text(text, encoding="utf-8")
        documents[filename] = insert_document(conn, bot_id=support, filename=filename, storage_path=path)
    return {"users": {"ada": ada, "grace": grace}, "bot": support, "documents": documents}


def create_demo_collection(client: Any, *, collection: str, project: dict[str, Any], embedder: Any) -> int:
    """The old stack's Qdrant collection: one point per passage, vectors from `embedder`."""
    from qdrant_client import models

    if client.collection_exists(collection):
        client.delete_collection(collection)
    client.create_collection(
        collection, vectors_config=models.VectorParams(size=embedder.dim, distance=models.Distance.COSINE)
    )
    rows: list[tuple[str, str, int, str]] = []
    for filename, text in DEMO_FILES.items():
        for index, passage in enumerate(passages_of(text)):
            rows.append((project["documents"][filename], filename, index, passage))
    only_in_qdrant = str(uuid.uuid4())
    for index, passage in enumerate(QDRANT_ONLY_PASSAGES):
        rows.append((only_in_qdrant, "support-hours.md", index, passage))
    vectors = embedder.embed([r[3] for r in rows])
    client.upsert(
        collection,
        points=[
            models.PointStruct(
                id=str(uuid.uuid4()),
                vector=vector.tolist(),
                payload={
                    "bot_id": project["bot"],
                    "document_id": document_id,
                    "filename": filename,
                    "chunk_index": index,
                    "text": passage,
                },
            )
            for (document_id, filename, index, passage), vector in zip(rows, vectors, strict=True)
        ],
    )
    return len(rows)
