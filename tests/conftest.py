"""Shared personas: an org with one member per role, a second org, an outsider, API clients."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws
from rest_framework.test import APIClient

from integrations.vectors import factory
from integrations.vectors.dynamodb import create_table
from tenants.models import Role

from .contract import _api_contract_client, api_contract, pytest_terminal_summary  # noqa: F401
from .factories import add_member, make_bot, make_org, make_user

ROLES = ["owner", "admin", "editor", "viewer"]


@pytest.fixture
def owner(db):
    return make_user("owner@example.com")


@pytest.fixture
def org(owner):
    return make_org("Acme", owner=owner)


@pytest.fixture
def admin_user(org):
    return add_member(org, make_user("admin@example.com"), Role.ADMIN).user


@pytest.fixture
def editor(org):
    return add_member(org, make_user("editor@example.com"), Role.EDITOR).user


@pytest.fixture
def viewer(org):
    return add_member(org, make_user("viewer@example.com"), Role.VIEWER).user


@pytest.fixture
def outsider(db):
    """A signed-in user who belongs to another org only."""
    user = make_user("outsider@example.com")
    make_org("Elsewhere", owner=user)
    return user


@pytest.fixture
def other_org(db):
    """A second tenant with its own owner and bot: its ids must never be reachable from `org`."""
    other_owner = make_user("other-owner@example.com")
    other = make_org("Globex", owner=other_owner)
    other.owner = other_owner
    other.bot = make_bot(other, "Globex bot")
    return other


@pytest.fixture
def bot(org):
    return make_bot(org, "Support bot")


@pytest.fixture
def personas(org, owner, admin_user, editor, viewer, outsider):
    """Role name -> user (None = anonymous)."""
    return {
        "owner": owner,
        "admin": admin_user,
        "editor": editor,
        "viewer": viewer,
        "outsider": outsider,
        "anonymous": None,
    }


@pytest.fixture
def client_for():
    def _client(user):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return _client


# --- The slow marker ---------------------------------------------------------------------------
# `make test-fast` (-m "not slow") is the edit loop. Besides the modules and tests marked by hand
# (the real model, the PDF corpus, the browser, subprocess platforms), every test that starts moto
# through the fixtures below is slow: a fresh moto account costs seconds per test.
SLOW_FIXTURES = frozenset({"aws", "dynamodb_store"})


@pytest.hookimpl(tryfirst=True)  # before pytest's own hook deselects by marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


# --- AWS on moto ------------------------------------------------------------------------------
AWS_TEST_REGION = "us-east-1"
DYNAMODB_TEST_TABLE = "botwright-test-vectors"


@pytest.fixture
def aws_credentials(monkeypatch):
    """Fake credentials and a default region, so boto3 never looks for real ones."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": AWS_TEST_REGION,
    }.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def aws(aws_credentials):
    """Every AWS call of the test (S3, DynamoDB, Cognito) goes to moto, in memory."""
    with mock_aws():
        yield


S3_TEST_BUCKET = "botwright-test-docs"


@pytest.fixture
def s3_storage(aws, settings):
    """Django's default storage on an S3 bucket in moto (S3_TEST_BUCKET); returns the S3 client."""
    client = boto3.client("s3", region_name=AWS_TEST_REGION)
    client.create_bucket(Bucket=S3_TEST_BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": S3_TEST_BUCKET,
                "region_name": AWS_TEST_REGION,
                "file_overwrite": False,
            },
        },
    }
    return client


@pytest.fixture
def dynamodb_store(aws, settings):
    """VECTOR_STORE=dynamodb on a fresh moto table; the process-wide store is rebuilt around the test."""
    create_table(boto3.client("dynamodb", region_name=AWS_TEST_REGION), DYNAMODB_TEST_TABLE)
    settings.VECTOR_STORE = "dynamodb"
    settings.DYNAMODB_VECTORS_TABLE = DYNAMODB_TEST_TABLE
    settings.AWS_REGION = AWS_TEST_REGION
    factory.get_vector_store.cache_clear()
    yield factory.get_vector_store()
    factory.get_vector_store.cache_clear()
