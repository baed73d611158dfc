"""CLI for mutation feeds, subscriptions and batches: ``kruispunt mutations|subscription|batch``.

These commands act for a partner on the administrative path (no token: whoever runs the CLI operates the
hub); the checks, the audit log and the files are those of the HTTP API (docs/feeds-and-batches.md).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import polars as pl
import typer
from sqlalchemy import Engine

from kruispunt import identity, network, rights, statuses
from kruispunt.cli._common import app_state, console, fail
from kruispunt.cli.demo import DemoContext
from kruispunt.network import feeds
from kruispunt.network.feeds.batch import CHUNK_LINES
from kruispunt.network.hub import CallMeta

mutations_app = typer.Typer(help="Mutation feeds: fan-out, a partner's feed, acknowledgements, webhooks.")
subscription_app = typer.Typer(help="Subscriptions to mutations and municipal subscriptions to the GSS.")
batch_app = typer.Typer(help="Batch exchange: a file of INSZ numbers answered line by line as a job.")
T = TypeVar("T")

Partner = Annotated[str, typer.Option("--partner", help="The partner's KBO number.")]


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except network.Refused as refusal:
        raise fail(f"{refusal.reason.value}: {refusal.message}") from None
    except (network.NetworkError, ValueError) as error:
        raise fail(str(error)) from None


def _date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{option} {text!r} is not a date YYYY-MM-DD") from None


def _caller(
    kbo: str,
    *,
    purpose: str | None = None,
    end_user: str = "cli",
    case: str = "cli",
    engine: Engine | None = None,
) -> feeds.Caller:
    meta = CallMeta(None, f"cli-{uuid.uuid4().hex[:16]}", end_user, case, purpose)
    return feeds.as_partner(engine or app_state().engine, kbo, meta)


# --- mutations ---


@mutations_app.command("dispatch")
def dispatch() -> None:
    """Fan new mutation events out to partners' feeds, re-decide rights, push webhooks."""
    with _errors():
        report = feeds.process(app_state().engine)
    fanned = report.dispatch
    console.print(
        f"{fanned.events:,} events -> {fanned.entries:,} feed entries for {len(fanned.partners)} partner(s) "
        f"in {fanned.seconds:.2f} s (outbox position {fanned.last_event_seq}); "
        f"{report.rights_runs} rights run(s); "
        f"webhooks: {report.push.delivered} delivered, {report.push.failed_attempts} failed, "
        f"{report.push.dead_lettered} dead-lettered"
    )


@mutations_app.command("feed")
def feed(
    partner: Partner,
    after: Annotated[int | None, typer.Option(help="Entries after this id (default: acknowledged).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many entries (1-1000).")] = 100,
) -> None:
    """Show a partner's next feed entries as JSON lines (each delivery is audited)."""
    with _errors():
        page = feeds.read_feed(app_state().engine, _caller(partner), after, limit)
    for entry in page.entries:
        console.print_json(json.dumps(entry.as_json()))
    console.print(f"next_after={page.next_after} acknowledged={page.acknowledged} more={page.more}")


@mutations_app.command("ack")
def ack(partner: Partner, up_to: Annotated[int, typer.Argument(help="The last entry id processed.")]) -> None:
    """Acknowledge a partner's entries up to an id (repeating it changes nothing)."""
    with _errors():
        done = feeds.acknowledge(app_state().engine, _caller(partner), up_to)
    console.print(f"acknowledged up to {done.acknowledged}" + ("" if done.changed else " (unchanged)"))


