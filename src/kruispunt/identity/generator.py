"""Valid, unique synthetic identity numbers for tests and the synthetic population.

Generated numbers follow the public rules (see :mod:`kruispunt.identity.numbers`); the tests check every
generated number with python-stdnum. The vectorised :func:`insz_numbers` serves national-scale
populations; :class:`NumberGenerator` serves tests that want one number at a time.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt

from kruispunt.identity.numbers import Insz, KboNumber, NumberKind, Sex

_MAX_SERIAL_PAIRS = 499  # serials 001..997 (men) and 002..998 (women)


def _check_digits(
    first_nine: npt.NDArray[np.int64], born_2000_or_later: npt.NDArray[np.bool_]
) -> npt.NDArray[np.int64]:
    base = np.where(born_2000_or_later, first_nine + 2_000_000_000, first_nine)
    return 97 - base % 97


def _civil(days: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], ...]:
    """Year, month and day of days since 1970-01-01, in integer arithmetic (H. Hinnant's
    ``civil_from_days``): several times faster than numpy's conversions to months and years."""
    shifted = days + 719_468  # days since 0000-03-01, so that leap days end a year
    era = shifted // 146_097
    day_of_era = shifted - era * 146_097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_from_march = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * month_from_march + 2) // 5 + 1
    month = np.where(month_from_march < 10, month_from_march + 3, month_from_march - 9)
    year = year_of_era + era * 400 + (month <= 2)
    return year, month, day


def insz_numbers(
    birth_dates: npt.NDArray[np.datetime64],
    male: npt.NDArray[np.bool_],
    bis_offset: npt.NDArray[np.int64] | None = None,
    *,
    first_serial_pair: npt.NDArray[np.int64] | None = None,
) -> npt.NDArray[np.str_]:
    """INSZ numbers for people born on ``birth_dates``, unique within the call.

    ``bis_offset`` is 0 (national register), 20 or 40 (BIS number) per person. Serials count up per
    (birth date, sex, kind) in input order, starting at ``first_serial_pair`` when given, so the result
    is deterministic for a given input order. Raises ValueError when more than 499 people of one sex
    share a birth date and kind.
    """
    numbers = insz_values(birth_dates, male, bis_offset, first_serial_pair=first_serial_pair)
    return np.char.zfill(numbers.astype(str), 11)


def insz_values(
    birth_dates: npt.NDArray[np.datetime64],
    male: npt.NDArray[np.bool_],
    bis_offset: npt.NDArray[np.int64] | None = None,
    *,
    first_serial_pair: npt.NDArray[np.int64] | None = None,
) -> npt.NDArray[np.int64]:
    """:func:`insz_numbers` as integers (the 11 digits read as a number, leading zeros dropped).

    For national-scale work: numpy text arrays cost far more than the arithmetic, and callers that build
    their own text columns (``kruispunt.synth``) format the integers in one go.
    """
    years, months, mday = _civil(birth_dates.astype("datetime64[D]").astype(np.int64))
    offsets = np.zeros(len(years), dtype=np.int64) if bis_offset is None else bis_offset.astype(np.int64)
    group = (years * 10_000 + (months + offsets) * 100 + mday) * 2 + male.astype(np.int64)
    order = np.argsort(group, kind="stable")
    sorted_group = group[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_group)) + 1]
    run_index = np.arange(len(group)) - np.repeat(starts, np.diff(np.r_[starts, len(group)]))
    rank = np.empty_like(run_index)
    rank[order] = run_index
    if first_serial_pair is not None:
        rank = rank + first_serial_pair
    if len(rank) and rank.max() >= _MAX_SERIAL_PAIRS:
        raise ValueError("more than 499 people of one sex share a birth date; spread the birth dates")
    serial = np.where(male, 2 * rank + 1, 2 * rank + 2)
    first_nine = ((years % 100) * 10_000 + (months + offsets) * 100 + mday) * 1000 + serial
    check = _check_digits(first_nine, years >= 2000)
    numbers: npt.NDArray[np.int64] = first_nine * 100 + check
    return numbers


class NumberGenerator:
    """Hands out unique valid numbers one by one, reproducibly from a seed."""

    def __init__(self, seed: int = 0) -> None:
        self._rng = np.random.default_rng(seed)
        self._used: set[str] = set()
        self._serial_pairs: dict[tuple[str, bool, int], int] = {}

    def insz(
        self,
        birth_date: date | None = None,
        sex: Sex | None = None,
        kind: NumberKind = NumberKind.NATIONAL_REGISTER,
    ) -> Insz:
        """A fresh INSZ; a BIS number with unknown sex when ``kind`` is BIS and ``sex`` is None."""
        if birth_date is None:
            birth_date = date(1940, 1, 1).fromordinal(
                date(1940, 1, 1).toordinal() + int(self._rng.integers(0, 30_000))
            )
        male = sex is Sex.MALE if sex is not None else bool(self._rng.integers(0, 2))
        offset = 0 if kind is NumberKind.NATIONAL_REGISTER else (40 if sex is not None else 20)
        key = (birth_date.isoformat(), male, offset)
        pair = self._serial_pairs.get(key, 0)
        self._serial_pairs[key] = pair + 1
        text = insz_numbers(
            np.array([birth_date], dtype="datetime64[D]"),
            np.array([male]),
            np.array([offset]),
            first_serial_pair=np.array([pair]),
        )[0]
        self._used.add(str(text))
        return Insz.parse(str(text))

    def kbo(self) -> KboNumber:
        """A fresh enterprise number."""
        while True:
            first_eight = int(self._rng.integers(2_000_000, 19_999_999))
            text = f"{first_eight:08d}{97 - first_eight % 97:02d}"
            if text not in self._used:
                self._used.add(text)
                return KboNumber.parse(text)
