"""Why the hub refuses or fails an exchange: one code per cause, with its HTTP status and who is at fault.

Partners program against these codes, so they are stable; ``docs/api.md`` lists them. ``source`` tells a
hub failure (or a hub decision) apart from a failure of the provider that holds the data.
"""

from __future__ import annotations

from enum import StrEnum


class Source(StrEnum):
    HUB = "hub"
    PROVIDER = "provider"


class Reason(StrEnum):
    """Refusal and failure codes. The value is what partners see in ``error.reason``."""

    TOKEN_MISSING = "token_missing"
    TOKEN_INVALID = "token_invalid"
    TOKEN_REVOKED = "token_revoked"
    MISSING_HEADER = "missing_header"
    INVALID_HEADER = "invalid_header"
    INVALID_INSZ = "invalid_insz"
    INVALID_REQUEST = "invalid_request"
    BODY_TOO_LARGE = "body_too_large"
    MESSAGE_ID_REUSED = "message_id_reused"
    NO_DELIBERATION = "no_deliberation"
    PURPOSE_NOT_COVERED = "purpose_not_covered"
    DELIBERATION_NOT_IN_FORCE = "deliberation_not_in_force"
    PERSON_UNKNOWN = "person_unknown"
    NOT_INTEGRATED = "not_integrated"
    CAPACITY_NOT_COVERED = "capacity_not_covered"
    OUTSIDE_INTEGRATION_PERIOD = "outside_integration_period"
    CAPACITY_UNKNOWN = "capacity_unknown"
    INTEGRATION_CONFLICT = "integration_conflict"
    SERVICE_UNAVAILABLE = "service_unavailable"
    AUDIT_UNAVAILABLE = "audit_unavailable"
    HUB_ERROR = "hub_error"
    PROVIDER_TIMEOUT = "provider_timeout"
    PROVIDER_UNREACHABLE = "provider_unreachable"
    PROVIDER_ERROR = "provider_error"
    PROVIDER_BAD_ANSWER = "provider_bad_answer"

    @property
    def http_status(self) -> int:
        return _STATUS[self]

    @property
    def source(self) -> Source:
        return Source.PROVIDER if self.value.startswith("provider_") else Source.HUB

    @property
    def final(self) -> bool:
        """A decision (kept for idempotent retries) rather than a transient failure (worth retrying)."""
        return self.http_status < 500


_STATUS: dict[Reason, int] = {
    Reason.TOKEN_MISSING: 401,
    Reason.TOKEN_INVALID: 401,
    Reason.TOKEN_REVOKED: 401,
    Reason.MISSING_HEADER: 400,
    Reason.INVALID_HEADER: 400,
    Reason.INVALID_INSZ: 400,
    Reason.INVALID_REQUEST: 422,
    Reason.BODY_TOO_LARGE: 413,
    Reason.MESSAGE_ID_REUSED: 409,
    Reason.NO_DELIBERATION: 403,
    Reason.PURPOSE_NOT_COVERED: 403,
    Reason.DELIBERATION_NOT_IN_FORCE: 403,
    Reason.PERSON_UNKNOWN: 404,
    Reason.NOT_INTEGRATED: 403,
    Reason.CAPACITY_NOT_COVERED: 403,
    Reason.OUTSIDE_INTEGRATION_PERIOD: 403,
    Reason.CAPACITY_UNKNOWN: 422,
    Reason.INTEGRATION_CONFLICT: 409,
    Reason.SERVICE_UNAVAILABLE: 503,
    Reason.AUDIT_UNAVAILABLE: 503,
    Reason.HUB_ERROR: 500,
    Reason.PROVIDER_TIMEOUT: 504,
    Reason.PROVIDER_UNREACHABLE: 502,
    Reason.PROVIDER_ERROR: 502,
    Reason.PROVIDER_BAD_ANSWER: 502,
}


class Refused(Exception):
    """The hub will not (or cannot) answer; raised inside the exchange flow, turned into an error reply."""

    def __init__(self, reason: Reason, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.field = field


class NetworkError(ValueError):
    """An administrative operation (partners, deliberations, directory) that cannot be carried out."""
