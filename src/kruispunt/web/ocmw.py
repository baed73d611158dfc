"""The OCMW social worker's pages: the outreach list of people who may be entitled to aid but never asked,
drawn only under a deliberation that names the OCMW, and logged person by person in the audit chain; and
one person's statuses (a consultation of the exchange hub for the OCMW, authorised against its
deliberation and its integration of the person, and logged) with the person's rights history."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import Response

from kruispunt import identity, impact, network, rights, statuses
from kruispunt.web.accounts import Role
from kruispunt.web.context import Page, WebContext, page_dependency

DEFAULT_PURPOSE = "social-inquiry"


def _hub(page: Page) -> network.Hub | None:
    """The server's running hub, when the pages are served next to the exchange API."""
    hub = getattr(page.request.app.state, "hub", None)
    return hub if isinstance(hub, network.Hub) else None


def _rule_names(language: str) -> dict[str, str]:
    return {rule.id: str(getattr(rule.title, language)) for rule in rights.load_catalogue().values()}


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

    @router.get("/ocmw/person", name="web_ocmw_person")
    def person_form(page: PageDep) -> Response:
        page.require(Role.OCMW)
        return page.render("ocmw_person.html", on=date.today(), purpose=DEFAULT_PURPOSE)

    @router.post("/ocmw/person", name="web_ocmw_person_post")
    def person(
        page: PageDep,
        csrf_token: Annotated[str, Form()],
        insz: Annotated[str, Form(max_length=40)],
        case_reference: Annotated[str, Form(max_length=100)],
        on: Annotated[date, Form()],
        purpose: Annotated[str, Form(max_length=60)] = DEFAULT_PURPOSE,
    ) -> Response:
        account = page.require(Role.OCMW).account
        page.check_csrf(csrf_token)
        context: dict[str, Any] = {
            "on": on,
            "insz": insz,
            "case_reference": case_reference,
            "purpose": purpose,
            "catalogue": statuses.catalogue(),
        }
        if account.organisation is None:
            return page.render("ocmw_person.html", status=403, refusal="no_partner", **context)
        reply = network.consult(
            page.engine,
            account.organisation,
            network.StatusQuery(insz, at=on),
            end_user=account.username,
            case_reference=case_reference,
            purpose=purpose,
            hub=_hub(page),
        )
        answer = reply.json()
        if reply.reason is not None:
            error = answer["error"]
            return page.render(
                "ocmw_person.html",
                status=reply.status,
                refusal=error["reason"],
                message=error["message"],
                audit_seq=reply.audit_seq,
                **context,
            )
        record = identity.find_person(page.engine, answer["insz"], on)
        history = rights.grant_history(page.engine, record.person_id) if record else []
        return page.render(
            "ocmw_person.html",
            answer=answer,
            periods=[
                {**p, "start_date": date.fromisoformat(p["start_date"]), "end_date": _day(p["end_date"])}
                for p in answer["statuses"]
            ],
            history=history,
            rule_names=_rule_names(page.language),
            audit_seq=reply.audit_seq,
            **context,
        )


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None
