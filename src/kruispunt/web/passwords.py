"""Password hashing with scrypt (RFC 7914) from the standard library.

A stored hash reads ``scrypt$<n>$<r>$<p>$<salt>$<key>`` (base64), so the cost can be raised later and old
hashes still verify; :func:`needs_rehash` says when a hash was made with weaker parameters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

_SCHEME = "scrypt"
_KEY_BYTES = 32
_SALT_BYTES = 16


@dataclass(frozen=True)
class ScryptCost:
    n: int = 2**15
    r: int = 8
    p: int = 1

    @property
    def maxmem(self) -> int:
        return 128 * self.n * self.r * self.p + 1024 * 1024


DEFAULT_COST = ScryptCost()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _derive(password: str, salt: bytes, cost: ScryptCost) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=cost.n,
        r=cost.r,
        p=cost.p,
        maxmem=cost.maxmem,
        dklen=_KEY_BYTES,
    )


def hash_password(password: str, cost: ScryptCost = DEFAULT_COST) -> str:
    """A salted scrypt hash of ``password``, self-describing."""
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _derive(password, salt, cost)
    return f"{_SCHEME}${cost.n}${cost.r}${cost.p}${_b64(salt)}${_b64(key)}"


def _parse(stored: str) -> tuple[ScryptCost, bytes, bytes]:
    scheme, n, r, p, salt, key = stored.split("$")
    if scheme != _SCHEME:
        raise ValueError(f"unknown password hash scheme {scheme!r}")
    return ScryptCost(int(n), int(r), int(p)), base64.b64decode(salt), base64.b64decode(key)


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``, compared in constant time."""
    cost, salt, key = _parse(stored)
    return hmac.compare_digest(_derive(password, salt, cost), key)


def needs_rehash(stored: str, cost: ScryptCost = DEFAULT_COST) -> bool:
    return _parse(stored)[0] != cost


def burn_time(password: str) -> None:
    """Spend about the time of a real verification, so an unknown user name is not told apart by timing."""
    _derive(password, bytes(_SALT_BYTES), DEFAULT_COST)


def generate_password(words: int = 4) -> str:
    """A random password easy to type: groups of lower-case letters and digits joined by dashes."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(words))
