"""File storage for uploaded documents: Django's default storage (local files or S3 via django-storages).

Keys start with the org id (`<org>/<bot>/<document>/<filename>`) so an org's files can be listed,
exported or purged by prefix, and an IAM policy can confine a tenant to its prefix.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class DirectUploadUnavailable(Exception):
    """Presigned browser uploads need S3; the local file storage cannot issue them."""


def document_key(*, org_id: Any, bot_id: Any, document_id: Any, filename: str) -> str:
    safe = _UNSAFE.sub("_", filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip("._") or "upload"
    return f"{org_id}/{bot_id}/{document_id}/{safe[:120]}"


def save(key: str, data: bytes) -> str:
    """Store bytes under exactly `key` (refuses to silently rename an existing key)."""
    if default_storage.exists(key):
        default_storage.delete(key)
    stored = default_storage.save(key, ContentFile(data))
    if stored != key:
        raise RuntimeError(f"Storage renamed {key!r} to {stored!r}")
    return key


def read(key: str) -> bytes:
    with default_storage.open(key, "rb") as fh:
        return fh.read()


def exists(key: str) -> bool:
    return bool(key) and default_storage.exists(key)


def delete(key: str) -> None:
    if key and default_storage.exists(key):
        default_storage.delete(key)


def delete_prefix(prefix: str) -> int:
    """Delete every object under `prefix` (S3: batched; local: walks the directory)."""
    s3 = _s3_bucket()
    if s3 is not None:
        deleted = 0
        for page in s3.objects.filter(Prefix=prefix).pages():
            keys = [{"Key": obj.key} for obj in page]
            if keys:
                s3.delete_objects(Delete={"Objects": keys, "Quiet": True})
                deleted += len(keys)
        return deleted
    return _delete_tree(prefix.rstrip("/"))


def _delete_tree(path: str) -> int:
    try:
        dirs, files = default_storage.listdir(path)
    except (FileNotFoundError, NotImplementedError):
        return 0
    count = 0
    for name in files:
        default_storage.delete(f"{path}/{name}")
        count += 1
    for name in dirs:
        count += _delete_tree(f"{path}/{name}")
    return count


def _s3_bucket():
    bucket = getattr(default_storage, "bucket", None)
    return bucket if bucket is not None and hasattr(bucket, "objects") else None


def presigned_post(*, key: str, max_bytes: int, content_type: str, expires_s: int = 900) -> dict[str, Any]:
    """A browser-usable S3 POST policy for exactly `key`, with the size enforced by S3 itself."""
    bucket = _s3_bucket()
    if bucket is None:
        raise DirectUploadUnavailable(
            "Direct uploads need S3 storage (STORAGE_BACKEND=s3); with local storage upload the file "
            "to POST documents/ instead."
        )
    client = bucket.meta.client
    # django-storages prefixes keys with `location` when one is configured.
    full_key = default_storage._normalize_name(key) if hasattr(default_storage, "_normalize_name") else key
    return client.generate_presigned_post(
        Bucket=bucket.name,
        Key=full_key,
        Fields={"Content-Type": content_type},
        Conditions=[["content-length-range", 1, max_bytes], {"Content-Type": content_type}],
        ExpiresIn=expires_s,
    )
