"""CLI of the exchange hub: ``kruispunt serve``, ``partner``, ``deliberation``, ``directory``, ``audit``."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from kruispunt import identity, network
from kruispunt.cli._common import app_state, console, fail
from kruispunt.cli.demo import DemoContext
from kruispunt.network import NetworkError, Refused

partner_app = typer.Typer(help="Partner institutions and their bearer tokens.", no_args_is_help=True)
deliberation_app = typer.Typer(help="Deliberations: who may get which data, for what.", no_args_is_help=True)
directory_app = typer.Typer(
    help="The reference directory: integrations (who holds a file on whom) and provider routes.",
    no_args_is_help=True,
)
audit_app = typer.Typer(help="The hash-chained audit log of every exchange.", no_args_is_help=True)


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None


def _json(value: Any) -> None:
    typer.echo(json.dumps(value, default=str, ensure_ascii=False))


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Serve the consultation API (/v1), /health and /metrics; database from KRUISPUNT_* settings."""
    import uvicorn

    from kruispunt.network.logs import configure_logging

    app_state()  # migrate once before the workers start, and fail early on a wrong database URL
    configure_logging(log_level)
    uvicorn.run(
        "kruispunt.api:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        log_level=log_level,
        access_log=False,
    )


# --- partners ---


@partner_app.command("add")
def partner_add(
    kbo: Annotated[str, typer.Argument(help="KBO number of the institution.")],
    sector: Annotated[int, typer.Option(help="Sector code (17 = OCMW, 6 = health insurance, ...).")],
    name: Annotated[str, typer.Option(help="Name of the institution.")],
) -> None:
    """Register a partner institution."""
    try:
        added = network.add_partner(app_state().engine, kbo, sector, name)
    except NetworkError as error:
        raise fail(str(error)) from None
    console.print(f"partner {added.kbo} ({added.name}, sector {added.sector}) added")


@partner_app.command("token")
def partner_token(
    kbo: str,
    label: Annotated[str, typer.Option(help="What the token is for.")] = "",
    rotate: Annotated[bool, typer.Option(help="Revoke the partner's other tokens at once.")] = False,
) -> None:
    """Issue a bearer token; it is printed once and stored only as a hash."""
    try:
        issued = network.issue_token(app_state().engine, kbo, label=label, rotate=rotate)
    except NetworkError as error:
        raise fail(str(error)) from None
    typer.echo(issued.token)
    extra = f"; {issued.revoked} older token(s) revoked" if rotate else ""
    typer.echo(f"credential {issued.credential_id} for {issued.partner_kbo}: keep it secret{extra}", err=True)


@partner_app.command("revoke")
def partner_revoke(
    kbo: str,
    credential: Annotated[int | None, typer.Option(help="Only this credential id.")] = None,
) -> None:
    """Revoke a partner's tokens (all, or one credential); takes effect on the next call."""
    try:
        count = network.revoke_tokens(app_state().engine, kbo, credential)
    except NetworkError as error:
        raise fail(str(error)) from None
    console.print(f"{count} token(s) revoked")


