"""``kruispunt demo``: the whole system end to end on the embedded database.

Each room contributes a step; the steps run in order on one shared context. Every step is idempotent, so
the demo can run again on the same database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.rule import Rule

from kruispunt.bootstrap import App
from kruispunt.cli._common import app_state, console


@dataclass
class DemoContext:
    """What the steps share: the app, a folder for files, and what earlier steps produced."""

    app: App
    out: Path
    facts: dict[str, Any] = field(default_factory=dict)


DemoStep = Callable[[DemoContext], None]


def _steps() -> list[tuple[str, DemoStep]]:
    from kruispunt.cli import demo_steps

    return demo_steps.STEPS


def demo() -> None:
    """Run every capability end to end on synthetic data and show the results."""
    state = app_state()
    out = state.settings.home / "demo"
    out.mkdir(parents=True, exist_ok=True)
    context = DemoContext(app=state, out=out)
    console.print(f"database: {state.engine.url.render_as_string(hide_password=True)}; files in {out}")
    for title, step in _steps():
        console.print(Rule(title))
        step(context)
    console.print(Rule("done"))
