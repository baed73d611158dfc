"""Which pages each role sees in the navigation, in order; the first is the role's home page."""

from __future__ import annotations

from dataclasses import dataclass

from kruispunt.web.accounts import Role


@dataclass(frozen=True)
class NavItem:
    route: str
    label: str
    roles: frozenset[Role]


def _(message: str) -> str:
    """Marks a label for extraction; the template translates it when it renders the navigation."""
    return message


NAVIGATION: tuple[NavItem, ...] = (
    NavItem("web_citizen", _("My data"), frozenset({Role.CITIZEN})),
    NavItem("web_officer", _("Simulate a right"), frozenset({Role.OFFICER})),
    NavItem("web_ocmw", _("Outreach"), frozenset({Role.OCMW})),
    NavItem("web_ocmw_person", _("A person's file"), frozenset({Role.OCMW})),
    NavItem("web_admin", _("Exchange hub"), frozenset({Role.ADMIN})),
    NavItem("web_admin_audit", _("Audit chain"), frozenset({Role.ADMIN})),
    NavItem("web_research", _("Protected tables"), frozenset({Role.RESEARCHER})),
)


def items_for(role: Role | None) -> list[NavItem]:
    return [item for item in NAVIGATION if role in item.roles]


def home_route(role: Role) -> str | None:
    items = items_for(role)
    return items[0].route if items else None
