"""Imported bcrypt passwords and the Cognito User Migration trigger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import bcrypt
import pytest
from django.contrib.auth.hashers import check_password

from accounts.models import User
from importers.cognito_trigger import MigrationRefused, user_migration
from importers.demo import bcrypt_hash
from importers.hashers import django_encoded_from_bcrypt, is_bcrypt_hash
from importers.models import ImportedRecord, Kind
from tests.factories import make_org

pytestmark = pytest.mark.django_db


def _imported_user(email="ada@acme.example", password="correct horse", name="Ada Lovelace", prefix=b"2a"):
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(4, prefix=prefix)).decode()
    user = User.objects.create_user(email=email, name=name)
    user.password = django_encoded_from_bcrypt(hashed)
    user.save()
    return user


def test_supabase_bcrypt_hashes_verify_and_upgrade_on_first_sign_in():
    for prefix in (b"2a", b"2b"):
        user = _imported_user(email=f"{prefix.decode()}@acme.example", prefix=prefix)
        assert user.password.startswith(f"bcrypt$${prefix.decode()}$")
        assert not user.check_password("wrong horse")
        assert user.check_password("correct horse")
        user.refresh_from_db()
        # Re-hashed with the first (default) hasher; the old password still works.
        assert user.password.startswith("md5$") and user.check_password("correct horse")


def test_long_passwords_and_damaged_hashes_fail_closed_instead_of_raising():
    long_password = "x" * 100
    hashed = bcrypt.hashpw(long_password.encode()[:72], bcrypt.gensalt(4)).decode()
    encoded = django_encoded_from_bcrypt(hashed)
    # bcrypt ≥ 5 raises for > 72 bytes; the hasher uses the first 72 like Supabase's Go bcrypt did.
    assert check_password(long_password, encoded)
    assert not check_password("y" * 100, encoded)
    assert not check_password("anything", "bcrypt$$2b$04$" + "!" * 53)


def test_only_real_bcrypt_hashes_are_accepted():
    assert is_bcrypt_hash(bcrypt_hash("pw", rounds=4))
    assert not is_bcrypt_hash("")
    assert not is_bcrypt_hash("$argon2id$v=19$m=65536,t=3,p=4$abc$def")
    assert not is_bcrypt_hash("$2a$10$short")
    with pytest.raises(ValueError):
        django_encoded_from_bcrypt("pbkdf2_sha256$1$salt$hash")


def test_a_migrated_user_signs_in_through_the_api_with_the_old_password(client):
    _imported_user()
    import base64

    def me(password):
        token = base64.b64encode(f"ada@acme.example:{password}".encode()).decode()
        return client.get("/api/auth/me/", HTTP_AUTHORIZATION=f"Basic {token}")

    assert me("wrong horse").status_code in (401, 403)
    response = me("correct horse")
    assert response.status_code == 200, response.content
    assert response.json()["email"] == "ada@acme.example"
    assert me("correct horse").status_code == 200  # and again after the upgrade
    assert me("x" * 200).status_code in (401, 403)  # never a 500


def _event(trigger, user_name, password=None):
    """The event Cognito sends a User Migration trigger (shape from the AWS developer guide)."""
    request = {"validationData": None, "clientMetadata": {}}
    if password is not None:
        request["password"] = password
    return {
        "version": "1",
        "triggerSource": trigger,
        "region": "eu-west-1",
        "userPoolId": "eu-west-1_TEST",
        "userName": user_name,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "abc123"},
        "request": request,
        "response": {
            "userAttributes": None,
            "forceAliasCreation": None,
            "enableSMSMFA": None,
            "finalUserStatus": None,
            "messageAction": None,
            "desiredDeliveryMediums": None,
        },
    }


def test_migration_trigger_confirms_a_user_with_the_right_password(settings):
    settings.COGNITO_SOURCE_ID_ATTRIBUTE = "custom:source_id"
    user = _imported_user()
    org = make_org("Ada Lovelace", owner=user)
    ImportedRecord.objects.create(
        org=org, source="supabase", kind=Kind.USER, source_id="0b6c-source", target_id=str(user.pk)
    )
    event = user_migration(_event("UserMigration_Authentication", "Ada@Acme.example", "correct horse"), None)
    response = event["response"]
    assert response["finalUserStatus"] == "CONFIRMED" and response["messageAction"] == "SUPPRESS"
    assert response["userAttributes"] == {
        "email": "ada@acme.example",
        "email_verified": "true",
        "name": "Ada Lovelace",
        "custom:source_id": "0b6c-source",
    }
    json.dumps(event)  # Cognito needs JSON back


@pytest.mark.parametrize(
    ("user_name", "password"),
    [("ada@acme.example", "wrong horse"), ("ada@acme.example", ""), ("nobody@acme.example", "correct horse")],
)
def test_migration_trigger_refuses_wrong_passwords_and_unknown_users(user_name, password):
    _imported_user()
    with pytest.raises(MigrationRefused, match="Bad username or password"):
        user_migration(_event("UserMigration_Authentication", user_name, password), None)


def test_migration_trigger_refuses_deactivated_users():
    user = _imported_user()
    User.objects.filter(pk=user.pk).update(is_active=False)
    with pytest.raises(MigrationRefused):
        user_migration(_event("UserMigration_Authentication", "ada@acme.example", "correct horse"), None)


def test_forgot_password_migrates_the_user_without_a_password_check(settings):
    settings.COGNITO_SOURCE_ID_ATTRIBUTE = ""
    User.objects.create_user(email="oauth@acme.example")  # no usable password: a reset is their way in
    event = user_migration(_event("UserMigration_ForgotPassword", "oauth@acme.example"), None)
    assert event["response"]["userAttributes"] == {"email": "oauth@acme.example", "email_verified": "true"}
    assert event["response"]["messageAction"] == "SUPPRESS"
    assert event["response"]["finalUserStatus"] is None
    with pytest.raises(MigrationRefused):
        user_migration(_event("UserMigration_ForgotPassword", "nobody@acme.example"), None)


def test_other_triggers_are_refused():
    with pytest.raises(MigrationRefused, match="Unsupported trigger"):
        user_migration(_event("PreSignUp_SignUp", "ada@acme.example"), None)


def test_zappa_routes_both_migration_triggers_to_the_handler():
    settings = json.loads((Path(__file__).resolve().parents[2] / "zappa_settings.json").read_text())
    for stage in ("dev", "production"):
        cognito = {**settings["dev"], **settings[stage]}["cognito"]
        routes = {t["source"]: t["function"] for t in cognito["triggers"]}
        assert routes == {
            "UserMigration_Authentication": "importers.cognito_trigger.user_migration",
            "UserMigration_ForgotPassword": "importers.cognito_trigger.user_migration",
        }
        assert cognito["user_pool"]


@pytest.mark.slow
def test_nothing_the_lambda_function_loads_imports_qdrant_client():
    """qdrant-client (and grpcio) stay out of the Lambda bundle: the app must not need them to start."""
    code = (
        "import django, sys; django.setup(); import config.urls, config.wsgi, importers.admin, "
        "importers.cognito_trigger, importers.hashers, importers.supabase, importers.demo; "
        "from django.core.management import load_command_class; "
        "load_command_class('importers', 'import_qdrant'); "
        "load_command_class('importers', 'import_supabase'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('qdrant_client', 'grpc')))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
