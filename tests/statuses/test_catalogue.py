"""The status catalogue: the codes other rooms rely on, code expansion, and a wrong file's error."""

from __future__ import annotations

from pathlib import Path

import pytest

from kruispunt.statuses import CatalogueError, UnknownStatus, catalogue, expand_codes, load_catalogue
from kruispunt.statuses.catalogue import CATALOGUE_FILE

REQUIRED = {
    "LEEFLOON",
    "EQUIV_LEEFLOON",
    "VT",
    "VT_DEPENDANT",
    "IGO",
    "IVT",
    "IT",
    "HANDICAP_66",
    "THAB",
    "WERKLOOS",
    "TIJD_WERKLOOS",
    "OVERBRUGGING",
}


def test_catalogue_has_the_codes_with_labels_sources_and_capacity() -> None:
    cat = catalogue()
    assert set(cat.codes) >= REQUIRED
    vt = cat.status("VT")
    assert vt.extends_to_dependants and vt.sources == ("NIC",) and (vt.sector, vt.capacity) == (6, 1)
    assert cat.status("LEEFLOON").label("fr") == "Revenu d'intégration"
    assert cat.status("LEEFLOON").capacity == 2 and cat.status("LEEFLOON").sector == 17
    assert set(cat.statuses_of("DG_HAN")) == {"IVT", "IT", "HANDICAP_66"}
    assert catalogue() is cat  # cached


def test_expand_codes_follows_counts_as() -> None:
    assert expand_codes(["VT"]) == frozenset({"VT", "VT_DEPENDANT"})
    assert expand_codes(["VT_DEPENDANT"]) == frozenset({"VT_DEPENDANT"})
    assert expand_codes(["IGO", "LEEFLOON"]) == frozenset({"IGO", "LEEFLOON"})
    with pytest.raises(UnknownStatus, match="NOPE"):
        expand_codes(["VT", "NOPE"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            (
                "sources: [NIC]\n    extends_to_dependants: true",
                "sources: [NIX]\n    extends_to_dependants: true",
            ),
            "status VT: unknown source",
        ),
        (("counts_as: [VT]", "counts_as: [VTT]"), "status VT_DEPENDANT: counts_as names unknown"),
        (("code: IGO", "code: LEEFLOON"), "status LEEFLOON is listed twice"),
        (("    capacity: 1\n  - code: IVT", "    capacity: one\n  - code: IVT"), "status IGO.capacity"),
    ],
)
def test_a_wrong_catalogue_names_file_and_entry(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    text = CATALOGUE_FILE.read_text(encoding="utf-8")
    assert change[0] in text
    wrong = tmp_path / "catalogue.yaml"
    wrong.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    with pytest.raises(CatalogueError, match=message) as error:
        load_catalogue(wrong)
    assert str(wrong) in str(error.value)
