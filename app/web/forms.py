"""Page forms: reading them with the rule every request's text follows, and bringing a refused form back.

The app-wide ``app.inputs.refuse_unstorable_input`` looks only at the bodies FastAPI parses for a route.
Page handlers whose fields depend on the round or the template read ``request.form()`` themselves; they
read it through ``read_form`` instead, so a NUL character (which PostgreSQL text cannot hold) in any
field's name or value is the same 422 naming the field, before anything is looked up or written.

A refused form comes back. Every page form carries two hidden fields (written by ``_forms.html``'s
``meta`` macro): ``_form``, which form of the page it is, and ``_halaman``, the page it is on. When a POST
carrying them is refused (an ``EmonevError`` other than 401/403/404, or a request-validation error), the
page error handler renders that page again, as a GET, with a :class:`FormState`: the form's errors in
Indonesian, each shown beside its field, and every value the person typed. Nothing was written: the
error handler runs after the request's transaction was rolled back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from starlette.datastructures import FormData

from app.errors import FieldProblem, ProblemCollector
from app.inputs import NUL, NUL_MESSAGE, NUL_TEXT

FORM_FIELD = "_form"
PAGE_FIELD = "_halaman"
STATE_KEY = "form_state"
# Fields of the page machinery, never typed by a person and never sent back as kept values.
PRIVATE_FIELDS = frozenset({FORM_FIELD, PAGE_FIELD, "csrf_token"})
# Paths that answer machines (problem+json), not people; a refused form is rendered again only on a page.
MACHINE_PREFIXES = ("/api/", "/data/", "/web/", "/docs", "/redoc", "/openapi.json", "/healthz", "/readyz")
MAX_PAGE_LENGTH = 2000

GENERIC_FIELD_MESSAGE = "Isian ini belum benar."


async def read_form(request: Request) -> FormData:
    """The request's form, or a 422 naming every field whose name or value holds a NUL character."""
    form = await request.form()
    problems = ProblemCollector()
    for name, value in form.multi_items():
        if NUL in name or (isinstance(value, str) and NUL in value):
            problems.add(name.replace(NUL, "\\0"), NUL_MESSAGE, NUL_TEXT)
    problems.raise_if_any(
        "; ".join(f"{p.field}: {p.message}" for p in problems.problems),
        "Beberapa isian memuat karakter yang tidak dapat disimpan.",
    )
    return form


@dataclass(frozen=True)
class FormError:
    """One error as a page shows it: the field it belongs to (the service's name for it) and why, in
    Indonesian."""

    field: str
    message: str

    def belongs_to(self, name: str) -> bool:
        """Whether the error is about the input ``name``: the same name, or an item or member of it
        (``body_ids.2`` and ``answers[1.1]`` belong to ``body_ids`` and ``answers``)."""
        return self.field == name or self.field.startswith((f"{name}.", f"{name}["))

    @property
    def anchor(self) -> str:
        """The input the error summary links to: the field's name up to its first item or member."""
        for i, char in enumerate(self.field):
            if char in ".[":
                return self.field[:i]
        return self.field


@dataclass(frozen=True)
class FormState:
    """A refused form on its way back to its page: which form, why (in Indonesian) and what was typed."""

    form: str
    message: str
    errors: tuple[FormError, ...] = ()
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def errors_of(self, name: str) -> list[FormError]:
        return [e for e in self.errors if e.belongs_to(name)]

    def value(self, name: str) -> str | None:
        kept = self.values.get(name)
        return kept[0] if kept else None

    def value_list(self, name: str) -> list[str]:
        return list(self.values.get(name, ()))


def page_errors(problems: Iterable[FieldProblem]) -> tuple[FormError, ...]:
    """Field problems as a page shows them: their Indonesian sentence, never the API's English."""
    return tuple(FormError(p.field, p.indonesian or GENERIC_FIELD_MESSAGE) for p in problems)


