"""Identity numbers: parsing any spelling, explaining refusals, and the generator (checked by stdnum)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.be import bis, nn, vat

from kruispunt.identity import (
    Insz,
    InvalidNumber,
    KboNumber,
    NumberGenerator,
    NumberKind,
    Sex,
    insz_numbers,
    parse_number,
)


@pytest.mark.parametrize("spelling", ["93.05.18-223.61", "93051822361", " 930518 223 61 ", "93/05/18-223-61"])
def test_usual_spellings_of_one_insz(spelling: str) -> None:
    insz = Insz.parse(spelling)
    assert insz.number == "93051822361"
    assert insz.kind is NumberKind.NATIONAL_REGISTER
    assert insz.birth_date is not None and insz.birth_date.complete == date(1993, 5, 18)
    assert insz.sex is Sex.MALE
    assert insz.formatted == "93.05.18-223.61"


def test_kbo_spellings() -> None:
    for spelling in ("BE 0566.988.259", "0566988259", "BE0566988259", "566988259"):
        assert KboNumber.parse(spelling).formatted == "0566.988.259"
    assert isinstance(parse_number("BE 0566.988.259"), KboNumber)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("93051822362", "check digits"),
        ("9305182236", "has 10 digits"),
        ("93x51822361", "only digits"),
        ("93133022348", "birth date"),
        ("BE 0566.988.258", "check digits"),
    ],
)
def test_refusals_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidNumber, match=reason):
        parse_number(text)


def test_bis_numbers_carry_sex_only_when_known() -> None:
    gen = NumberGenerator(1)
    unknown = gen.insz(date(1985, 3, 2), None, NumberKind.BIS)
    known = gen.insz(date(1985, 3, 2), Sex.FEMALE, NumberKind.BIS)
    assert unknown.kind is NumberKind.BIS and unknown.sex is None and unknown.number[2:4] == "23"
    assert known.sex is Sex.FEMALE and known.number[2:4] == "43"
    assert known.birth_date is not None and known.birth_date.complete == date(1985, 3, 2)


dates = st.dates(min_value=date(1901, 1, 1), max_value=date(2025, 12, 31))


@settings(max_examples=300, deadline=None)
@given(birth=dates, male=st.booleans(), offset=st.sampled_from([0, 20, 40]), pair=st.integers(0, 498))
def test_generated_numbers_are_valid_for_stdnum(birth: date, male: bool, offset: int, pair: int) -> None:
    number = insz_numbers(
        np.array([birth], dtype="datetime64[D]"),
        np.array([male]),
        np.array([offset]),
        first_serial_pair=np.array([pair]),
    )[0]
    module = bis if offset else nn
    assert module.is_valid(number)
    parsed = Insz.parse(str(number))
    assert parsed.birth_date is not None and parsed.birth_date.complete == birth
    if offset != 20:
        assert parsed.sex is (Sex.MALE if male else Sex.FEMALE)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789 .-/BEx", max_size=20))
def test_parser_never_crashes_and_agrees_with_stdnum(text: str) -> None:
    try:
        result = parse_number(text)
    except InvalidNumber as error:
        assert str(error)
        return
    if isinstance(result, KboNumber):
        assert vat.is_valid(result.number)
    else:
        assert (bis if result.kind is NumberKind.BIS else nn).is_valid(result.number)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**11 - 1))
def test_any_eleven_digits_valid_iff_stdnum_says_so(value: int) -> None:
    text = f"{value:011d}"
    expected = nn.is_valid(text) or bis.is_valid(text)
    try:
        Insz.parse(text)
        accepted = True
    except InvalidNumber:
        accepted = False
    assert accepted == expected


def test_vectorised_generator_is_unique_at_scale() -> None:
    rng = np.random.default_rng(3)
    births = np.datetime64("1930-01-01") + rng.integers(0, 35_000, 200_000).astype("timedelta64[D]")
    male = rng.random(200_000) < 0.5
    numbers = insz_numbers(births, male)
    assert len(set(numbers.tolist())) == len(numbers)
    assert all(nn.is_valid(n) for n in numbers[:2000])


def test_generator_kbo_numbers_are_valid_and_unique() -> None:
    gen = NumberGenerator(7)
    numbers = {gen.kbo().number for _ in range(500)}
    assert len(numbers) == 500 and all(vat.is_valid(n) for n in numbers)


def test_day_past_month_end_is_a_counter_overflow_not_a_date() -> None:
    insz = Insz.parse("93023022368")  # stdnum accepts it: the day digits were raised when serials ran out
    assert insz.birth_date is not None and insz.birth_date.complete is None
    assert insz.birth_date.year == 1993 and insz.birth_date.month == 2
