"""Builds the configured vector store once per process (`VECTOR_STORE`: database | dynamodb)."""

from __future__ import annotations

import functools

from integrations.choices import VECTOR_STORES

from .base import VectorStore


@functools.cache
def get_vector_store(name: str | None = None) -> VectorStore:
    from django.conf import settings

    name = name or settings.VECTOR_STORE
    if name == "database":
        from .database import DatabaseVectorStore

        return DatabaseVectorStore(cache_max_bytes=settings.VECTOR_CACHE_MAX_BYTES)
    if name == "dynamodb":
        from .dynamodb import DynamoDBVectorStore

        return DynamoDBVectorStore(
            settings.DYNAMODB_VECTORS_TABLE,
            region=settings.AWS_REGION,
            endpoint_url=settings.AWS_ENDPOINT_URL,
            quantization=settings.DYNAMODB_VECTOR_QUANTIZATION,
            vector_index_threshold=settings.DYNAMODB_VECTOR_INDEX_THRESHOLD,
            cache_max_bytes=settings.VECTOR_CACHE_MAX_BYTES,
        )
    raise ValueError(f"VECTOR_STORE must be one of {', '.join(VECTOR_STORES)}, not {name!r}.")
