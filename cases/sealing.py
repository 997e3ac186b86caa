"""Credentials the service must keep in order to act for someone — a mediator's CalDAV password
or token — are stored sealed, never as typed.

A database copy, a backup or a support dump then holds no usable calendar password. The key is
derived from ``CMP_SECRET_KEY`` (HKDF-SHA256 with its own label, so it is never the key that signs
links); Fernet gives authenticated encryption, so a value sealed under another key is refused, not
misread. Changing ``CMP_SECRET_KEY`` therefore means entering calendar secrets again: the calendar
sync says so for each mediator concerned.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "sealed:v1:"


class SealError(ValueError):
    """A sealed value that this key cannot open (sealed under another key, or damaged)."""


class Sealer:
    def __init__(self, secret_key: str) -> None:
        if len(secret_key) < 16:
            raise ValueError("the secret key is too short to seal credentials with")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"cmp: sealed calendar credentials").derive(secret_key.encode())  # fmt: skip
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def __repr__(self) -> str:
        return "Sealer(<key hidden>)"

    def seal(self, plain: str | None) -> str | None:
        if not plain:
            return None
        return PREFIX + self._fernet.encrypt(plain.encode()).decode("ascii")

    def open(self, stored: str | None) -> str | None:
        """The credential as typed. A value without the prefix was stored before sealing existed
        and is returned as it is."""
        if not stored:
            return None
        if not stored.startswith(PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored.removeprefix(PREFIX).encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise SealError("cannot be opened with the current secret key; enter it again") from exc