@partner_app.command("list")
def partner_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every partner with its number of active tokens."""
    partners = network.list_partners(app_state().engine)
    if as_json:
        _json([dataclasses.asdict(p) for p in partners])
        return
    table = Table("KBO", "name", "sector", "active tokens")
    for p in partners:
        table.add_row(p.kbo, p.name, str(p.sector), str(p.active_tokens))
    console.print(table)


# --- deliberations ---


@deliberation_app.command("add")
def deliberation_add(
    number: Annotated[str, typer.Argument(help="Number, e.g. 20/123.")],
    decided_on: Annotated[str, typer.Option(help="Date of the decision.")],
    service: Annotated[str, typer.Option(help="statuses or identity.")],
    purpose: Annotated[str, typer.Option(help="Purpose code the calls must carry.")],
    field: Annotated[
        list[str], typer.Option(help="Allowed field (repeat): status codes or identity fields.")
    ],
    capacity: Annotated[list[int], typer.Option(help="Required capacity code (repeat).")],
    party: Annotated[list[str], typer.Option(help="KBO number of a partner allowed to ask (repeat).")],
    title: Annotated[str, typer.Option()] = "",
    valid_from: Annotated[str | None, typer.Option(help="Default: the decision date.")] = None,
    valid_to: Annotated[str | None, typer.Option(help="Last day; default open-ended.")] = None,
) -> None:
    """Record a deliberation of the Information Security Committee."""
    decided = _day(decided_on, "--decided-on")
    assert decided is not None
    try:
        made = network.add_deliberation(
            app_state().engine,
            number=number,
            decided_on=decided,
            title=title,
            service=service,
            purpose=purpose,
            fields=field,
            capacities=capacity,
            parties=party,
            valid_from=_day(valid_from, "--valid-from"),
            valid_to=_day(valid_to, "--valid-to"),
        )
    except NetworkError as error:
        raise fail(str(error)) from None
    console.print(
        f"deliberation {made.number}: {made.service} for {made.purpose}, parties {', '.join(made.parties)}"
    )


@deliberation_app.command("list")
def deliberation_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every deliberation with its service, purpose, fields, capacities and parties."""
    found = network.list_deliberations(app_state().engine)
    if as_json:
        _json([dataclasses.asdict(d) for d in found])
        return
    table = Table("number", "service", "purpose", "fields", "capacities", "valid", "parties")
    for d in found:
        table.add_row(
            d.number,
            d.service,
            d.purpose,
            ", ".join(d.fields),
            ", ".join(map(str, d.capacities)),
            f"{d.valid_from} – {d.valid_to or ''}",
            ", ".join(d.parties),
        )
    console.print(table)


# --- directory ---


@directory_app.command("register")
def directory_register(
    kbo: str,
    insz: str,
    capacity: Annotated[int, typer.Option(help="Capacity code of the partner's sector.")],
    start: Annotated[str, typer.Option(help="First day of the file.")],
    end: Annotated[str | None, typer.Option(help="Last day; default open-ended.")] = None,
) -> None:
    """Integrate a person for a partner (ManageAccess register)."""
    first = _day(start, "--start")
    assert first is not None
    try:
        made = network.register_integration(
            app_state().engine, kbo, insz, capacity, first, _day(end, "--end")
        )
    except (NetworkError, Refused) as error:
        raise fail(str(error)) from None
    console.print(
        f"{made.insz} integrated for {made.partner_kbo} in capacity {made.capacity} from {made.valid_from}"
    )


@directory_app.command("end")
def directory_end(
    kbo: str,
    insz: str,
    capacity: Annotated[int, typer.Option()],
    end: Annotated[str | None, typer.Option(help="Last day (default yesterday).")] = None,
) -> None:
    """End a partner's integration of a person (ManageAccess unregister)."""
    try:
        count = network.end_integration(app_state().engine, kbo, insz, capacity, _day(end, "--end"))
    except (NetworkError, Refused) as error:
        raise fail(str(error)) from None
    console.print(f"{count} integration(s) ended")


