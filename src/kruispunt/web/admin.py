"""The institution administrator's pages: partners, deliberations, reference-directory figures, mutation
feed subscriptions, their backlog (entries not yet acknowledged) and webhook dead letters, and the state of
the audit chain."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from kruispunt import network
from kruispunt.network import feeds
from kruispunt.web.accounts import Role
from kruispunt.web.context import Page, WebContext, page_dependency


def _current_integrations(page: Page, kbo: str, today: date) -> int:
    return sum(i.covers(today, today) for i in network.list_integrations(page.engine, kbo))


def add_routes(router: APIRouter, web: WebContext) -> None:
    PageDep = Annotated[Page, Depends(page_dependency(web))]

    @router.get("/admin", name="web_admin")
    def overview(page: PageDep) -> Response:
        page.require(Role.ADMIN)
        today = date.today()
        partners = network.list_partners(page.engine)
        seq, digest = network.audit_head(page.engine)
        return page.render(
            "admin.html",
            today=today,
            partners=partners,
            integrations={p.kbo: _current_integrations(page, p.kbo, today) for p in partners},
            subscriptions={p.kbo: feeds.list_subscriptions(page.engine, p.kbo) for p in partners},
            dead_letters={p.kbo: len(feeds.dead_letters(page.engine, p.kbo)) for p in partners},
            backlog=feeds.backlog(page.engine),
            deliberations=network.list_deliberations(page.engine),
            head_seq=seq,
            head_hash=digest,
        )

    @router.get("/admin/audit", name="web_admin_audit")
    def audit(page: PageDep) -> Response:
        page.require(Role.ADMIN)
        return page.render("admin_audit.html", verification=network.verify_audit(page.engine))
