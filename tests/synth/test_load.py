"""A generated municipality loads as it is into the person register and the GSS buffer."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from kruispunt import identity, statuses
from kruispunt.bootstrap import bootstrap
from kruispunt.config import Settings
from kruispunt.synth import generate


def test_generated_municipality_loads_into_register_and_buffer(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    manifest = generate(None, 5, ["64065"], out=tmp_path / "synth")
    app = bootstrap(sqlite_settings)
    try:
        loaded = identity.load_register(
            app.engine, tmp_path / "synth" / "register.parquet", as_of=date(2025, 1, 1)
        )
        assert loaded.persons_added == manifest.counts["persons"]
        counts = identity.register_counts(app.engine)
        assert counts["persons"] == manifest.counts["persons"]
        assert counts["households"] >= manifest.counts["households"]
        report = statuses.load_status_feed(
            app.engine, tmp_path / "synth" / "statuses.parquet", source=statuses.ALL_SOURCES
        )
        assert report.rejected == 0 and report.unknown_persons == 0
        assert report.periods_added == manifest.counts["status_rows"]
        again = identity.load_register(
            app.engine, tmp_path / "synth" / "register.parquet", as_of=date(2025, 1, 1)
        )
        assert not again.changed_anything
    finally:
        app.engine.dispose()
