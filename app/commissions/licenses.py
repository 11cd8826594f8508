"""The licenses a commission may put its open data under: SPDX identifiers, with the words and links the
portal and the data packages show. CC BY 4.0 is the default: Satu Data Indonesia asks for an open license,
and attribution is what a commission expects when its ranking is reused."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class License:
    spdx: str
    title: str
    """How pages and data packages name it, in Bahasa Indonesia."""
    path: str


DEFAULT_LICENSE = "CC-BY-4.0"

LICENSES: dict[str, License] = {
    item.spdx: item
    for item in (
        License(
            "CC-BY-4.0",
            "Creative Commons Atribusi 4.0 Internasional (CC BY 4.0)",
            "https://creativecommons.org/licenses/by/4.0/",
        ),
        License(
            "CC-BY-SA-4.0",
            "Creative Commons Atribusi-BerbagiSerupa 4.0 Internasional (CC BY-SA 4.0)",
            "https://creativecommons.org/licenses/by-sa/4.0/",
        ),
        License(
            "CC0-1.0",
            "Creative Commons Zero 1.0 Universal (CC0 1.0), domain publik",
            "https://creativecommons.org/publicdomain/zero/1.0/",
        ),
        License(
            "ODbL-1.0",
            "Open Data Commons Open Database License 1.0 (ODbL)",
            "https://opendatacommons.org/licenses/odbl/1-0/",
        ),
    )
}


def license_of(spdx: str) -> License:
    """The license by its SPDX identifier; an identifier no longer listed reads as the default's."""
    return LICENSES.get(spdx) or LICENSES[DEFAULT_LICENSE]
