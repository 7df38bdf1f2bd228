"""Verifying bcrypt hashes imported from Supabase Auth (`$2a$`/`$2b$`, stored as `bcrypt$<hash>`).

Django's `BCryptPasswordHasher` would do, except for two inputs that must not become a 500 on a
sign-in: bcrypt ≥ 5 raises `ValueError` for passwords longer than 72 bytes (Supabase's Go bcrypt
silently used their first 72 bytes, so that is what the imported hash was made from), and a
damaged hash raises `ValueError` ("Invalid salt"), which here simply fails verification.

Listed after Django's default hashers in `PASSWORD_HASHERS`, so a successful sign-in re-hashes the
password with the default hasher and the bcrypt hash disappears on first use.
"""

from __future__ import annotations

import re

from django.contrib.auth.hashers import BCryptPasswordHasher

# The key schedule of bcrypt uses at most this many bytes of the password.
BCRYPT_MAX_PASSWORD_BYTES = 72
ALGORITHM = "bcrypt"
_BCRYPT_HASH = re.compile(r"^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$")


def is_bcrypt_hash(value: str | None) -> bool:
    """True for a modular-crypt bcrypt hash such as Supabase's `$2a$10$…` (60 characters)."""
    return bool(value) and bool(_BCRYPT_HASH.match(value))


def django_encoded_from_bcrypt(bcrypt_hash: str) -> str:
    """The `User.password` value under which Django finds this hasher for a raw bcrypt hash."""
    if not is_bcrypt_hash(bcrypt_hash):
        raise ValueError("not a bcrypt hash ($2a$/$2b$/$2y$, 60 characters)")
    return f"{ALGORITHM}${bcrypt_hash}"


class ImportedBCryptPasswordHasher(BCryptPasswordHasher):
    algorithm = ALGORITHM

    def encode(self, password: str, salt: bytes) -> str:
        bcrypt = self._load_library()
        data = bcrypt.hashpw(password.encode()[:BCRYPT_MAX_PASSWORD_BYTES], salt)
        return f"{self.algorithm}${data.decode('ascii')}"

    def verify(self, password: str, encoded: str) -> bool:
        try:
            return super().verify(password, encoded)
        except ValueError:  # a damaged hash: no password matches it
            return False