def typed_values(form: FormData) -> dict[str, tuple[str, ...]]:
    """What the person typed, by field: text values only (a file cannot be sent back), page machinery out."""
    values: dict[str, list[str]] = {}
    for name, value in form.multi_items():
        if name not in PRIVATE_FIELDS and isinstance(value, str):
            values.setdefault(name, []).append(value)
    return {name: tuple(kept) for name, kept in values.items()}


def origin(form: FormData) -> tuple[str, str] | None:
    """The form's name and the path (with its query) of the page it came from, if it says so and the page is
    one of this site's own pages."""
    name = form.get(FORM_FIELD)
    page = form.get(PAGE_FIELD)
    if not isinstance(name, str) or not isinstance(page, str) or not name or len(page) > MAX_PAGE_LENGTH:
        return None
    if not page.startswith("/") or page.startswith(("//", "/static/", *MACHINE_PREFIXES)) or "\\" in page:
        return None
    return name, page


def state_of(request: Request) -> FormState | None:
    """The refused form a page is being rendered again for, if any."""
    state = getattr(request.state, STATE_KEY, None)
    return state if isinstance(state, FormState) else None


def page_of(request: Request) -> str:
    """The page's own path and query (less the flash message), for a form's ``_halaman`` field."""
    url = request.url.remove_query_params("pesan")
    return f"{url.path}?{url.query}" if url.query else url.path


# Pydantic's error types as a page says them (FastAPI's request validation of a page's form fields).
VALIDATION_MESSAGES = {
    "missing": "Wajib diisi.",
    "string_too_long": "Terlalu panjang: paling banyak {max_length} karakter.",
    "string_too_short": "Terlalu pendek: paling sedikit {min_length} karakter.",
    "too_long": "Terlalu banyak: paling banyak {max_length}.",
    "too_short": "Terlalu sedikit: paling sedikit {min_length}.",
    "int_parsing": "Harus berupa bilangan bulat.",
    "int_type": "Harus berupa bilangan bulat.",
    "int_from_float": "Harus berupa bilangan bulat.",
    "float_parsing": "Harus berupa angka.",
    "float_type": "Harus berupa angka.",
    "decimal_parsing": "Harus berupa angka.",
    "decimal_type": "Harus berupa angka.",
    "finite_number": "Harus berupa angka.",
    "greater_than": "Harus lebih dari {gt}.",
    "greater_than_equal": "Paling kecil {ge}.",
    "less_than": "Harus kurang dari {lt}.",
    "less_than_equal": "Paling besar {le}.",
    "bool_parsing": "Pilih ya atau tidak.",
    "literal_error": "Pilihan ini tidak dikenal.",
    "enum": "Pilihan ini tidak dikenal.",
    "datetime_parsing": "Bukan tanggal dan jam yang sah.",
    "datetime_from_date_parsing": "Bukan tanggal dan jam yang sah.",
    "date_parsing": "Bukan tanggal yang sah.",
    "date_from_datetime_parsing": "Bukan tanggal yang sah.",
    "string_pattern_mismatch": "Bentuk isian ini tidak sesuai.",
    "string_type": "Isian ini harus berupa teks.",
    "url_parsing": "Bukan alamat tautan yang sah.",
    "json_invalid": "Isian tidak dapat dibaca.",
}


def validation_problems(errors: Sequence[Mapping[str, Any]]) -> list[FieldProblem]:
    """FastAPI's request-validation errors of a page request as field problems with Indonesian text."""
    problems = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ())]
        name = ".".join(loc[1:]) if len(loc) > 1 else (loc[0] if loc else "")
        template = VALIDATION_MESSAGES.get(str(err.get("type")), GENERIC_FIELD_MESSAGE)
        try:
            message = template.format(**(err.get("ctx") or {}))
        except (KeyError, IndexError, ValueError):
            message = GENERIC_FIELD_MESSAGE
        problems.append(FieldProblem(name, str(err.get("msg", "invalid value")), message))
    return problems
