"""The mapping file: which source tables, columns and payload fields the importers read.

Django-free. Without a file the importers expect the default Supabase schema (`auth.users`,
`public.bots`, `public.documents`) and the default Qdrant payload; a file (YAML or JSON) only names
what differs, for example::

    supabase:
      bots:
        table: public.chatbots
        columns: {user_id: owner_id, welcome_message: greeting}
      organization: {name: Acme}        # everyone joins one org instead of a personal one each
    qdrant:
      payload: {text: page_content, document_id: metadata.doc_id}
      vector: dense

A column mapped to `null` does not exist in the source; optional fields then stay empty. Unknown
keys are refused (a typo must not silently fall back to a default).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tenants.errors import InvalidInput

# Botwright field -> source column, per source table.
USER_COLUMNS = {
    "id": "id",
    "email": "email",
    "encrypted_password": "encrypted_password",
    "email_confirmed_at": "email_confirmed_at",
    "raw_user_meta_data": "raw_user_meta_data",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "deleted_at": "deleted_at",
    "banned_until": "banned_until",
    "is_anonymous": "is_anonymous",
}
BOT_COLUMNS = {
    "id": "id",
    "user_id": "user_id",
    "name": "name",
    "description": "description",
    "system_prompt": "system_prompt",
    "welcome_message": "welcome_message",
    "model": "model",
    "temperature": "temperature",
    "created_at": "created_at",
    "updated_at": "updated_at",
}
DOCUMENT_COLUMNS = {
    "id": "id",
    "bot_id": "bot_id",
    "filename": "filename",
    "storage_path": "storage_path",
    "mime_type": "mime_type",
    "created_at": "created_at",
    "updated_at": "updated_at",
}
# Without these a row means nothing; the rest may be absent from the source (mapped to null).
REQUIRED = {
    "users": {"id", "email"},
    "bots": {"id", "user_id", "name"},
    "documents": {"id", "bot_id", "storage_path"},
}
PAYLOAD_FIELDS = {
    "bot_id": "bot_id",
    "document_id": "document_id",
    "text": "text",
    "chunk_index": "chunk_index",
    "page": "page",
    "filename": "filename",
}
ROLES = ("owner", "admin", "editor", "viewer")

_DEFAULTS: dict[str, Any] = {
    "supabase": {
        "users": {"table": "auth.users", "columns": USER_COLUMNS},
        "bots": {"table": "public.bots", "columns": BOT_COLUMNS},
        "documents": {"table": "public.documents", "columns": DOCUMENT_COLUMNS},
        # None: each user owns a personal org named after them. {"name": …} or {"id": …}: one org.
        "organization": None,
        "member_role": "editor",
        # raw_user_meta_data keys tried in order for the user's display name.
        "name_keys": ["full_name", "name", "display_name"],
        "storage_base_url": None,
    },
    "qdrant": {
        "payload": PAYLOAD_FIELDS,
        # The named vector to import when the collection has several.
        "vector": None,
        # The source bot of every point when the collection holds one bot (no bot_id in payloads).
        "bot_id": None,
    },
}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    columns: dict[str, str | None]

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class SupabaseMapping:
    users: Table
    bots: Table
    documents: Table
    organization: dict[str, str] | None = None
    member_role: str = "editor"
    name_keys: tuple[str, ...] = ("full_name", "name", "display_name")
    storage_base_url: str | None = None


@dataclass(frozen=True)
class QdrantMapping:
    payload: dict[str, str | None] = field(default_factory=lambda: dict(PAYLOAD_FIELDS))
    vector: str | None = None
    bot_id: str | None = None


@dataclass(frozen=True)
class Mapping:
    supabase: SupabaseMapping
    qdrant: QdrantMapping


def load_mapping(path: str | Path | None) -> Mapping:
    """The defaults overlaid with the file at `path` (YAML or JSON); `InvalidInput` says what is wrong."""
    raw: dict[str, Any] = {}
    if path:
        raw = _read(Path(path))
    return build_mapping(raw, origin=str(path or "defaults"))


def build_mapping(raw: dict[str, Any], *, origin: str = "mapping") -> Mapping:
    if not isinstance(raw, dict):
        raise InvalidInput(f"{origin}: the mapping must be an object with `supabase` and/or `qdrant` keys.")
    merged = copy.deepcopy(_DEFAULTS)
    _overlay(merged, raw, path=origin)
    sb, qd = merged["supabase"], merged["qdrant"]
    tables = {name: _table(sb[name], entity=name, origin=origin) for name in ("users", "bots", "documents")}
    organization = sb["organization"]
    if organization is not None:
        if isinstance(organization, str):
            organization = {"name": organization}
        if not isinstance(organization, dict) or set(organization) - {"name", "id"} or not organization:
            raise InvalidInput(f"{origin}: supabase.organization is {{name: …}} or {{id: <org uuid>}}.")
        organization = {k: str(v) for k, v in organization.items() if v}
    if sb["member_role"] not in ROLES:
        raise InvalidInput(f"{origin}: supabase.member_role must be one of {', '.join(ROLES)}.")
    base_url = sb["storage_base_url"]
    if base_url is not None and not str(base_url).startswith(("http://", "https://")):
        raise InvalidInput(f"{origin}: supabase.storage_base_url must be an http(s) URL, not {base_url!r}.")
    payload = qd["payload"]
    for key in ("document_id", "text"):
        if not payload.get(key):
            raise InvalidInput(f"{origin}: qdrant.payload.{key} cannot be empty: points need it.")
    return Mapping(
        supabase=SupabaseMapping(
            users=tables["users"],
            bots=tables["bots"],
            documents=tables["documents"],
            organization=organization,
            member_role=sb["member_role"],
            name_keys=tuple(str(k) for k in sb["name_keys"] or ()),
            storage_base_url=str(base_url) if base_url else None,
        ),
        qdrant=QdrantMapping(
            payload={k: (str(v) if v else None) for k, v in payload.items()},
            vector=str(qd["vector"]) if qd["vector"] else None,
            bot_id=str(qd["bot_id"]) if qd["bot_id"] else None,
        ),
    )


def payload_value(payload: dict[str, Any] | None, path: str | None) -> Any:
    """`payload["metadata"]["doc_id"]` for the path `metadata.doc_id`; None when any step is missing."""
    if not path or not isinstance(payload, dict):
        return None
    value: Any = payload
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"Cannot read the mapping file {path}: {exc.strerror or exc}.")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
        raise InvalidInput(f"The mapping file {path} is not valid {kind}: {exc}")
    return data or {}


def _overlay(target: dict[str, Any], raw: dict[str, Any], *, path: str) -> None:
    for key, value in raw.items():
        if key not in target:
            valid = ", ".join(sorted(target))
            raise InvalidInput(f"{path}: unknown key {key!r} (valid keys here: {valid}).")
        here = f"{path}.{key}"
        if key == "columns":
            if not isinstance(value, dict):
                raise InvalidInput(f"{here} must map Botwright fields to source columns.")
            _overlay(target[key], value, path=here)
        elif isinstance(target[key], dict) and key != "organization":
            if not isinstance(value, dict):
                raise InvalidInput(f"{here} must be an object.")
            _overlay(target[key], value, path=here)
        else:
            target[key] = value


def _table(spec: dict[str, Any], *, entity: str, origin: str) -> Table:
    table = str(spec["table"] or "")
    schema, _, name = table.rpartition(".")
    schema = schema or "public"
    for part in (schema, name):
        if not _IDENTIFIER.match(part):
            raise InvalidInput(f"{origin}: supabase.{entity}.table {table!r} is not a schema.table name.")
    columns: dict[str, str | None] = {}
    for field_name, column in spec["columns"].items():
        if column is not None and (not isinstance(column, str) or not _IDENTIFIER.match(column)):
            raise InvalidInput(
                f"{origin}: supabase.{entity}.columns.{field_name}: {column!r} is not a column name."
            )
        columns[field_name] = column
    missing = sorted(f for f in REQUIRED[entity] if not columns.get(f))
    if missing:
        raise InvalidInput(f"{origin}: supabase.{entity}.columns must map {', '.join(missing)}.")
    return Table(schema=schema, name=name, columns=columns)
