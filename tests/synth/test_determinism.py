"""The same arguments give byte-identical files, however many processes ran; other seeds differ."""

from __future__ import annotations

from pathlib import Path

import pytest

from kruispunt.synth import generate, generator


def _bytes(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_same_arguments_same_bytes(tmp_path: Path, fmt: str) -> None:
    first = generate(None, 42, ["61031", "64065"], fmt, tmp_path / "a")  # type: ignore[arg-type]
    second = generate(None, 42, ["61031", "64065"], fmt, tmp_path / "b")  # type: ignore[arg-type]
    assert _bytes(tmp_path / "a") == _bytes(tmp_path / "b")
    assert first == second
    other = generate(None, 43, ["61031", "64065"], fmt, tmp_path / "c")  # type: ignore[arg-type]
    assert other.files[f"register.{fmt}"]["sha256"] != first.files[f"register.{fmt}"]["sha256"]


@pytest.mark.parametrize(("fmt", "defects"), [("parquet", 0.0), ("csv", 0.01)])
def test_parallel_run_gives_the_same_files_as_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, defects: float
) -> None:
    monkeypatch.setattr(generator, "CHUNK_PERSONS", 15_000)  # several chunks from a small population
    generate(60_000, 8, fmt=fmt, out=tmp_path / "one", defects=defects, workers=1)  # type: ignore[arg-type]
    generate(60_000, 8, fmt=fmt, out=tmp_path / "two", defects=defects, workers=2)  # type: ignore[arg-type]
    assert _bytes(tmp_path / "one") == _bytes(tmp_path / "two")
    assert not [path for path in (tmp_path / "two").iterdir() if path.name.startswith(".")]  # parts removed
