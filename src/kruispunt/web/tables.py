"""The web room's own state: local accounts (simulated sign-in) and server-side sessions.

A session row is keyed by the SHA-256 of the random token kept in the browser's cookie, so a leaked
database copy does not hand out live sessions; signing out deletes the row.
"""

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, Table

from kruispunt.store import ID, metadata

web_account = Table(
    "web_account",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("username", String(80), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("password_hash", String(300), nullable=False),
    Column("insz", String(11), nullable=True),
    Column("municipality_nis", String(5), nullable=True),
    Column("organisation", String(20), nullable=True),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("failed_attempts", Integer, nullable=False, default=0),
    Column("locked_until", DateTime, nullable=True),
    Column("created_at", DateTime, nullable=False),
)

web_session = Table(
    "web_session",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("account_id", ID, ForeignKey("web_account.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)