@mutations_app.command("webhook")
def webhook(
    partner: Partner,
    url: Annotated[str | None, typer.Argument(help="Endpoint URL; omit with --remove.")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Stop pushing to this partner.")] = False,
) -> None:
    """Push a partner's feed to a URL (prints the signing secret once), or stop pushing."""
    engine = app_state().engine
    with _errors():
        if remove:
            console.print("removed" if feeds.remove_webhook(engine, partner) else "no webhook was set")
            return
        if url is None:
            raise fail("give the endpoint URL, or --remove")
        hook = feeds.set_webhook(engine, partner, url)
    console.print(
        f"pushing to {hook.url} from entry {hook.pushed_id}; signing secret (shown once): {hook.secret}"
    )


@mutations_app.command("dead-letters")
def dead_letters(
    partner: Partner,
    redeliver: Annotated[bool, typer.Option("--redeliver", help="Push them again now.")] = False,
) -> None:
    """List a partner's dead-lettered webhook entries, or push them again."""
    engine = app_state().engine
    with _errors():
        if redeliver:
            console.print(f"{feeds.redeliver_dead_letters(engine, partner)} entries redelivered")
            return
        for entry_id, attempts, error in feeds.dead_letters(engine, partner):
            console.print(f"{entry_id}\t{attempts} attempts\t{error}")


# --- subscriptions ---


@subscription_app.command("add")
def add(
    partner: Partner,
    kinds: Annotated[str, typer.Option(help="Comma-separated kinds or families: status, register, ...")],
    purpose: Annotated[str, typer.Option(help="The purpose code a deliberation must cover.")],
) -> None:
    """Subscribe a partner to kinds of mutations for a purpose."""
    with _errors():
        found = feeds.subscribe(app_state().engine, partner, kinds.split(","), purpose)
    console.print(f"{len(found)} subscription(s): " + ", ".join(f"{s.kind} ({s.purpose})" for s in found))


@subscription_app.command("list")
def list_(partner: Partner) -> None:
    """A partner's subscriptions, municipal subscriptions and webhook."""
    engine = app_state().engine
    with _errors():
        for s in feeds.list_subscriptions(engine, partner):
            console.print(f"mutations\t{s.kind}\t{s.purpose}")
        for m in feeds.list_municipal_subscriptions(engine, partner):
            console.print(
                f"municipal {m.id}\t{m.municipality_nis}\t{','.join(m.statuses)}\t{m.purpose}\t"
                f"deliberation {m.deliberation}\t{m.regulation}"
            )
        hook = feeds.get_webhook(engine, partner)
    if hook:
        console.print(f"webhook\t{hook.url}\tpushed up to {hook.pushed_id}\t{hook.last_error or 'ok'}")


@subscription_app.command("municipal")
def municipal(
    partner: Partner,
    nis: Annotated[str, typer.Option(help="The municipality's NIS code.")],
    statuses_: Annotated[str, typer.Option("--statuses", help="Comma-separated status codes.")],
    regulation: Annotated[str, typer.Option(help="The regulation that needs these statuses.")],
    purpose: Annotated[str, typer.Option(help="Purpose code of the covering deliberation.")],
    reference_date: Annotated[str, typer.Option(help="Reference date of the first list, YYYY-MM-DD.")],
) -> None:
    """Declare a municipal subscription: statuses and regulation, under a deliberation."""
    day = _date(reference_date, "--reference-date")
    assert day is not None
    with _errors():
        found = feeds.add_municipal_subscription(
            app_state().engine,
            partner,
            municipality_nis=nis,
            statuses_wanted=statuses_.split(","),
            regulation=regulation,
            purpose=purpose,
            reference_date=day,
        )
    console.print(f"municipal subscription {found.id} under deliberation {found.deliberation}")


@subscription_app.command("residents")
def residents(
    partner: Partner,
    subscription: Annotated[int, typer.Argument(help="The municipal subscription's id.")],
    out: Annotated[Path, typer.Option(help="CSV file to write.")],
    at: Annotated[str | None, typer.Option(help="Reference date (default: the subscription's).")] = None,
) -> None:
    """Write the residents holding a subscribed status on the reference date (each one audited)."""
    engine = app_state().engine
    with _errors():
        caller = _caller(partner)
        found = feeds.get_municipal_subscription(engine, partner, subscription)
        from kruispunt.network.feeds.municipal import deliver_residents

        assert caller.meta.message_id is not None
        rows = deliver_residents(
            engine, caller.partner_id, caller.kbo, found, _date(at, "--at"), caller.meta.message_id
        )
    rows.write_csv(out)
    console.print(f"{rows['person_id'].n_unique():,} residents ({rows.height:,} status periods) -> {out}")


# --- batches ---


@batch_app.command("submit")
def submit(
    file: Annotated[Path, typer.Argument(help="CSV with an 'insz' column.")],
    partner: Partner,
    purpose: Annotated[str, typer.Option(help="Purpose code of the covering deliberation.")],
    end_user: Annotated[str, typer.Option(help="Who asks, at the partner.")],
    case_reference: Annotated[str, typer.Option(help="The file or case the batch is for.")],
    at: Annotated[str | None, typer.Option(help="Statuses on this day (default today).")] = None,
    chunk_lines: Annotated[int, typer.Option(help="Lines per committed chunk.")] = CHUNK_LINES,
    wait: Annotated[bool, typer.Option(help="Run the job now (else: kruispunt batch work).")] = True,
) -> None:
    """Submit a batch of INSZ numbers for the statuses service; runs it unless --no-wait."""
    engine = app_state().engine
    if not file.is_file():
        raise fail(f"{file}: no such file")
    with _errors():
        caller = _caller(partner, purpose=purpose, end_user=end_user, case=case_reference)
        job = feeds.submit_batch(
            engine, caller, file.read_bytes(), at=_date(at, "--at"), chunk_lines=chunk_lines
        )
        console.print(f"batch {job.id}: {job.lines_total:,} lines queued (deliberation {job.deliberation})")
        if wait:
            job = feeds.run_batch(engine, job.id)
    _show(job)


def _show(job: feeds.BatchJob) -> None:
    console.print(
        f"batch {job.id} {job.state}: {job.lines_done:,}/{job.lines_total:,} lines, "
        f"{job.answered:,} answered, {job.rejected:,} rejected"
        + (f"; error: {job.error}" if job.error else "")
    )


@batch_app.command("status")
def status(job: Annotated[int, typer.Argument(help="The batch id.")]) -> None:
    """A batch's state and progress."""
    with _errors():
        _show(feeds.batch_job(app_state().engine, job))


@batch_app.command("work")
def work(
    pause_ms: Annotated[int, typer.Option(help="Pause between chunks, to leave room to online calls.")] = 0,
    lease_s: Annotated[int, typer.Option(help="Take over a running job silent for this long.")] = 60,
) -> None:
    """Run queued batches and resume those whose worker stopped (a killed hub)."""
    with _errors():
        done = feeds.run_pending_batches(
            app_state().engine, pause=pause_ms / 1000, lease=timedelta(seconds=lease_s)
        )
    for job in done:
        _show(job)
    if not done:
        console.print("no batch to run")


@batch_app.command("fetch")
def fetch(
    job: Annotated[int, typer.Argument(help="The batch id.")],
    out: Annotated[Path, typer.Option(help="Result CSV: line, insz, capacity, statuses.")],
    rejects: Annotated[Path | None, typer.Option(help="Rejects CSV: line, input, reason, message.")] = None,
) -> None:
    """Write a finished batch's result file (and its rejects file)."""
    engine = app_state().engine
    with _errors():
        found = feeds.batch_job(engine, job)
        if found.state != "done":
            raise fail(f"batch {job} is {found.state}; fetch it when it is done")
        result = feeds.batch_results(engine, job)
        result.write_csv(out)
        console.print(f"{result.height:,} answered lines -> {out}")
        if rejects is not None:
            refused = feeds.batch_rejects(engine, job)
            refused.write_csv(rejects)
            console.print(f"{refused.height:,} rejected lines -> {rejects}")


# --- demo ---

DEMO_DELIBERATION = "20/901"
DEMO_PURPOSE = "social-inquiry"


def _demo_partner(engine: Engine) -> str:
    kbo = identity.NumberGenerator(9001).kbo().number
    if network.find_partner(engine, kbo) is None:
        network.add_partner(engine, kbo, 17, "CPAS de Huy (demo feed)")
    if DEMO_DELIBERATION not in {d.number for d in network.list_deliberations(engine)}:
        network.add_deliberation(
            engine,
            number=DEMO_DELIBERATION,
            decided_on=date(2020, 6, 2),
            title="CPAS: status changes of the persons in its files",
            service="statuses",
            purpose=DEMO_PURPOSE,
            fields=list(statuses.catalogue().codes),
            capacities=[1, 2, 3, 4],
            parties=[kbo],
        )
    return kbo


def _demo_household(engine: Engine, tax_year: date) -> tuple[int, pl.DataFrame] | None:
    """A granted Huy household whose right rests on exactly one status period: (person_id, that period)."""
    granted = rights.active_grants(engine, "waste-tax-exemption-huy")
    if granted.is_empty():
        return None
    held = statuses.holders(engine, statuses.catalogue().codes, at=tax_year, municipality="61031")
    members = identity.household_periods(engine).filter(
        (pl.col("valid_from") <= tax_year) & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= tax_year))
    )
    grounds = held.join(members.select("person_id", "household_id"), on="person_id")
    single = (
        grounds.group_by("household_id")
        .agg(pl.len().alias("n"), pl.first("person_id"))
        .filter(pl.col("n") == 1)
    )
    heads = members.filter(pl.col("person_id").is_in(granted["person_id"].to_list()))
    chosen = single.join(heads.select("household_id", pl.col("person_id").alias("head")), on="household_id")
    if chosen.is_empty():
        return None
    row = chosen.row(0, named=True)
    period = grounds.filter(pl.col("person_id") == row["person_id"])
    return int(row["head"]), period


