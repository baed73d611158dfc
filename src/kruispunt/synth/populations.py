"""How many people live in each municipality: real figures, brought to today's 565 municipalities.

The shipped figures (``data/population_2020.csv``) are the legal population per municipality on
1 January 2020 for the 581 municipalities of that day. The municipal mergers of 1 January 2025
(``data/mergers_2025.csv``) are applied by adding up the merged municipalities, and every figure is scaled so
that Belgium counts :data:`~kruispunt.synth.targets.BELGIUM_POPULATION` (1 January 2024). See
``data/README.md`` and ``docs/synth.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt
import polars as pl

from kruispunt.identity import all_municipalities, municipality
from kruispunt.synth.targets import BELGIUM_POPULATION


class SynthError(ValueError):
    """Arguments the generator cannot honour; the message says which and why."""


def _data_csv(name: str) -> pl.DataFrame:
    text = resources.files("kruispunt.synth").joinpath("data").joinpath(name).read_bytes()
    return pl.read_csv(text, infer_schema=False)


@cache
def municipal_populations() -> pl.DataFrame:
    """One row per current municipality: ``municipality_nis``, ``population`` (scaled to 2024), ``source``.

    ``source`` says how the figure was obtained: ``2020`` (unchanged municipality) or ``2020 merged``.
    """
    raw = _data_csv("population_2020.csv").select(pl.col("nis"), pl.col("population").cast(pl.Int64))
    mergers = _data_csv("mergers_2025.csv")
    current = {m.nis for m in all_municipalities()}
    mapped = raw.join(mergers, left_on="nis", right_on="old_nis", how="left").with_columns(
        pl.coalesce("new_nis", "nis").alias("municipality_nis"),
        pl.col("new_nis").is_not_null().alias("merged"),
    )
    unknown = mapped.filter(~pl.col("municipality_nis").is_in(list(current)))
    if unknown.height:
        raise SynthError(f"population data names unknown municipalities: {unknown['nis'].to_list()}")
    summed = (
        mapped.group_by("municipality_nis")
        .agg(pl.col("population").sum(), pl.col("merged").any())
        .sort("municipality_nis")
    )
    missing = sorted(current - set(summed["municipality_nis"]))
    if missing:
        raise SynthError(f"no population figure for municipalities {missing}")
    scale = BELGIUM_POPULATION / summed["population"].sum()
    return summed.select(
        "municipality_nis",
        (pl.col("population") * scale).round().cast(pl.Int64).alias("population"),
        pl.when(pl.col("merged")).then(pl.lit("2020 merged")).otherwise(pl.lit("2020")).alias("source"),
    )


def apportion(total: int, weights: Sequence[int] | npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Split ``total`` in proportion to ``weights`` by largest remainders (the result sums to ``total``)."""
    w = np.asarray(weights, dtype=np.float64)
    exact = total * w / w.sum()
    counts: npt.NDArray[np.int64] = np.floor(exact).astype(np.int64)
    short = total - int(counts.sum())
    if short:
        order = np.lexsort((np.arange(len(w)), -(exact - counts)))
        counts[order[:short]] += 1
    return counts


def persons_per_municipality(persons: int | None, selection: Sequence[str] | None) -> pl.DataFrame:
    """``municipality_nis`` and ``persons`` for the selected municipalities (all when ``selection`` is None).

    Persons are spread in proportion to the real populations; without ``persons``, each selected municipality
    gets its real (2024-scaled) population.
    """
    table = municipal_populations()
    if selection is not None:
        wanted = list(dict.fromkeys(selection))
        for nis in wanted:
            try:
                municipality(nis)
            except KeyError as error:
                raise SynthError(
                    str(error.args[0]) if error.args else f"unknown municipality {nis}"
                ) from None
        table = table.filter(pl.col("municipality_nis").is_in(wanted))
    if persons is None:
        if selection is None:
            raise SynthError("give --persons, or --municipalities to use their real population")
        return table.select("municipality_nis", pl.col("population").alias("persons"))
    if persons < 1:
        raise SynthError("--persons must be at least 1")
    counts = apportion(persons, table["population"].to_numpy())
    return table.select("municipality_nis").with_columns(pl.Series("persons", counts))
