"""Validators and reference data of the hub, property-based where the input space is open."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.be import nn

from kruispunt.network import Reason, Refused, capacities
from kruispunt.network.audit import GENESIS, AuditEntry, record_hash
from kruispunt.network.directory import parse_insz
from kruispunt.network.hub import MESSAGE_ID_PATTERN
from kruispunt.network.partners import now
from kruispunt.statuses import catalogue


@given(st.text(max_size=40))
def test_parse_insz_accepts_valid_numbers_only_and_explains_the_rest(text: str) -> None:
    try:
        number = parse_insz(text)
    except Refused as refusal:
        assert refusal.reason is Reason.INVALID_INSZ and refusal.field == "insz"
        assert "is not a valid INSZ" in refusal.message
    else:
        assert len(number) == 11 and number.isdigit()


@given(st.text(max_size=120))
def test_message_ids_are_header_safe(text: str) -> None:
    if MESSAGE_ID_PATTERN.match(text):
        assert 1 <= len(text) <= 100 and text.isascii() and not any(c.isspace() for c in text)


def test_every_status_of_the_catalogue_has_a_capacity_in_the_directory() -> None:
    known = capacities()
    missing = [d.code for d in catalogue().statuses.values() if d.capacity not in known.get(d.sector, {})]
    assert not missing
    assert set(known[17]) == {1, 2, 3, 4, 7, 40}


@given(st.text(max_size=30), st.integers(min_value=1, max_value=10**9))
def test_record_hash_changes_with_any_field(user: str, seq: int) -> None:
    entry = AuditEntry(now(), "statuses", "answered", 200, GENESIS, 5, end_user=user)
    values = vars(entry)
    base = record_hash(seq, GENESIS, values)
    assert record_hash(seq + 1, GENESIS, values) != base
    assert record_hash(seq, "1" * 64, values) != base
    assert record_hash(seq, GENESIS, {**values, "end_user": user + "x"}) != base


@pytest.mark.parametrize("number", ["93051822361", "93.05.18-223.61"])
def test_parse_insz_normalises_spellings(number: str) -> None:
    assert parse_insz(number) == nn.compact(number)
