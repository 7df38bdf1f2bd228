from __future__ import annotations

import pytest
from moto import mock_aws

from integrations.vectors import factory

pytestmark = pytest.mark.django_db


def test_deep_health_also_checks_the_embedder(client):
    body = client.get("/api/health?deep=1").json()
    assert body["checks"]["embedder"] == {
        "status": "ok",
        "detail": "fake-hash-384",
        "latency_ms": body["checks"]["embedder"]["latency_ms"],
    }


def test_a_broken_dependency_is_503_naming_it(client, settings, monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    settings.VECTOR_STORE = "dynamodb"
    settings.DYNAMODB_VECTORS_TABLE = "no-such-table"
    settings.AWS_REGION = "us-east-1"
    factory.get_vector_store.cache_clear()
    try:
        with mock_aws():
            response = client.get("/api/health")
    finally:
        factory.get_vector_store.cache_clear()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["vector_store"]["status"] == "error"
    assert "ResourceNotFound" in body["checks"]["vector_store"]["detail"] or "no-such-table" in str(body)
