"""The citizen's own pages: register record, household, address history, social statuses, the rights
granted and why, and who consulted their data under which authorisation."""

from datetime import date
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from fastapi.responses import Response

from kruispunt import identity, network, rights, statuses
from kruispunt.web.accounts import Role
from kruispunt.web.context import Page, PageError, WebContext, page_dependency


def _record(page: Page) -> identity.PersonRecord:
    account = page.require(Role.CITIZEN).account
    record = identity.find_person(page.engine, account.insz) if account.insz else None
    if record is None:
        raise PageError(404, "not_in_register")
    return record


def _my_grants(page: Page, person_id: int) -> list[dict[str, Any]]:
    """Every right currently granted to the person, with its rule, newest period first."""
    found: list[dict[str, Any]] = []
    for rule in rights.load_catalogue().values():
        mine = rights.active_grants(page.engine, rule.id).filter(pl.col("person_id") == person_id)
        found += [{"rule": rule, **row} for row in mine.to_dicts()]
    return sorted(found, key=lambda g: g["period_start"], reverse=True)


def add_routes(router: APIRouter, web: WebContext) -> None:
    PageDep = Annotated[Page, Depends(page_dependency(web))]

    @router.get("/me", name="web_citizen")
    def my_data(page: PageDep) -> Response:
        record = _record(page)
        return page.render(
            "citizen.html",
            record=record,
            periods=statuses.person_statuses(page.engine, record.insz),
            catalogue=statuses.catalogue(),
            grants=_my_grants(page, record.person_id),
            consultations=network.who_consulted(page.engine, record.insz),
        )

    @router.get("/me/rights/{rule_id}/{on}", name="web_citizen_right")
    def why(
        page: PageDep, rule_id: Annotated[str, PathParam(pattern=r"^[a-z0-9-]{1,80}$")], on: date
    ) -> Response:
        record = _record(page)
        try:
            explanation = rights.explain(page.engine, rule_id, record.insz, on)
        except (rights.UnknownRule, rights.PersonNotFound):
            raise PageError(404, "not_found") from None
        return page.render("citizen_right.html", explanation=explanation, catalogue=statuses.catalogue())
