"""The municipal officer's pages: simulate a right from the catalogue on a reference date for the
officer's municipality (beneficiaries, cost and breakdowns as charts, variants side by side), upload
today's manual beneficiaries to see non-take-up, download the report and the accounting file."""

import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.responses import Response

from kruispunt import impact, network, rights
from kruispunt.feeds import FeedRejected
from kruispunt.web.accounts import Role
from kruispunt.web.charts import bar_chart
from kruispunt.web.context import SECURITY_HEADERS, Page, PageError, WebContext, page_dependency

MAX_VARIANTS = 3
ExportFormat = Literal["csv", "fixed", "json"]
_EXPORT_TYPES = {"csv": "text/csv", "fixed": "text/plain", "json": "application/json"}


@dataclass
class Question:
    """What the officer asked: a right, a date, variants (``NAME:parameter=value``)."""

    rule: str
    on: date
    variants: list[str] = field(default_factory=list)

    def query(self) -> str:
        """The question as a URL query (for the report link)."""
        variants = [v for v in self.variants if v.strip()]
        return urlencode({"rule": self.rule, "on": self.on.isoformat(), "variant": variants}, doseq=True)


def _rules(page: Page) -> list[rights.Rule]:
    """The rules the officer's municipality can grant or simulate: its own and the non-municipal ones."""
    nis = page.require(Role.OFFICER).account.municipality_nis
    return [
        rule
        for rule in rights.load_catalogue().values()
        if rule.authority.level != "municipality" or rule.authority.nis == nis
    ]


def _rule(page: Page, rule_id: str) -> rights.Rule:
    for rule in _rules(page):
        if rule.id == rule_id:
            return rule
    raise PageError(404, "not_found")


def _simulate(page: Page, question: Question, current: Path | None) -> impact.Simulation:
    _rule(page, question.rule)
    variants = [impact.Variant.parse(v) for v in question.variants if v.strip()]
    nis = page.require(Role.OFFICER).account.municipality_nis
    return impact.simulate(page.engine, question.rule, nis, question.on, variants=variants, current=current)


def _charts(figures: dict[str, Any], gettext: Any) -> list[tuple[str, str]]:
    base = figures["baseline"]
    charts = [
        (
            gettext("Cost by ground (EUR)"),
            [r["ground"] for r in base["by_ground"]],
            base["by_ground"],
            "cost",
        ),
        (
            gettext("Persons reached by age"),
            [r["age_band"] for r in base["by_age_band"]],
            base["by_age_band"],
            "persons",
        ),
        (
            gettext("Beneficiaries by household type"),
            [r["household_type"] for r in base["by_household_type"]],
            base["by_household_type"],
            "beneficiaries",
        ),
    ]
    if figures["variants"]:
        rows = [base, *figures["variants"]]
        charts.append(
            (gettext("Cost of the baseline and the variants (EUR)"), [r["name"] for r in rows], rows, "cost")
        )
    return [(title, bar_chart(labels, [float(r[key]) for r in rows])) for title, labels, rows, key in charts]


def _result(page: Page, question: Question, current: Path | None) -> Response:
    try:
        simulation = _simulate(page, question, current)
    except (impact.SimulationError, impact.VariantError, ValueError) as error:
        return _form(page, question, errors=[str(error)], status=422)
    except FeedRejected as rejected:
        return _form(page, question, errors=[str(e) for e in rejected.errors[:20]], status=422)
    figures = simulation.as_dict()
    return _form(page, question, figures=figures, charts=_charts(figures, page.gettext))


def _form(page: Page, question: Question | None, status: int = 200, **context: Any) -> Response:
    return page.render(
        "officer.html",
        status=status,
        rules=_rules(page),
        question=question,
        max_variants=MAX_VARIANTS,
        max_upload=network.HubSettings().max_body_bytes,
        **context,
    )


def _attachment(content: bytes, media_type: str, filename: str) -> Response:
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(content, media_type=media_type, headers=headers)


def add_routes(router: APIRouter, web: WebContext) -> None:
    PageDep = Annotated[Page, Depends(page_dependency(web))]
    Variants = Annotated[list[str] | None, Query(max_length=MAX_VARIANTS)]

    @router.get("/officer", name="web_officer")
    def officer(
        page: PageDep, rule: str | None = None, on: date | None = None, variant: Variants = None
    ) -> Response:
        page.require(Role.OFFICER)
        if rule is None or on is None:
            return _form(page, None)
        return _result(page, Question(rule, on, variant or []), None)

    @router.post("/officer", name="web_officer_post")
    def officer_upload(
        page: PageDep,
        csrf_token: Annotated[str, Form()],
        rule: Annotated[str, Form()],
        on: Annotated[date, Form()],
        current: Annotated[UploadFile, File()],
        variant: Annotated[list[str] | None, Form()] = None,
    ) -> Response:
        page.require(Role.OFFICER)
        page.check_csrf(csrf_token)
        question = Question(rule, on, (variant or [])[:MAX_VARIANTS])
        with tempfile.TemporaryDirectory(prefix="kruispunt-upload-") as folder:
            path = Path(folder) / "current.txt"
            path.write_bytes(current.file.read())
            return _result(page, question, path)

    @router.get("/officer/report", name="web_officer_report")
    def report(page: PageDep, rule: str, on: date, variant: Variants = None) -> Response:
        page.require(Role.OFFICER)
        question = Question(rule, on, variant or [])
        try:
            simulation = _simulate(page, question, None)
        except (impact.SimulationError, impact.VariantError, ValueError) as error:
            return _form(page, question, errors=[str(error)], status=422)
        with tempfile.TemporaryDirectory(prefix="kruispunt-report-") as folder:
            written = impact.write_report(simulation, Path(folder) / f"{rule}-{on.isoformat()}.html")
            return _attachment(written.read_bytes(), "text/html", written.name)

    @router.get("/officer/accounting", name="web_officer_accounting")
    def accounting(page: PageDep, rule: str, fmt: ExportFormat = "csv") -> Response:
        nis = page.require(Role.OFFICER).account.municipality_nis
        if _rule(page, rule).authority.nis != nis:
            raise PageError(403, "forbidden_role")
        with tempfile.TemporaryDirectory(prefix="kruispunt-export-") as folder:
            try:
                written = rights.export(page.engine, rule, fmt, Path(folder) / f"{rule}.{fmt}")
            except rights.NothingToExport:
                raise PageError(404, "nothing_to_export") from None
            return _attachment(written.path.read_bytes(), _EXPORT_TYPES[fmt], written.path.name)
