"""The public figures synthetic Belgium is built to resemble, with the tolerances the tests hold it to.

Everything the generator calibrates against lives here, as data, so that the generator, the tests and
``docs/synth.md`` speak of the same numbers. Figures are rounded; ``docs/synth.md`` names their sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

#: The reference day: ages, prevalences and open periods are "as of" this day.
DEFAULT_AS_OF = date(2025, 1, 1)
#: Status periods start at the earliest on this day (the buffer's history).
HISTORY_START = date(2015, 1, 1)
#: Population of Belgium on 1 January 2024 (Statbel), to which municipal figures are scaled.
BELGIUM_POPULATION = 11_763_650

#: Share of the population per five-year age band (0-4, 5-9, ..., 95-99, 100+), Belgium 1 January 2024,
#: rounded after Statbel's population structure (about 20 % under 18, about 20 % 65 and over).
AGE_BAND_SHARES = np.array(
    [
        5.2,
        5.6,
        5.9,
        5.7,
        5.6,
        6.1,
        6.5,
        6.6,
        6.6,
        6.3,
        6.8,
        7.0,
        6.6,
        5.7,
        5.0,
        4.3,
        2.8,
        1.8,
        0.8,
        0.17,
        0.03,
    ]
)
AGE_BAND_SHARES = AGE_BAND_SHARES / AGE_BAND_SHARES.sum()
#: Maximum tolerated difference, in percentage points, between a generated band share and its target.
AGE_BAND_TOLERANCE_PP = 0.5

#: Share of private households by size 1, 2, 3, 4, 5, 6 and 7 (Statbel households 2024, rounded): about a
#: third live alone and a household counts 2.3 persons on average.
HOUSEHOLD_SIZE_SHARES = np.array([0.350, 0.310, 0.140, 0.125, 0.050, 0.017, 0.008])
HOUSEHOLD_SIZE_SHARES = HOUSEHOLD_SIZE_SHARES / HOUSEHOLD_SIZE_SHARES.sum()
ONE_PERSON_TARGET, ONE_PERSON_TOLERANCE = 0.35, 0.03
MEAN_SIZE_TARGET, MEAN_SIZE_TOLERANCE = 2.30, 0.10

#: Deaths in the year before the reference day, as a share of the register (about 110,000 a year).
DEATH_RATE = 0.0095
#: Age bands (lower bounds) and shares of those who died: deaths are concentrated among the elderly.
DEATH_AGE_BANDS = np.array([0, 50, 60, 70, 80, 90])
DEATH_AGE_SHARES = np.array([0.04, 0.06, 0.13, 0.22, 0.35, 0.20])

#: Share of persons identified by a BIS number rather than a national register number, and of those the
#: share whose sex was known when the number was assigned (month + 40; the others month + 20).
BIS_SHARE = 0.02
BIS_SEX_KNOWN_SHARE = 0.75


@dataclass(frozen=True)
class Prevalence:
    """Share of a reference group holding a status on a given day, and how close the generator must be."""

    status: str
    share: float
    tolerance: float
    group: str  # "all", "18-64", "65+", "21+", "65+ flanders"
    on: date = DEFAULT_AS_OF


#: Prevalences on the reference day (and for the Covid measures on 15 April 2020), all rounded from public
#: figures: VT 18.9 % of the population in 2021; about 155,000 leefloon and 30,000 equivalent aid; about
#: 120,000 IGO among 2.3 million people of 65 and over; about 230,000 persons with a recognised disability,
#: most with IVT and/or IT; about 300,000 fully unemployed with benefit; over a million temporarily unemployed
#: in April 2020; about 400,000 self-employed on the Covid bridging right in April 2020.
PREVALENCES: tuple[Prevalence, ...] = (
    Prevalence("VT+VT_DEPENDANT", 0.190, 0.015, "all"),
    Prevalence("LEEFLOON", 0.013, 0.003, "all"),
    Prevalence("EQUIV_LEEFLOON", 0.0025, 0.0015, "all"),
    Prevalence("IGO", 0.052, 0.012, "65+"),
    Prevalence("HANDICAP_66", 0.025, 0.006, "21+"),
    Prevalence("IVT", 0.018, 0.006, "18-64"),
    Prevalence("IT", 0.016, 0.006, "21+"),
    Prevalence("THAB", 0.050, 0.012, "65+ flanders"),
    Prevalence("WERKLOOS", 0.040, 0.008, "18-64"),
    Prevalence("TIJD_WERKLOOS", 0.012, 0.005, "18-64"),
    Prevalence("TIJD_WERKLOOS", 0.150, 0.030, "18-64", date(2020, 4, 15)),
    Prevalence("OVERBRUGGING", 0.045, 0.012, "18-64", date(2020, 4, 15)),
)

#: Of the holders of leefloon (or its equivalent), IGO or IVT on the reference day, at least this share also
#: holds VT (it is granted on the ground of those statuses); among the others VT is far rarer.
VT_AMONG_QUALIFYING_MIN = 0.85
VT_AMONG_OTHERS_MAX = 0.20


def age_band_edges() -> npt.NDArray[np.int64]:
    """Lower bound of each band of :data:`AGE_BAND_SHARES` (0, 5, ..., 100)."""
    return np.arange(0, 5 * len(AGE_BAND_SHARES), 5)
