"""The researcher's page: the warehouse's protected tables (suppressed and optionally rounded cells),
over the quarters that have been built."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from kruispunt import warehouse
from kruispunt.web.accounts import Role
from kruispunt.web.context import SECURITY_HEADERS, Page, WebContext, page_dependency

DEFAULT_ROWS = ("municipality",)
DEFAULT_COLS = "position"


def _grid(table: warehouse.ProtectedTable) -> list[tuple[tuple[str, ...], list[int | None]]]:
    """Each published row (the margin last) with its cells; None marks a suppressed cell."""
    keys = [*table.row_keys, ("total",) * len(table.request.rows)]
    width = len(table.col_keys) + 1
    return [(key, [table.cell(i, j) for j in range(width)]) for i, key in enumerate(keys)]


def _rounding(text: str | None) -> int | None:
    """The rounding base chosen in the form; empty (or not a number) means no rounding."""
    return int(text) if text and text.isdigit() else None


def _table(
    page: Page, rows: list[str], cols: str, quarter: str | None, rounding: int | None
) -> dict[str, Any]:
    home = page.web.get_app().settings.home
    try:
        quarters = warehouse.built_quarters(home)
    except warehouse.NotBuilt:
        return {"not_built": True}
    chosen = quarter if quarter in quarters else quarters[-1]
    context: dict[str, Any] = {"quarters": quarters, "quarter": chosen, "rows": rows, "cols": cols}
    try:
        table = warehouse.table(home, rows=rows, cols=cols, quarter=chosen, rounding_base=rounding)
    except warehouse.WarehouseError as error:
        return {**context, "error": str(error)}
    return {**context, "table": table, "grid": _grid(table)}


def add_routes(router: APIRouter, web: WebContext) -> None:
    PageDep = Annotated[Page, Depends(page_dependency(web))]
    Rows = Annotated[list[str] | None, Query(max_length=2)]

    @router.get("/research", name="web_research")
    def tables(
        page: PageDep,
        rows: Rows = None,
        cols: str = DEFAULT_COLS,
        quarter: str | None = None,
        rounding: str | None = None,
    ) -> Response:
        page.require(Role.RESEARCHER)
        base = _rounding(rounding)
        context = _table(page, [r for r in rows or DEFAULT_ROWS if r], cols, quarter, base)
        return page.render("research.html", dimensions=warehouse.dimensions(), rounding=base, **context)

    @router.get("/research/table.csv", name="web_research_csv")
    def table_csv(
        page: PageDep,
        rows: Rows = None,
        cols: str = DEFAULT_COLS,
        quarter: str | None = None,
        rounding: str | None = None,
    ) -> Response:
        page.require(Role.RESEARCHER)
        context = _table(page, [r for r in rows or DEFAULT_ROWS if r], cols, quarter, _rounding(rounding))
        if "table" not in context:
            return page.render("research.html", status=422, dimensions=warehouse.dimensions(), **context)
        headers = {**SECURITY_HEADERS, "Content-Disposition": 'attachment; filename="protected-table.csv"'}
        return Response(context["table"].to_csv(), media_type="text/csv", headers=headers)
