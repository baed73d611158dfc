"""HTTP routes of the consultation API (mounted under ``/v1``): each turns a request into a hub call.

The call metadata travel in headers (``X-Message-Id``, ``X-End-User``, ``X-Case-Reference``,
``X-Purpose``) next to ``Authorization: Bearer``. Answers are written by the hub as JSON bytes; the
response models below only describe them in the OpenAPI document.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import Field, TypeAdapter, ValidationError
from starlette.datastructures import Headers

from kruispunt.network.deliberations import PURPOSE_PATTERN
from kruispunt.network.hub import (
    MESSAGE_ID_PATTERN,
    TEXT_PATTERN,
    CallMeta,
    DirectoryEnding,
    DirectoryQuery,
    DirectoryRegistration,
    Hub,
    IdentityQuery,
    Reply,
    StatusQuery,
)
from kruispunt.network.schemas import (
    ErrorAnswer,
    IdentityAnswer,
    IntegrationChanged,
    IntegrationEndIn,
    IntegrationIn,
    IntegrationsAnswer,
    StatusesAnswer,
)


@asynccontextmanager
async def _serving(_app: Any) -> AsyncIterator[None]:
    """While the API serves: keep what startup built (and lives as long as the process) out of the garbage
    collector's full passes, which otherwise walk it all and pause every call for a few hundred ms."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


router = APIRouter(tags=["exchange"], lifespan=_serving)
bearer = HTTPBearer(auto_error=False, description="The partner's bearer token (shown once when issued).")

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorAnswer, "description": text}
    for code, text in (
        (400, "Malformed INSZ or call metadata."),
        (401, "Token missing, unknown or revoked."),
        (403, "No deliberation, or no integration of the person in a required capacity and period."),
        (404, "Person unknown (directory registration)."),
        (409, "Message id reused for a different request, or a conflicting integration."),
        (413, "Request body too large."),
        (422, "Invalid request parameters."),
        (502, "The provider failed (source: provider)."),
        (503, "The audit log or the service is unavailable: nothing was carried out."),
        (504, "The provider did not answer in time."),
    )
}


async def call_meta(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    message_id: Annotated[str | None, Header(alias="X-Message-Id", description="Unique per message.")] = None,
    end_user: Annotated[
        str | None, Header(alias="X-End-User", description="Who asks, at the partner.")
    ] = None,
    case_reference: Annotated[str | None, Header(alias="X-Case-Reference", description="The file.")] = None,
    purpose: Annotated[str | None, Header(alias="X-Purpose", description="Purpose code.")] = None,
) -> CallMeta:
    return CallMeta(
        credentials.credentials if credentials else None, message_id, end_user, case_reference, purpose
    )


Meta = Annotated[CallMeta, Depends(call_meta)]
Insz = Annotated[str, Path(max_length=40, description="INSZ in any usual spelling.")]


def meta_of(headers: Headers) -> CallMeta:
    """What :func:`call_meta` makes of the request's headers (the bearer token as ``HTTPBearer`` reads it)."""
    authorization = headers.get("Authorization")
    scheme, token = get_authorization_scheme_param(authorization)
    bearer_token = token if authorization and scheme.lower() == "bearer" and token else None
    return CallMeta(
        bearer_token,
        headers.get("X-Message-Id"),
        headers.get("X-End-User"),
        headers.get("X-Case-Reference"),
        headers.get("X-Purpose"),
    )


_PATH_INSZ: TypeAdapter[str] = TypeAdapter(Annotated[str, Field(max_length=40)])
_DAY: TypeAdapter[date] = TypeAdapter(date)


def _parsed(adapter: TypeAdapter[Any], value: str | None, where: str, name: str) -> Any:
    """``value`` validated as FastAPI would; its error, located as FastAPI locates it, when invalid."""
    if value is None:
        return None
    try:
        return adapter.validate_python(value)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": (where, name)} for e in error.errors(include_url=False)]
        ) from None


