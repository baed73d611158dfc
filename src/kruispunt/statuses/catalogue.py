"""The catalogue of harmonised social statuses, read from ``catalogue.yaml``.

The catalogue is data: adding a status or a source is an edit of the YAML file, not of code. The file is
validated whole when it is read (every code unique, every source and ``counts_as`` reference known), so a
typo fails at start-up with the file and the entry named, never in the middle of a load.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

CATALOGUE_FILE = Path(__file__).with_name("catalogue.yaml")


class UnknownStatus(KeyError):
    """A status code (or source code) that the catalogue does not know."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown status"


class CatalogueError(ValueError):
    """The catalogue file itself is wrong; the message names the file and the entry."""


class Labels(BaseModel):
    """A name in the three languages the catalogue speaks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    nl: str = Field(min_length=1)
    fr: str = Field(min_length=1)
    en: str = Field(min_length=1)


class StatusDefinition(BaseModel):
    """One harmonised status: who delivers it and where it lands in the reference directory."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,39}$")
    labels: Labels
    sources: tuple[str, ...] = Field(min_length=1)
    extends_to_dependants: bool = False
    counts_as: tuple[str, ...] = ()
    sector: int = Field(ge=0)
    capacity: int = Field(ge=0)

    def label(self, language: str = "en") -> str:
        """The label in ``language`` (nl, fr or en)."""
        return str(getattr(self.labels, language))


class _CatalogueFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: dict[str, Labels]
    statuses: list[StatusDefinition]


@dataclass(frozen=True)
class Catalogue:
    """Every known status and source, in file order."""

    statuses: dict[str, StatusDefinition]
    sources: dict[str, Labels]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.statuses)

    def status(self, code: str) -> StatusDefinition:
        """The definition of ``code``; raises UnknownStatus."""
        try:
            return self.statuses[code]
        except KeyError:
            raise UnknownStatus(f"unknown status code {code!r}") from None

    def source(self, code: str) -> Labels:
        """The names of source institution ``code``; raises UnknownStatus."""
        try:
            return self.sources[code]
        except KeyError:
            raise UnknownStatus(f"unknown source code {code!r}") from None

    def statuses_of(self, source: str) -> tuple[str, ...]:
        """The status codes ``source`` may deliver."""
        self.source(source)
        return tuple(code for code, d in self.statuses.items() if source in d.sources)

    def expand_codes(self, codes: Iterable[str]) -> frozenset[str]:
        """The codes plus every code that counts as one of them (transitively)."""
        wanted = {self.status(code).code for code in codes}
        while True:
            more = {d.code for d in self.statuses.values() if wanted.intersection(d.counts_as)}
            if more <= wanted:
                return frozenset(wanted)
            wanted |= more


def load_catalogue(path: Path = CATALOGUE_FILE) -> Catalogue:
    """Read and check a catalogue file; raises CatalogueError naming the file and the wrong entry."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        parsed = _CatalogueFile.model_validate(raw)
    except (OSError, yaml.YAMLError) as error:
        raise CatalogueError(f"{path}: cannot read the catalogue: {error}") from None
    except ValidationError as error:
        first = error.errors()[0]
        raise CatalogueError(f"{path}: {_where(raw, first['loc'])}: {first['msg']}") from None
    statuses: dict[str, StatusDefinition] = {}
    for definition in parsed.statuses:
        if definition.code in statuses:
            raise CatalogueError(f"{path}: status {definition.code} is listed twice")
        unknown = [s for s in definition.sources if s not in parsed.sources]
        if unknown:
            raise CatalogueError(f"{path}: status {definition.code}: unknown source(s) {', '.join(unknown)}")
        statuses[definition.code] = definition
    for definition in statuses.values():
        missing = [c for c in definition.counts_as if c not in statuses]
        if missing:
            raise CatalogueError(
                f"{path}: status {definition.code}: counts_as names unknown status(es) {', '.join(missing)}"
            )
    return Catalogue(statuses=statuses, sources=dict(parsed.sources))


def _where(raw: object, location: tuple[int | str, ...]) -> str:
    """A validation error's place, naming the status by its code rather than its position."""
    parts = [str(part) for part in location]
    if (
        len(location) > 1
        and location[0] == "statuses"
        and isinstance(location[1], int)
        and isinstance(raw, dict)
    ):
        entry = (raw.get("statuses") or [None] * (location[1] + 1))[location[1]]
        if isinstance(entry, dict) and "code" in entry:
            parts[:2] = [f"status {entry['code']}"]
    return ".".join(parts)


@cache
def catalogue() -> Catalogue:
    """The packaged catalogue, read and checked once per process."""
    return load_catalogue()


def expand_codes(codes: Iterable[str]) -> frozenset[str]:
    """``codes`` plus every code that counts as one of them: ``{"VT"}`` gives ``{"VT", "VT_DEPENDANT"}``.

    Raises UnknownStatus for a code the catalogue does not know.
    """
    return catalogue().expand_codes(codes)
