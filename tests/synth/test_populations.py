"""Municipal populations: real figures for the 565 municipalities, and persons spread in proportion."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kruispunt.identity import all_municipalities
from kruispunt.synth import SynthError, municipal_populations, persons_per_municipality
from kruispunt.synth.populations import apportion
from kruispunt.synth.targets import BELGIUM_POPULATION


def test_every_municipality_has_a_real_population() -> None:
    table = municipal_populations()
    assert sorted(table["municipality_nis"]) == sorted(m.nis for m in all_municipalities())
    assert abs(table["population"].sum() - BELGIUM_POPULATION) <= len(table)
    size = dict(table.select("municipality_nis", "population").iter_rows())
    assert 19_000 <= size["61031"] <= 23_500  # Huy
    assert 6_300 <= size["64065"] <= 7_700  # Saint-Georges-sur-Meuse
    assert 37_000 <= size["62051"] <= 44_000  # Herstal
    assert 500_000 <= size["11002"] <= 600_000  # Antwerp, Borsbeek included since 2025
    assert 250_000 <= size["44021"] <= 290_000  # Ghent
    assert size["46030"] > 80_000  # Beveren-Kruibeke-Zwijndrecht, merged in 2025


def test_selected_municipalities_default_to_their_real_population_or_share_persons() -> None:
    real = persons_per_municipality(None, ["61031", "62051"])
    assert dict(real.iter_rows()) == {
        nis: population
        for nis, population, _ in municipal_populations().iter_rows()
        if nis in ("61031", "62051")
    }
    shared = dict(persons_per_municipality(1_000, ["61031", "62051"]).iter_rows())
    assert sum(shared.values()) == 1_000 and 320 <= shared["61031"] <= 360
    with pytest.raises(SynthError, match="99999"):
        persons_per_municipality(10, ["99999"])


@given(st.integers(0, 10**8), st.lists(st.integers(1, 10**6), min_size=1, max_size=50))
def test_apportion_sums_to_total_and_stays_within_one_of_the_exact_share(
    total: int, weights: list[int]
) -> None:
    counts = apportion(total, weights)
    assert counts.sum() == total and (counts >= 0).all()
    exact = total * np.asarray(weights, dtype=float) / sum(weights)
    assert np.all(np.abs(counts - exact) < 1.0 + 1e-6)
