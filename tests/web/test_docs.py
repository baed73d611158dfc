"""docs/web.md kept honest: every page of the router is described there."""

from __future__ import annotations

from pathlib import Path

from fastapi.routing import APIRoute

from kruispunt.web import create_router

WEB_DOC = Path(__file__).resolve().parents[2] / "docs" / "web.md"
NOT_PAGES = {"/", "/sign-in", "/sign-out", "/static/{name}", "/research/table.csv"}


def test_every_page_is_documented() -> None:
    text = WEB_DOC.read_text(encoding="utf-8")
    paths = {r.path for r in create_router(lambda: None).routes if isinstance(r, APIRoute)}  # type: ignore[arg-type]
    missing = sorted(
        p for p in paths - NOT_PAGES if f"`{p}`" not in text and f"`{p.split('{')[0]}" not in text
    )
    assert not missing, f"pages missing from docs/web.md: {missing}"
