"""The canonical email form (Django-free) and the data migration that moves stored emails to it."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.core.management import call_command

from accounts.models import User
from tenants.emails import InvalidEmail, canonical_email, plan_canonical_emails
from tenants.models import Invitation

DOTLESS_I = "\u0131"  # ı, which PostgreSQL's UPPER() folds to the I of GMAIL
KELVIN = "\u212a"  # K, which str.lower() turns into an ASCII k


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ada.Lovelace@Example.COM", "ada.lovelace@example.com"),
        ("  ada@example.com ", "ada@example.com"),
        ("ada@example.com.", "ada@example.com"),
        ("ada@bücher.de", "ada@xn--bcher-kva.de"),
        ("ada@BÜCHER.de", "ada@xn--bcher-kva.de"),
        ("ada+tag@sub.example.org", "ada+tag@sub.example.org"),
        # Full-width letters are the same DNS name (UTS #46 maps them), so the same mailbox.
        ("ada@ｅxample.com", "ada@example.com"),
    ],
)
def test_canonical_email_lowercases_and_encodes_the_domain(raw, expected):
    assert canonical_email(raw) == expected


def test_a_look_alike_domain_stays_distinct_from_the_real_one():
    look_alike = canonical_email(f"admin@gma{DOTLESS_I}l.com")
    assert look_alike.startswith("admin@xn--")
    assert look_alike != canonical_email("admin@gmail.com")


@pytest.mark.parametrize(
    "raw",
    [
        f"{KELVIN}ate@example.com",  # would become kate@ through str.lower()
        "ädmin@example.com",
        f"adm{DOTLESS_I}n@example.com",
        "adm\u0456n@example.com",  # Cyrillic і
        "a\x00b@example.com",
    ],
)
def test_non_ascii_before_the_at_is_refused(raw):
    with pytest.raises(InvalidEmail, match="plain ASCII"):
        canonical_email(raw)


@pytest.mark.parametrize("raw", ["", "ada", "@example.com", "ada@", "ada@localhost", "ada@exa mple.com"])
def test_malformed_addresses_are_refused_with_a_reason(raw):
    with pytest.raises(InvalidEmail):
        canonical_email(raw)


def test_the_plan_leaves_collisions_and_invalid_rows_unchanged_and_reports_them():
    plan = plan_canonical_emails(
        [
            (1, "Bob@Example.com", None),
            (2, "bob@example.com", None),
            (3, "Carol@Example.com", None),
            (4, "dave@example.com", None),
            (5, "ädmin@example.com", None),
        ]
    )
    assert plan.updates == {3: "carol@example.com"}
    assert list(plan.collisions.values()) == [[(1, "Bob@Example.com"), (2, "bob@example.com")]]
    assert [pk for pk, _, _ in plan.invalid] == [5]
    report = plan.report("users")
    assert "2 users would all become 'bob@example.com'" in report
    assert "id 5" in report and "canonicalize_emails" in report


def test_scopes_keep_equal_addresses_in_different_orgs_apart():
    plan = plan_canonical_emails([(1, "A@x.com", "org-1"), (2, "a@x.com", "org-2")])
    assert plan.updates == {1: "a@x.com"} and not plan.collisions


def _stored(model, pk, email):
    # Rows as an older release left them: written around save(), which would canonicalise.
    model.objects.filter(pk=pk).update(email=email)


@pytest.mark.django_db
def test_the_data_migrations_canonicalise_stored_emails_and_report_collisions(org, capsys):
    mixed = User.objects.create_user(email="mixed@example.com")
    one = User.objects.create_user(email="twin@example.com")
    two = User.objects.create_user(email="twin2@example.com")
    _stored(User, mixed.pk, "Mixed@EXAMPLE.com")
    _stored(User, two.pk, "TWIN@example.com")
    invitation = Invitation.objects.create(org=org, email="guest@example.com")
    _stored(Invitation, invitation.pk, "Guest@Bücher.de")

    for module in (
        "accounts.migrations.0002_canonical_user_emails",
        "tenants.migrations.0002_canonical_invitation_emails",
    ):
        importlib.import_module(module).forwards(apps, None)

    mixed.refresh_from_db(), one.refresh_from_db(), two.refresh_from_db(), invitation.refresh_from_db()
    assert mixed.email == "mixed@example.com"
    assert invitation.email == "guest@xn--bcher-kva.de"
    # A collision is for a person to resolve: both rows are left as they were, and reported.
    assert (one.email, two.email) == ("twin@example.com", "TWIN@example.com")
    err = capsys.readouterr().err
    assert "'TWIN@example.com'" in err and "left UNCHANGED" in err


@pytest.mark.django_db
def test_canonicalize_emails_command_finishes_the_job_after_a_fix(capsys):
    user = User.objects.create_user(email="late@example.com")
    _stored(User, user.pk, "Late@Example.com")
    call_command("canonicalize_emails")
    user.refresh_from_db()
    assert user.email == "late@example.com"
    assert "updated 1 user(s)" in capsys.readouterr().out


@pytest.mark.django_db
def test_password_login_matches_the_canonical_email_exactly(client, owner):
    assert client.login(email="OWNER@Example.COM", password="pw-123456")
    client.logout()
    assert not client.login(email="owner@examp\u04cfe.com", password="pw-123456")  # Cyrillic palochka
    assert not client.login(email=f"owner@examp{DOTLESS_I}e.com", password="pw-123456")


@pytest.mark.django_db
def test_users_are_stored_with_the_canonical_email():
    user = User.objects.create_user(email="New.Person@BÜCHER.de")
    assert user.email == "new.person@xn--bcher-kva.de"
    with pytest.raises(InvalidEmail):
        User.objects.create_user(email="ädmin@example.com")


@pytest.mark.django_db
def test_model_validation_refuses_look_alikes_before_any_unicode_normalisation():
    from django.core.exceptions import ValidationError

    user = User(email=f"{KELVIN}ate@example.com")
    with pytest.raises(ValidationError, match="plain ASCII"):
        user.full_clean()
    invitation = Invitation(email="Guest@BÜCHER.de")
    invitation.clean()
    assert invitation.email == "guest@xn--bcher-kva.de"