@directory_app.command("list")
def directory_list(
    kbo: str,
    insz: Annotated[str | None, typer.Option(help="Only this person.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A partner's integrations, current and ended."""
    try:
        found = network.list_integrations(app_state().engine, kbo, insz)
    except (NetworkError, Refused) as error:
        raise fail(str(error)) from None
    if as_json:
        _json([dataclasses.asdict(i) for i in found])
        return
    table = Table("INSZ", "sector", "capacity", "from", "to")
    for i in found:
        table.add_row(i.insz, str(i.sector), str(i.capacity), str(i.valid_from), str(i.valid_to or ""))
    console.print(table)


@directory_app.command("capacities")
def directory_capacities() -> None:
    """The capacity codes per sector that integrations may use."""
    table = Table("sector", "capacity", "meaning")
    for sector, codes in network.capacities().items():
        for code, label in codes.items():
            table.add_row(str(sector), str(code), label)
    console.print(table)


@directory_app.command("route")
def directory_route(
    service: str,
    url: Annotated[str, typer.Argument(help="Base URL of the provider.")],
    timeout_ms: Annotated[int, typer.Option(help="Per-call timeout.")] = 2000,
) -> None:
    """Send a data service to an external provider (knowledge directory)."""
    try:
        route = network.set_route(app_state().engine, service, url, timeout_ms)
    except NetworkError as error:
        raise fail(str(error)) from None
    console.print(f"{route.service} → {route.base_url} (timeout {route.timeout_ms} ms)")


@directory_app.command("unroute")
def directory_unroute(service: str) -> None:
    """Answer a data service from the hub's own stores again."""
    removed = network.remove_route(app_state().engine, service)
    console.print(f"{service}: " + ("route removed" if removed else "had no route"))


@directory_app.command("routes")
def directory_routes() -> None:
    """Which provider serves which data service (services not listed: the hub itself)."""
    table = Table("service", "provider", "timeout ms")
    for route in network.list_routes(app_state().engine):
        table.add_row(route.service, route.base_url, str(route.timeout_ms))
    console.print(table)


# --- audit ---


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the hash chain; exit status 1 and the first broken record when it is not intact."""
    result = network.verify_audit(app_state().engine)
    if not result.intact:
        raise fail(f"audit chain broken at record {result.broken_seq}: {result.problem}")
    span = f"records {result.first_seq}–{result.last_seq}" if result.records else "no records"
    console.print(f"audit chain intact: {result.records} record(s), {span}")


@audit_app.command("who-consulted")
def audit_who_consulted(
    insz: Annotated[str, typer.Argument(help="The citizen's INSZ (any of their numbers).")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Every exchange about one person: who asked, when, for what, and what the hub decided."""
    try:
        report = network.who_consulted(app_state().engine, insz)
    except identity.InvalidNumber as error:
        raise fail(f"{insz!r}: {error}") from None
    if as_json:
        _json([dataclasses.asdict(r) for r in report])
        return
    table = Table("when (UTC)", "institution", "service", "purpose", "deliberation", "outcome")
    for r in report:
        who = f"{r.requester_name or '?'} ({r.requester or 'unauthenticated'})"
        outcome = r.outcome + (f": {r.reason}" if r.reason else "")
        table.add_row(
            f"{r.at:%Y-%m-%d %H:%M:%S}", who, r.service, r.purpose or "", r.deliberation or "", outcome
        )
    console.print(table)


@audit_app.command("purge")
def audit_purge(
    retention_days: Annotated[
        int | None, typer.Option(help="Keep this many days (default KRUISPUNT_AUDIT_RETENTION_DAYS).")
    ] = None,
) -> None:
    """Apply the retention period; the remaining chain still verifies from its anchor."""
    days = retention_days or network.HubSettings().audit_retention_days
    result = network.purge_audit(app_state().engine, days)
    console.print(
        f"{result.records} record(s) and {result.replies} stored replies older than {days} days removed"
    )


@audit_app.command("head")
def audit_head() -> None:
    """The last sequence number and hash of the chain (to note down or timestamp elsewhere)."""
    seq, digest = network.audit_head(app_state().engine)
    typer.echo(f"{seq} {digest}")


# --- demo ---


def demo_network(context: DemoContext) -> None:
    """Two partners, deliberations, integrations; allowed and refused calls in-process; verify the chain."""
    import warnings

    from kruispunt.api import create_app

    with warnings.catch_warnings():  # Starlette's notice about its httpx dependency is not for users
        warnings.filterwarnings("ignore", message="Using `httpx`")
        from fastapi.testclient import TestClient

    engine = context.app.engine
    persons = _demo_persons(context)
    if not persons:
        console.print("  (the register is empty: no synthetic persons to integrate; skipping)")
        return
    ocmw, fund = _demo_partners(engine)
    with_statuses = _demo_deliberations(engine, ocmw, fund)
    at = context.facts.get("as_of") or date.today()
    for insz in persons[:3]:
        network.register_integration(engine, ocmw, insz, 2, date(2000, 1, 1))
    ocmw_token = network.issue_token(engine, ocmw, label="demo", rotate=True).token
    fund_token = network.issue_token(engine, fund, label="demo", rotate=True).token
    run = uuid.uuid4().hex[:8]
    service = "statuses" if with_statuses else "identity"
    if not with_statuses:
        console.print("  (the statuses room is not available: consulting identity only)")
    calls = [
        ("OCMW asks about an integrated person", ocmw_token, persons[0], f"{run}-1", "social-inquiry"),
        ("the same message again (a retry)", ocmw_token, persons[0], f"{run}-1", "social-inquiry"),
        ("OCMW asks for another purpose", ocmw_token, persons[0], f"{run}-2", "marketing"),
        (
            "OCMW asks about a person it never integrated",
            ocmw_token,
            persons[-1],
            f"{run}-3",
            "social-inquiry",
        ),
        ("the health fund asks without a deliberation", fund_token, persons[0], f"{run}-4", "social-inquiry"),
        ("a caller without a token", "", persons[0], f"{run}-5", "social-inquiry"),
    ]
    with TestClient(create_app(context.app.settings)) as client:
        for title, token, insz, mid, purpose in calls:
            sent = {
                "X-Message-Id": mid,
                "X-End-User": "demo-social-worker",
                "X-Case-Reference": "demo-file-1",
            }
            sent["X-Purpose"] = purpose
            if token:
                sent["Authorization"] = f"Bearer {token}"
            answer = client.get(f"/v1/persons/{insz}/{service}", params={"at": at.isoformat()}, headers=sent)
            console.print(
                f"  {title}: HTTP {answer.status_code} {_demo_summary(answer.json())}"
                + (" (stored answer)" if answer.headers.get("X-Replayed") else "")
            )
    result = network.verify_audit(engine)
    console.print(f"  audit chain: {'intact' if result.intact else 'BROKEN'}, {result.records} record(s)")
    seen = network.who_consulted(engine, persons[0])
    console.print(f"  who consulted {persons[0]}: {len(seen)} exchange(s), last by {seen[0].requester_name}")


def _demo_persons(context: DemoContext) -> list[str]:
    at = context.facts.get("as_of") or date.today()
    people = identity.population(context.app.engine, at)
    if people.is_empty():
        return []
    try:
        from kruispunt import statuses

        holders = statuses.holders(context.app.engine, ["LEEFLOON", "EQUIV_LEEFLOON"], at=at)
        chosen = holders.get_column("insz").unique(maintain_order=True).head(3).to_list()
    except ImportError:
        chosen = []
    others = [n for n in people.get_column("insz").head(10).to_list() if n not in chosen]
    integrated = [*chosen, *others][:3]
    outsiders = [n for n in others if n not in integrated]
    return integrated + outsiders[-1:] if outsiders else []


def _demo_partners(engine: Any) -> tuple[str, str]:
    gen = identity.NumberGenerator(2026)
    ocmw, fund = gen.kbo().number, gen.kbo().number
    if network.find_partner(engine, ocmw) is None:
        network.add_partner(engine, ocmw, 17, "OCMW Hoei (demo)")
    if network.find_partner(engine, fund) is None:
        network.add_partner(engine, fund, 6, "Ziekenfonds (demo)")
    console.print(f"  partners: OCMW {ocmw} (sector 17), health fund {fund} (sector 6)")
    return ocmw, fund


def _demo_deliberations(engine: Any, ocmw: str, fund: str) -> bool:
    known = {d.number for d in network.list_deliberations(engine)}
    try:
        from kruispunt.statuses import catalogue

        catalogue()
        with_statuses = True
    except ImportError:
        with_statuses = False
    wanted = [("21/001", "identity", ["last_name", "first_name", "household"])]
    if with_statuses:
        wanted.append(("21/002", "statuses", ["LEEFLOON", "EQUIV_LEEFLOON"]))
    for number, service, fields in wanted:
        if number not in known:
            network.add_deliberation(
                engine,
                number=number,
                decided_on=date(2021, 1, 19),
                title=f"OCMW social inquiry: {service}",
                service=service,
                purpose="social-inquiry",
                fields=fields,
                capacities=[1, 2, 3],
                parties=[ocmw],
            )
    console.print(f"  deliberations: {', '.join(n for n, _, _ in wanted)} for the OCMW; none for {fund}")
    return with_statuses


def _demo_summary(body: dict[str, Any]) -> str:
    if "error" in body:
        return f"refused: {body['error']['reason']} ({body['error']['source']})"
    if "statuses" in body:
        return "statuses " + (", ".join(s["status"] for s in body["statuses"]) or "none")
    return f"identity of {body['person']['insz']}"