def demo_feeds(context: DemoContext) -> None:
    """A status ends for a person an OCMW follows: the change reaches its feed and withdraws a right."""
    engine = context.app.engine
    as_of: date = context.facts.get("as_of") or date.today()
    tax_year = date(as_of.year, 1, 1)
    kbo = _demo_partner(engine)
    feeds.subscribe(engine, kbo, ["status"], DEMO_PURPOSE)
    feeds.process(engine)  # the feeds and rights catch up with the loads so far
    found = _demo_household(engine, tax_year)
    if found is None:
        console.print("  no granted household in Huy rests on a single status; nothing to show")
        return
    head, period = found
    ground = period.row(0, named=True)
    stored = statuses.periods_frame(engine, statuses=[ground["status"]]).filter(
        (pl.col("person_id") == ground["person_id"]) & (pl.col("start_date") == ground["start_date"])
    )
    insz, source = ground["insz"], stored["source"][0]
    with suppress(network.Refused):  # integrated by an earlier run of the demo
        network.register_integration(engine, kbo, insz, 2, date(tax_year.year - 1, 1, 1))
    delta = context.out / "status-correction.csv"
    pl.DataFrame(
        {
            "insz": [insz],
            "status": [ground["status"]],
            "start_date": [ground["start_date"].isoformat()],
            "end_date": [(tax_year - timedelta(days=1)).isoformat()],
            "source": [source],
        }
    ).write_csv(delta)
    statuses.load_status_feed(engine, delta, source=source, mode="delta")
    console.print(f"  {source} reports: {ground['status']} of {insz} ended on {tax_year - timedelta(days=1)}")
    report = feeds.process(engine)
    console.print(
        f"  fan-out: {report.dispatch.events} event(s) -> {report.dispatch.entries} feed entr(y/ies); "
        f"{report.rights_runs} rights run(s)"
    )
    page = feeds.read_feed(engine, _caller(kbo, engine=engine))
    for entry in page.entries[-3:]:
        console.print(
            f"  feed of {kbo}: #{entry.id} {entry.kind} {entry.subject} {entry.insz} "
            f"({entry.effective_from}..{entry.effective_to or ''}) capacity {entry.capacity}"
        )
    if page.entries:
        feeds.acknowledge(engine, _caller(kbo, engine=engine), page.entries[-1].id)
    still = rights.active_grants(engine, "waste-tax-exemption-huy")
    withdrawn = still.filter(pl.col("person_id") == head).is_empty()
    console.print(
        f"  waste-tax-exemption-huy for household head {head}: "
        + ("withdrawn" if withdrawn else "still granted")
    )
