"""Canonical email addresses: the one form that is stored and compared, always exactly.

Why exact: a case-insensitive database comparison is not ASCII-only. PostgreSQL's ``UPPER()``
behind ``__iexact`` folds Unicode, so ``admin@gmaıl.com`` (dotless ı) equalled ``admin@gmail.com``
and a look-alike address could accept an invitation or link to an account meant for someone else.
Instead every address is reduced once, in Python, to a canonical ASCII form, and the database only
ever sees equality on that form:

- the part before ``@`` must be printable ASCII (no look-alike letters at all) and is lower-cased;
- the domain is IDNA-encoded (UTS #46 mapping, then punycode), so a Unicode domain becomes the
  ``xn--`` name DNS actually resolves, and look-alikes stay distinct from the name they imitate.

Django-free and at the bottom of the dependency graph (accounts and tenants both use it).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

import idna

MAX_EMAIL_LENGTH = 254  # RFC 5321 path limit; also the EmailField length


class InvalidEmail(ValueError):
    """The value cannot be an address we accept; the message says why and what to do."""


def canonical_email(value: str) -> str:
    """The canonical form of an email address, or ``InvalidEmail``.

    ``canonical_email(x) == canonical_email(y)`` is the only way two addresses are compared.
    """
    if not isinstance(value, str):
        raise InvalidEmail("An email address must be text.")
    text = value.strip()
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise InvalidEmail(f"{text!r} is not an email address (expected name@domain).")
    # Checked before lower-casing: str.lower() maps some non-ASCII letters onto ASCII ones
    # (the Kelvin sign K becomes k), which would smuggle a look-alike into the canonical form.
    if not (local.isascii() and local.isprintable()):
        raise InvalidEmail(
            "The part of the email address before @ must use plain ASCII letters, digits and "
            "punctuation; accented or non-Latin letters are not accepted there."
        )
    domain = domain.removesuffix(".")
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise InvalidEmail(f"The domain of {text!r} is not a valid domain name ({exc}).")
    if "." not in ascii_domain:
        raise InvalidEmail(f"The domain of {text!r} has no dot; use a full domain such as example.com.")
    canonical = f"{local.lower()}@{ascii_domain.lower()}"
    if len(canonical) > MAX_EMAIL_LENGTH:
        raise InvalidEmail(f"An email address may have at most {MAX_EMAIL_LENGTH} characters.")
    return canonical


def canonical_email_or_none(value: str) -> str | None:
    """``canonical_email`` for lookups: an address that cannot be canonical matches nobody."""
    try:
        return canonical_email(value)
    except InvalidEmail:
        return None


@dataclass
class CanonicalPlan:
    """How stored addresses move to their canonical form (`plan_canonical_emails`)."""

    updates: dict[Any, str] = field(default_factory=dict)  # pk -> canonical, rows that change
    collisions: dict[tuple[Hashable, str], list[tuple[Any, str]]] = field(default_factory=dict)
    invalid: list[tuple[Any, str, str]] = field(default_factory=list)  # (pk, stored, why)

    def report(self, what: str) -> str:
        """A report for operators: what was left unchanged and what to do about it ("" if nothing)."""
        lines = []
        for (_, canonical), rows in sorted(self.collisions.items(), key=lambda item: item[0][1]):
            listed = ", ".join(f"{stored!r} (id {pk})" for pk, stored in rows)
            lines.append(f"  - {len(rows)} {what} would all become {canonical!r}: {listed}")
        for pk, stored, why in self.invalid:
            lines.append(f"  - {what} id {pk} has {stored!r}, which cannot be made canonical: {why}")
        if not lines:
            return ""
        return "\n".join(
            [
                f"Canonical emails: {len(lines)} {what} problem(s) left UNCHANGED, and such rows match "
                "no sign-in or invitation until fixed:",
                *lines,
                "  Fix them in the admin (merge or delete duplicates, correct invalid addresses), then run "
                "`python manage.py canonicalize_emails`.",
            ]
        )


def plan_canonical_emails(rows: Iterable[tuple[Any, str, Hashable]]) -> CanonicalPlan:
    """Plan the move of stored `(pk, email, scope)` rows to canonical emails.

    Rows whose canonical emails coincide within one uniqueness `scope` (None: the whole table) are
    collisions: none of them is changed, since choosing which one keeps the address is a person's
    call (one may be an impostor's). Rows that cannot be made canonical are left and listed too.
    """
    plan = CanonicalPlan()
    groups: dict[tuple[Hashable, str], list[tuple[Any, str]]] = {}
    for pk, stored, scope in rows:
        try:
            canonical = canonical_email(stored)
        except InvalidEmail as exc:
            plan.invalid.append((pk, stored, str(exc)))
            continue
        groups.setdefault((scope, canonical), []).append((pk, stored))
    for key, members in groups.items():
        if len(members) > 1:
            plan.collisions[key] = members
            continue
        pk, stored = members[0]
        if stored != key[1]:
            plan.updates[pk] = key[1]
    return plan


def canonicalize_stored_emails(
    queryset: Any, *, fields: tuple[str, ...] = (), scope: Callable[[dict[str, Any]], Hashable] | None = None
) -> CanonicalPlan:
    """Rewrite the `email` column of `queryset`'s rows to canonical form where that is unambiguous.

    Shared by the data migrations (historical models) and `manage.py canonicalize_emails`;
    `scope(row)` gives a row's uniqueness scope from `fields` (default: the whole table).
    """
    rows = list(queryset.values("pk", "email", *fields))
    plan = plan_canonical_emails((row["pk"], row["email"], scope(row) if scope else None) for row in rows)
    for pk, canonical in plan.updates.items():
        queryset.filter(pk=pk).update(email=canonical)
    return plan


def invitation_scope(row: dict[str, Any]) -> Hashable:
    """Open invitations are unique per (org, email); accepted ones may repeat."""
    return row["org_id"] if row["accepted_at"] is None else ("accepted", row["pk"])


def canonicalize_and_report(queryset: Any, what: str, **options: Any) -> CanonicalPlan:
    """`canonicalize_stored_emails`, printing the report (if any) to stderr: the data migrations."""
    plan = canonicalize_stored_emails(queryset, **options)
    report = plan.report(what)
    if report:
        print("\n" + report, file=sys.stderr)
    return plan
