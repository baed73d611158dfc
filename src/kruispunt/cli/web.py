"""CLI for the web pages' local accounts: ``kruispunt web user ...``."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import date
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import Engine

from kruispunt import identity, network, statuses, web
from kruispunt.cli._common import app_state, console, fail
from kruispunt.cli.demo import DemoContext

web_app = typer.Typer(help="The web pages: local accounts for the simulated sign-in.", no_args_is_help=True)
user_app = typer.Typer(help="Create, list, disable accounts and set passwords.", no_args_is_help=True)
web_app.add_typer(user_app, name="user")

DEMO_MUNICIPALITY = "61031"
DEMO_ADDRESS = "http://127.0.0.1:8000/"
OCMW_SECTOR = 17


def _password(given: bool) -> tuple[str, bool]:
    """The password read from stdin when asked, else a generated one (to be printed)."""
    if given:
        return sys.stdin.readline().rstrip("\n"), False
    return web.generate_password(), True


@user_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Lower-case letters, digits, '.', '_', '-'.")],
    role: Annotated[web.Role, typer.Option(help="What the account may see.")],
    insz: Annotated[str | None, typer.Option(help="Citizen accounts: the citizen's INSZ.")] = None,
    municipality: Annotated[
        str | None, typer.Option(help="Officer and OCMW accounts: the municipality's NIS code.")
    ] = None,
    organisation: Annotated[str | None, typer.Option(help="The organisation's KBO number.")] = None,
    name: Annotated[str | None, typer.Option(help="Name shown on the pages.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin instead of generating one.")
    ] = False,
) -> None:
    """Create an account; prints the generated password once (it is stored only as a scrypt hash)."""
    password, generated = _password(password_stdin)
    new = web.NewAccount(username, role, password, name, insz, municipality, organisation)
    try:
        account = web.add_account(app_state().engine, new)
    except (web.AccountError, identity.InvalidNumber, identity.UnknownMunicipality) as error:
        raise fail(str(error)) from None
    console.print(f"account {account.username} ({account.role}) created for {account.display_name}")
    if generated:
        console.print(f"password: {password}", highlight=False)


@user_app.command("list")
def list_users() -> None:
    """Every account with its role and scope."""
    table = Table("user", "name", "role", "INSZ", "municipality", "organisation", "state")
    for a in web.list_accounts(app_state().engine):
        table.add_row(
            a.username,
            a.display_name,
            a.role,
            a.insz or "",
            a.municipality_nis or "",
            a.organisation or "",
            "disabled" if a.disabled else "active",
        )
    console.print(table)


@user_app.command("passwd")
def passwd(
    username: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read it from stdin.")] = False,
) -> None:
    """Set a new password (generated unless read from stdin); unlocks the account, ends its sessions."""
    password, generated = _password(password_stdin)
    try:
        web.set_password(app_state().engine, username, password)
    except web.AccountError as error:
        raise fail(str(error)) from None
    console.print(f"password of {username} changed" + (f": {password}" if generated else ""), highlight=False)


@user_app.command("disable")
def disable(username: str) -> None:
    """Disable an account and end its sessions."""
    _set_disabled(username, True)


@user_app.command("enable")
def enable(username: str) -> None:
    """Enable a disabled account again."""
    _set_disabled(username, False)


def _set_disabled(username: str, disabled: bool) -> None:
    try:
        web.set_disabled(app_state().engine, username, disabled)
    except web.AccountError as error:
        raise fail(str(error)) from None
    console.print(f"{username} {'disabled' if disabled else 'enabled'}")


def _demo_citizen(context: DemoContext) -> str | None:
    """A Huy resident holding a status on the demo date: the demo citizen."""
    at: date = context.facts.get("as_of") or date.today()
    found = statuses.holders(
        context.app.engine, statuses.catalogue().codes, at=at, municipality=DEMO_MUNICIPALITY
    )
    return str(found["insz"][0]) if found.height else None


def _demo_ocmw(context: DemoContext) -> str | None:
    """An OCMW partner named by a deliberation (set up by the hub's demo step), one for outreach first."""
    engine = context.app.engine
    ordered = sorted(network.list_deliberations(engine), key=lambda d: d.purpose.split(".")[0] != "outreach")
    for kbo in (kbo for deliberation in ordered for kbo in deliberation.parties):
        found = network.find_partner(engine, kbo)
        if found is not None and found.sector == OCMW_SECTOR:
            return found.kbo
    return None


OUTREACH_DELIBERATION = "21/003"
OUTREACH_STATUSES = ("LEEFLOON", "EQUIV_LEEFLOON", "WERKLOOS", "OVERBRUGGING", "VT", "VT_DEPENDANT")


def _demo_outreach_deliberation(engine: Engine, ocmw: str | None) -> None:
    """The authorisation the OCMW's outreach list needs: statuses, for the purpose ``outreach``."""
    if ocmw is None or any(d.number == OUTREACH_DELIBERATION for d in network.list_deliberations(engine)):
        return
    network.add_deliberation(
        engine,
        number=OUTREACH_DELIBERATION,
        decided_on=date(2021, 3, 2),
        title="OCMW outreach: persons probably entitled who do not receive their rights",
        service="statuses",
        purpose="outreach",
        fields=list(OUTREACH_STATUSES),
        capacities=[1],
        parties=[ocmw],
    )
    console.print(
        f"  deliberation {OUTREACH_DELIBERATION}: the OCMW may draw its outreach list (purpose outreach)"
    )


def demo_web(context: DemoContext) -> None:
    """Create (or reset) one demo account per role and print where the pages are served."""
    engine = context.app.engine
    citizen = _demo_citizen(context)
    _demo_outreach_deliberation(engine, _demo_ocmw(context))
    accounts = [
        web.NewAccount("demo-officer", web.Role.OFFICER, "", municipality_nis=DEMO_MUNICIPALITY),
        web.NewAccount(
            "demo-ocmw",
            web.Role.OCMW,
            "",
            municipality_nis=DEMO_MUNICIPALITY,
            organisation=_demo_ocmw(context),
        ),
        web.NewAccount("demo-admin", web.Role.ADMIN, ""),
        web.NewAccount("demo-researcher", web.Role.RESEARCHER, ""),
    ]
    if citizen:
        accounts.append(web.NewAccount("demo-citizen", web.Role.CITIZEN, "", insz=citizen))
    existing = {a.username for a in web.list_accounts(engine)}
    table = Table("user", "role", "password (printed once; local simulated sign-in)")
    for new in accounts:
        password = web.generate_password()
        if new.username in existing:
            web.set_password(engine, new.username, password)
        else:
            web.add_account(engine, replace(new, password=password))
        table.add_row(new.username, new.role, password)
    console.print(table)
    console.print(f"  run `kruispunt serve` and sign in at {DEMO_ADDRESS}sign-in", highlight=False)
