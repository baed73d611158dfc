"""The demo's first step: the three demo municipalities, with a fixed seed, for the steps after it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from kruispunt.bootstrap import bootstrap
from kruispunt.cli.demo import DemoContext
from kruispunt.cli.demo_steps import STEPS
from kruispunt.cli.synth import demo_synth
from kruispunt.config import Settings


def test_demo_step_runs_first_and_gives_the_same_files_twice(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    assert STEPS[0][1] is demo_synth
    app = bootstrap(sqlite_settings)
    try:
        context = DemoContext(app=app, out=tmp_path)
        demo_synth(context)
        register_file = context.facts["register_file"]
        first = register_file.read_bytes(), context.facts["statuses_file"].read_bytes()
        demo_synth(context)
        assert (register_file.read_bytes(), context.facts["statuses_file"].read_bytes()) == first
        assert context.facts["as_of"] == date(2025, 1, 1)
        assert register_file.parent == tmp_path / "synth"
    finally:
        app.engine.dispose()