class _StatusesRoute(APIRoute):
    """The status consultation's route: its few parameters read directly instead of by FastAPI's generic
    dependency and validation machinery, which costs as much as the consultation itself.

    The endpoint's signature still declares them, so the OpenAPI document is unchanged, and they are
    validated with the same types and limits: an invalid one is the same 422 ``invalid_request``.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return answer_statuses


async def answer_statuses(request: Request) -> Response:
    """The status consultation for ``request`` (its path parameter ``insz`` already matched).

    Raises RequestValidationError for an invalid parameter, as FastAPI's own validation would.
    """
    insz = _parsed(_PATH_INSZ, request.path_params["insz"], "path", "insz")
    query = request.query_params
    at, start, end = (_parsed(_DAY, query.get(name), "query", name) for name in ("at", "from", "to"))
    return await get_statuses(request, insz, meta_of(request.headers), at, start, end)


CALL_HEADERS = {
    "X-Message-Id": MESSAGE_ID_PATTERN.pattern,
    "X-End-User": TEXT_PATTERN.pattern,
    "X-Case-Reference": TEXT_PATTERN.pattern,
    "X-Purpose": PURPOSE_PATTERN.pattern,
}


def document_call_headers(openapi: dict[str, Any]) -> dict[str, Any]:
    """Mark the call metadata headers required, with their patterns, in the OpenAPI document.

    The routes accept calls without them so that the hub, not the framework, refuses such calls, with
    a reason code and an audit record; the document still tells partners the truth.
    """
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                pattern = (
                    CALL_HEADERS.get(parameter.get("name", "")) if parameter.get("in") == "header" else None
                )
                if pattern is not None:
                    parameter["required"] = True
                    parameter["schema"] = {"type": "string", "pattern": pattern, "maxLength": 100}
    return openapi


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def _send(reply: Reply) -> Response:
    headers = {"X-Audit-Seq": str(reply.audit_seq)} if reply.audit_seq is not None else {}
    if reply.reason is not None:
        headers["X-Error-Source"] = reply.reason.source.value
    if reply.replayed:
        headers["X-Replayed"] = "true"
    return Response(reply.body, reply.status, headers=headers, media_type="application/json")


async def get_statuses(
    request: Request,
    insz: Insz,
    meta: Meta,
    at: Annotated[date | None, Query(description="Statuses valid on this day (default today).")] = None,
    start: Annotated[date | None, Query(alias="from", description="Period start (with to).")] = None,
    end: Annotated[date | None, Query(alias="to", description="Period end, inclusive.")] = None,
) -> Response:
    """A person's harmonised social statuses on a day or over a period, as the deliberation allows."""
    return _send(await _hub(request).consult_statuses(meta, StatusQuery(insz, at, start, end)))


router.add_api_route(
    "/persons/{insz}/statuses",
    get_statuses,
    methods=["GET"],
    response_model=None,
    responses={200: {"model": StatusesAnswer}, **ERRORS},
    operation_id="get_statuses",
    route_class_override=_StatusesRoute,
)


@router.get(
    "/persons/{insz}/identity",
    response_model=None,
    responses={200: {"model": IdentityAnswer}, **ERRORS},
    operation_id="get_identity",
)
def get_identity(
    request: Request,
    insz: Insz,
    meta: Meta,
    at: Annotated[date | None, Query(description="As of this day (default today).")] = None,
) -> Response:
    """A person's identity and household composition: only the fields the deliberation allows."""
    return _send(_hub(request).exchange(meta, IdentityQuery(insz, at)))


@router.get(
    "/directory/integrations",
    response_model=None,
    responses={200: {"model": IntegrationsAnswer}, **ERRORS},
    operation_id="list_integrations",
)
def list_integrations(
    request: Request,
    meta: Meta,
    insz: Annotated[str | None, Query(max_length=40, description="Only this person.")] = None,
) -> Response:
    """Your own entries in the reference directory, current and ended."""
    return _send(_hub(request).exchange(meta, DirectoryQuery(insz)))


@router.post(
    "/directory/integrations",
    response_model=None,
    status_code=201,
    responses={201: {"model": IntegrationChanged}, **ERRORS},
    operation_id="register_integration",
)
def register_integration(request: Request, meta: Meta, body: IntegrationIn) -> Response:
    """Register that you hold a file on a person, in a capacity of your sector, for a period."""
    return _send(
        _hub(request).exchange(meta, DirectoryRegistration(body.insz, body.capacity, body.start, body.end))
    )


@router.post(
    "/directory/integrations/end",
    response_model=None,
    status_code=201,
    responses={201: {"model": IntegrationChanged}, **ERRORS},
    operation_id="end_integration",
)
def end_integration(request: Request, meta: Meta, body: IntegrationEndIn) -> Response:
    """End your integration of a person in a capacity: ``end`` becomes its last day."""
    return _send(_hub(request).exchange(meta, DirectoryEnding(body.insz, body.capacity, body.end)))
