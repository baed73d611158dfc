"""Phonetic search in the register: names that sound alike or are spelled nearly alike, born near a date.

Names are folded (accents, case, punctuation) and compared with jellyfish: equal Metaphone or NYSIIS
codes, or a Jaro-Winkler similarity of at least :data:`SIMILARITY`. A birth date may leave month and day
unknown (00); ``tolerance`` widens it by that many years either side. Results are ranked by how close
the names are, then by the birth date's distance.
"""

from __future__ import annotations

import calendar
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import jellyfish
import polars as pl
from sqlalchemy import Engine

from kruispunt import identity

SIMILARITY = 0.88
MAX_RESULTS = 100
GENDERS = {1: "M", 2: "F"}


@dataclass(frozen=True)
class Criteria:
    last_name: str
    first_name: str
    birth_date: str  # YYYY-MM-DD, month and day 00 when unknown
    gender: int | None = None
    tolerance: int = 0
    maximum: int = MAX_RESULTS


def fold(name: str) -> str:
    """Upper case, without accents or punctuation: "Van den Bossche-Périer" -> "VAN DEN BOSSCHE PERIER"."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return " ".join("".join(c if c.isalpha() else " " for c in plain.upper()).split())


def birth_window(text: str, tolerance: int) -> tuple[date, date]:
    """The first and last possible birth day; raises ValueError for an impossible date."""
    year, month, day = (int(part) for part in text.split("-"))
    if month == 0:
        first, last = date(year, 1, 1), date(year, 12, 31)
    elif day == 0:
        first, last = date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    else:
        first = last = date(year, month, day)
    return _widen(first, last, tolerance)


def _widen(first: date, last: date, years: int) -> tuple[date, date]:
    def shift(day: date, by: int) -> date:
        try:
            return day.replace(year=day.year + by)
        except ValueError:  # 29 February
            return day.replace(year=day.year + by, day=28)

    return shift(first, -years), shift(last, years)


def _alike(wanted: str, candidate: str) -> float:
    """0 when the names do not match; otherwise their Jaro-Winkler similarity (1 for the same sound)."""
    if not wanted:
        return 1.0
    if not candidate:
        return 0.0
    similarity = jellyfish.jaro_winkler_similarity(wanted, candidate)
    if similarity >= SIMILARITY:
        return similarity
    same_sound = jellyfish.metaphone(wanted) == jellyfish.metaphone(candidate) or jellyfish.nysiis(
        wanted
    ) == jellyfish.nysiis(candidate)
    return max(similarity, SIMILARITY) if same_sound else 0.0


def _first_names(wanted: str, candidate: str) -> float:
    """A wanted first name matches the whole of the person's first names or any one of them."""
    options = [candidate, *candidate.split()]
    return max(_alike(wanted, option) for option in options)


def _scored(people: pl.DataFrame, column: str, score: Callable[[str], float]) -> pl.DataFrame:
    """Keep the rows whose ``column`` matches (each distinct name scored once), with ``<column>_score``."""
    names = people.get_column(column).unique().to_list()
    scores = pl.DataFrame(
        {column: names, f"{column}_score": [score(n) for n in names]},
        schema={column: pl.String, f"{column}_score": pl.Float64},
    )
    return people.join(scores.filter(pl.col(f"{column}_score") > 0), on=column, how="inner")


def search(engine: Engine, criteria: Criteria) -> pl.DataFrame:
    """The best matches (at most ``criteria.maximum``, never more than 100), best first.

    Columns: person_id, insz, last_name, first_name, birth_date, sex, death_date, score.
    """
    first, last = birth_window(criteria.birth_date, criteria.tolerance)
    people = identity.persons_born_between(engine, first, last)
    if criteria.gender in GENDERS:
        people = people.filter(pl.col("sex") == GENDERS[criteria.gender])
    wanted_last, wanted_first = fold(criteria.last_name), fold(criteria.first_name)
    people = _scored(people, "last_name", lambda name: _alike(wanted_last, fold(name)))
    people = _scored(people, "first_name", lambda name: _first_names(wanted_first, fold(name)))
    middle = date.fromordinal((first.toordinal() + last.toordinal()) // 2)
    return (
        people.with_columns(
            ((pl.col("last_name_score") * 2 + pl.col("first_name_score")) / 3).alias("score"),
            (pl.col("birth_date") - pl.lit(middle)).abs().alias("distance"),
        )
        .sort(["score", "distance", "person_id"], descending=[True, False, False])
        .head(min(criteria.maximum, MAX_RESULTS))
        .drop("last_name_score", "first_name_score", "distance")
    )
