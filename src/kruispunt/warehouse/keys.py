"""Pseudonymisation keys and keyed pseudonyms (HMAC-SHA256).

The warehouse key maps person ids to the warehouse's stable internal pseudonym; each research project has
its own key mapping warehouse pseudonyms to project pseudonyms. Keys live under ``KRUISPUNT_HOME/keys/``
(directory 0700, files 0600), never beside the data they key. Destroying a project key ends the
linkability of that project's extracts: nobody can compute its pseudonyms again.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

import numpy as np
import polars as pl

from kruispunt.warehouse.errors import WarehouseError

KEY_BYTES = 32
_PROJECT = re.compile(r"^[a-z0-9][a-z0-9_-]{1,62}$")


def keys_dir(home: Path) -> Path:
    return home / "keys"


def _ensure_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)


def _create_key(path: Path) -> bytes:
    """Write a fresh random key readable by the owner only (created 0600, never world-readable)."""
    _ensure_dir(path.parent)
    key = secrets.token_bytes(KEY_BYTES)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key.hex().encode())
    return key


def _read_key(path: Path) -> bytes:
    if path.stat().st_mode & 0o077:
        raise WarehouseError(f"key file {path} is readable by others; make it 0600")
    return bytes.fromhex(path.read_text().strip())


def warehouse_key(home: Path, *, create: bool = True) -> bytes:
    """The warehouse pseudonym key, created on first use."""
    path = keys_dir(home) / "warehouse.key"
    if path.exists():
        return _read_key(path)
    if not create:
        raise WarehouseError(f"no warehouse key under {keys_dir(home)}; build the warehouse first")
    return _create_key(path)


def key_id(key: bytes) -> str:
    """A fingerprint naming a key in logs and manifests without revealing it."""
    return hashlib.sha256(b"kruispunt key id:" + key).hexdigest()[:16]


def check_project_name(project: str) -> str:
    if not _PROJECT.match(project):
        raise WarehouseError(
            f"project name {project!r}: 2-63 lower-case letters, digits, '-' or '_', starting alphanumeric"
        )
    return project


def project_key_path(home: Path, project: str) -> Path:
    return keys_dir(home) / "projects" / f"{check_project_name(project)}.key"


def project_key(home: Path, project: str, *, create: bool) -> bytes | None:
    """The project's key; a new one when ``create`` and none exists; None when absent."""
    path = project_key_path(home, project)
    if path.exists():
        return _read_key(path)
    return _create_key(path) if create else None


def destroy_project_key(home: Path, project: str) -> bool:
    """Overwrite and delete the project's key file; False when there was none."""
    path = project_key_path(home, project)
    if not path.exists():
        return False
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.write(secrets.token_bytes(size))
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink()
    return True


def person_pseudonyms(person_ids: pl.Series, key: bytes) -> pl.Series:
    """Stable 63-bit warehouse pseudonyms: HMAC-SHA256(key, person_id as 8 bytes), first 8 bytes.

    Raises WarehouseError on a collision (about 1 in 10^5 at 11.7 million persons per key), so a build
    never silently merges two persons; a new key resolves it.
    """
    values = person_ids.cast(pl.Int64).to_numpy()
    digests = b"".join(hmac.digest(key, int(v).to_bytes(8, "big", signed=True), "sha256")[:8] for v in values)
    pids = np.frombuffer(digests, dtype=">i8").astype(np.int64) & np.int64(0x7FFF_FFFF_FFFF_FFFF)
    result = pl.Series("pid", pids, dtype=pl.Int64)
    if result.n_unique() != len(result):
        raise WarehouseError("warehouse pseudonym collision; rotate the warehouse key and rebuild")
    return result


def project_pseudonyms(pids: pl.Series, key: bytes) -> pl.Series:
    """Project pseudonyms: HMAC-SHA256(project key, warehouse pid), as 64 hexadecimal characters."""
    raw = pids.cast(pl.Int64).to_numpy().astype(">i8").tobytes()
    return pl.Series(
        "person",
        [hmac.digest(key, raw[i : i + 8], "sha256").hex() for i in range(0, len(raw), 8)],
        dtype=pl.String,
    )
