"""Field checks shared by the body API and the bulk import (CSV here, XLSX in exports)."""

from __future__ import annotations

import re

# Kemendagri kode wilayah: province 31, regency/city 31.71, district 31.71.01, village 31.71.01.1001.
REGION_CODE = re.compile(r"^[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?$")  # ASCII digits only
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
EMAIL = re.compile(rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+$")

# The same as the document says them (a value is stripped before it is checked).
REGION_CODE_PATTERN = rf"^\s*{REGION_CODE.pattern[1:-1]}\s*$"
EMAIL_PATTERN = rf"^\s*{EMAIL.pattern[1:-1]}\s*$"
# An address or nothing (blank text clears a setting such as a commission's Reply-To).
OPTIONAL_EMAIL_PATTERN = rf"^\s*(?:{EMAIL.pattern[1:-1]})?\s*$"

REGION_MESSAGE = "not a Kemendagri region code such as 31, 31.71, 31.71.01 or 31.71.01.1001"
REGION_MESSAGE_ID = "Bukan kode wilayah Kemendagri seperti 31, 31.71, 31.71.01 atau 31.71.01.1001."
EMAIL_MESSAGE = "not an e-mail address such as ppid@example.go.id"
EMAIL_MESSAGE_ID = "Bukan alamat surel seperti ppid@example.go.id."


def region_code_problem(value: str) -> str | None:
    return None if REGION_CODE.fullmatch(value) else REGION_MESSAGE


def email_problem(value: str) -> str | None:
    return None if len(value) <= 320 and EMAIL.fullmatch(value) else EMAIL_MESSAGE


def check_region_code(value: str) -> str:
    value = value.strip()
    problem = region_code_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def check_email(value: str) -> str:
    value = value.strip()
    problem = email_problem(value)
    if problem:
        raise ValueError(problem)
    return value
