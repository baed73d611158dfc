"""Settings of the exchange hub, from ``KRUISPUNT_*`` environment variables like the rest of kruispunt."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class HubSettings(BaseSettings):
    """``KRUISPUNT_MAX_BODY_BYTES``: largest request body accepted (413 above it).
    ``KRUISPUNT_AUDIT_RETENTION_DAYS``: how long ``kruispunt audit purge`` keeps audit records (default
    ten years, the usual term for social-security access logs).
    """

    model_config = SettingsConfigDict(env_prefix="KRUISPUNT_", extra="ignore")

    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    audit_retention_days: int = Field(default=3650, ge=1)
