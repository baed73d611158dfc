"""The citizen's own page: register record, household, address history, social statuses."""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from kruispunt import identity, statuses
from kruispunt.web.accounts import Role
from kruispunt.web.context import Page, PageError, WebContext, page_dependency


def add_routes(router: APIRouter, web: WebContext) -> None:
    PageDep = Annotated[Page, Depends(page_dependency(web))]

    @router.get("/me", name="web_citizen")
    def my_data(page: PageDep) -> Response:
        account = page.require(Role.CITIZEN).account
        if account.insz is None:
            raise PageError(404, "not_in_register")
        record = identity.find_person(page.engine, account.insz)
        if record is None:
            raise PageError(404, "not_in_register")
        periods = statuses.person_statuses(page.engine, record.insz)
        return page.render(
            "citizen.html",
            record=record,
            periods=periods,
            catalogue=statuses.catalogue(),
        )
