"""Words the pages show for codes (roles, sex, household roles), marked for translation."""

from __future__ import annotations

from collections.abc import Callable


def _(message: str) -> str:
    """Marks a message for extraction; translated when a template calls the label function."""
    return message


ROLE_LABELS = {
    "officer": _("municipal officer"),
    "ocmw": _("OCMW social worker"),
    "admin": _("institution administrator"),
    "researcher": _("researcher"),
    "citizen": _("citizen"),
}
SEX_LABELS = {"M": _("male"), "F": _("female")}
HOUSEHOLD_ROLE_LABELS = {
    "head": _("reference person"),
    "partner": _("partner"),
    "child": _("child"),
    "other": _("other member"),
}


def label_functions(gettext: Callable[[str], str]) -> dict[str, Callable[[str | None], str]]:
    """Template globals that translate a code through ``gettext`` (unknown codes shown as they are)."""

    def lookup(table: dict[str, str]) -> Callable[[str | None], str]:
        def label(code: str | None) -> str:
            if code is None:
                return gettext("unknown")
            return gettext(table[code]) if code in table else code

        return label

    return {
        "role_label": lookup(ROLE_LABELS),
        "sex_label": lookup(SEX_LABELS),
        "household_role_label": lookup(HOUSEHOLD_ROLE_LABELS),
    }
