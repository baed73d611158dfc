"""The OCMW social worker's page: the outreach list of people who may be entitled to aid but never asked,
drawn only under a deliberation that names the OCMW, and logged person by person in the audit chain."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import Response

from kruispunt import impact
from kruispunt.web.accounts import Role
from kruispunt.web.context import Page, WebContext, page_dependency


def add_routes(router: APIRouter, web: WebContext) -> None:
    PageDep = Annotated[Page, Depends(page_dependency(web))]

    @router.get("/ocmw", name="web_ocmw")
    def outreach_form(page: PageDep) -> Response:
        page.require(Role.OCMW)
        return page.render("ocmw.html", on=date.today(), indicators=impact.INDICATORS)

    @router.post("/ocmw", name="web_ocmw_post")
    def outreach(
        page: PageDep,
        csrf_token: Annotated[str, Form()],
        on: Annotated[date, Form()],
        case_reference: Annotated[str | None, Form(max_length=100)] = None,
    ) -> Response:
        account = page.require(Role.OCMW).account
        page.check_csrf(csrf_token)
        context: dict[str, Any] = {
            "on": on,
            "indicators": impact.INDICATORS,
            "case_reference": case_reference,
        }
        if account.organisation is None or account.municipality_nis is None:
            return page.render("ocmw.html", status=403, refusal="no_partner", **context)
        try:
            listing = impact.outreach(
                page.engine,
                account.municipality_nis,
                on,
                partner=account.organisation,
                end_user=account.username,
                case_reference=case_reference or None,
            )
        except impact.OutreachRefused as refused:
            return page.render(
                "ocmw.html", status=403, refusal=refused.reason.value, message=str(refused), **context
            )
        return page.render("ocmw.html", listing=listing, summary=listing.as_dict(), **context)
