"""The shapes of the hub's answers, shared by the API (OpenAPI schema) and the provider protocol."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class StatusOut(BaseModel):
    """One period of a harmonised status, as a partner (or an external provider) sees it."""

    model_config = ConfigDict(extra="ignore")

    status: str = Field(description="Status code of the GSS catalogue, e.g. LEEFLOON.")
    start_date: date
    end_date: date | None = Field(description="Last day; null while running.")
    source: str | None = Field(default=None, description="Source institution code.")


class ProviderStatuses(BaseModel):
    """What an external statuses provider answers (see docs/api.md, "Providers")."""

    statuses: list[StatusOut]


class StatusesAnswer(BaseModel):
    insz: str
    at: date | None = None
    start: date | None = Field(default=None, alias="from")
    end: date | None = Field(default=None, alias="to")
    deliberation: str
    capacity: int
    statuses: list[StatusOut]
    message_id: str
    audit_seq: int


class AddressOut(BaseModel):
    municipality_nis: str
    postal_code: str | None
    street: str | None
    house_number: str | None
    valid_from: date
    valid_to: date | None


class MemberOut(BaseModel):
    insz: str
    last_name: str
    first_name: str
    role: str


class PersonOut(BaseModel):
    """Only the fields the deliberation allows are present; ``insz`` always is."""

    model_config = ConfigDict(extra="ignore")

    insz: str
    last_name: str | None = None
    first_name: str | None = None
    birth_date: date | None = None
    sex: str | None = None
    death_date: date | None = None
    address: AddressOut | None = None
    household: list[MemberOut] | None = None


class ProviderPerson(BaseModel):
    person: PersonOut


class IdentityAnswer(BaseModel):
    at: date
    deliberation: str
    capacity: int
    person: PersonOut
    message_id: str
    audit_seq: int


class IntegrationOut(BaseModel):
    insz: str
    sector: int
    capacity: int
    valid_from: date
    valid_to: date | None


class IntegrationsAnswer(BaseModel):
    integrations: list[IntegrationOut]
    message_id: str
    audit_seq: int


class IntegrationIn(BaseModel):
    """Register a person in the reference directory (ManageAccess "register")."""

    model_config = ConfigDict(extra="forbid")

    insz: str = Field(max_length=20, description="INSZ in any usual spelling.")
    capacity: int = Field(ge=1, le=9999, description="Capacity code of your sector.")
    start: date = Field(description="First day of the file.")
    end: date | None = Field(default=None, description="Last day; null for open-ended.")


class IntegrationEndIn(BaseModel):
    """End an integration (ManageAccess "unregister"): ``end`` becomes its last day."""

    model_config = ConfigDict(extra="forbid")

    insz: str = Field(max_length=20)
    capacity: int = Field(ge=1, le=9999)
    end: date


class IntegrationChanged(BaseModel):
    changed: int
    message_id: str
    audit_seq: int


class ErrorDetail(BaseModel):
    reason: str = Field(description="Stable refusal or failure code (docs/api.md lists them).")
    source: str = Field(description="'hub' or 'provider': who refused or failed.")
    message: str
    field: str | None = None
    message_id: str | None = None
    audit_seq: int | None = Field(default=None, description="The audit record of this refusal, when logged.")


class ErrorAnswer(BaseModel):
    error: ErrorDetail
