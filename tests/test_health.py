from __future__ import annotations

import pytest
from django.db import OperationalError

from integrations import health
from integrations.vectors import factory
from tests.factories import make_user

pytestmark = pytest.mark.django_db

# What a failing PostgreSQL connection says: the host and port must never reach an anonymous caller.
DB_ERROR = 'connection to server at "10.1.2.3", port 5432 failed: Connection refused'


@pytest.fixture
def staff_client(client):
    client.force_login(make_user("ops@example.com", is_staff=True))
    return client


@pytest.fixture
def broken_vector_store(aws, settings):
    settings.VECTOR_STORE = "dynamodb"
    settings.DYNAMODB_VECTORS_TABLE = "no-such-table"
    settings.AWS_REGION = "us-east-1"
    factory.get_vector_store.cache_clear()
    yield
    factory.get_vector_store.cache_clear()


@pytest.fixture
def broken_database(monkeypatch):
    def _database() -> str:
        raise OperationalError(DB_ERROR)

    monkeypatch.setattr(health, "_database", _database)


@pytest.fixture
def embedder_calls(monkeypatch):
    calls = []
    real = health._embedder

    def _embedder() -> str:
        calls.append(1)
        return real()

    monkeypatch.setattr(health, "_embedder", _embedder)
    return calls


def test_anonymous_health_is_status_only(client):
    response = client.get("/api/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_staff_deep_health_also_checks_the_embedder(staff_client, embedder_calls):
    body = staff_client.get("/api/health/?deep=1").json()
    assert body["status"] == "ok"
    assert body["checks"]["embedder"] == {
        "status": "ok",
        "detail": "fake-hash-384",
        "latency_ms": body["checks"]["embedder"]["latency_ms"],
    }
    assert embedder_calls == [1]


def test_anonymous_deep_health_runs_no_embedding(client, embedder_calls):
    response = client.get("/api/health/?deep=1")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert embedder_calls == []


def test_a_signed_in_non_staff_user_gets_the_public_answer(client, owner, embedder_calls):
    client.force_login(owner)
    assert client.get("/api/health/?deep=1").json() == {"status": "ok"}
    assert embedder_calls == []


def test_a_bad_credential_still_gets_the_public_answer(client):
    response = client.get("/api/health/", HTTP_AUTHORIZATION="Basic bm9ib2R5Om5vcGU=")  # nobody:nope
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_a_broken_database_tells_anonymous_callers_nothing_but_degraded(client, broken_database):
    response = client.get("/api/health/")
    assert response.status_code == 503
    assert response.json() == {"status": "degraded"}
    text = response.content.decode()
    assert "10.1.2.3" not in text and "5432" not in text and "OperationalError" not in text


def test_a_broken_dependency_is_503_naming_it_for_staff(staff_client, broken_vector_store):
    response = staff_client.get("/api/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["vector_store"]["status"] == "error"
    assert "ResourceNotFound" in body["checks"]["vector_store"]["detail"]


def test_a_broken_dependency_is_degraded_without_details_for_anonymous(client, broken_vector_store):
    response = client.get("/api/health/")
    assert response.status_code == 503
    assert response.json() == {"status": "degraded"}
