"""A refused page form comes back on its own page: errors in Indonesian beside their fields, what was typed
kept, nothing written. Anything that is not about the form (no access, gone, no page named) gets the plain
error page, and no page ever shows the API's English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import AuditEntry, Round
from app.errors import FieldProblem
from app.web.forms import FormError, validation_problems
from tests.factories import World
from tests.web.conftest import Pages

TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "web" / "templates"
BAD_ROUND = {
    "_form": "baru",
    "_halaman": "/ronde",
    "title": "",
    "year": "dua ribu",
    "saq_opens_at": "2026-08-01T00:00",
    "saq_closes_at": "2026-08-31T23:59",
}


def rounds_and_audit(session: Session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count()).select_from(Round)) or 0,
        session.scalar(select(func.count()).select_from(AuditEntry)) or 0,
    )


@pytest.mark.db
def test_a_refused_form_comes_back_on_its_page_with_errors_beside_fields_and_typed_values(
    pages: Pages, world: World, session: Session
) -> None:
    pages.login(world.admin)
    before = rounds_and_audit(session)

    refused = pages.post("/ronde", BAD_ROUND | {"title": "  ", "saq_opens_at": "2026-08-01T00:00"})

    assert refused.status_code == 422
    assert "<h1>Periode Monev</h1>" in refused.text  # its own page, not the plain error page
    summary = re.search(r'<div class="alert alert-bad error-summary".*?</div>', refused.text, re.S)
    assert summary is not None
    assert 'href="#f-baru-year">Tahun harus bilangan bulat.</a>' in summary.group(0)
    assert 'href="#f-baru-title">Nama periode wajib diisi.</a>' in summary.group(0)
    year_input = re.search(r'<input id="f-baru-year"[^>]*>', refused.text)
    assert year_input is not None
    assert 'value="dua ribu"' in year_input.group(0)
    assert 'aria-invalid="true" aria-describedby="f-baru-year-galat"' in year_input.group(0)
    assert '<p class="field-error" id="f-baru-year-galat">Tahun harus bilangan bulat.</p>' in refused.text
    opens = re.search(r'<input id="f-baru-saq_opens_at"[^>]*>', refused.text)
    assert opens is not None
    assert 'value="2026-08-01T00:00"' in opens.group(0)
    assert "aria-invalid" not in opens.group(0)
    assert rounds_and_audit(session) == before


@pytest.mark.db
def test_a_form_that_comes_back_is_rendered_for_the_same_person_with_a_fresh_csrf_token(
    pages: Pages, world: World, session: Session
) -> None:
    pages.login(world.admin)
    refused = pages.post("/ronde", BAD_ROUND)
    assert world.admin.name in refused.text
    assert f'name="csrf_token" value="{pages.csrf}"' in refused.text
    fixed = pages.post(
        "/ronde", BAD_ROUND | {"title": "Monev Uji 2026", "year": "2026"}, follow_redirects=False
    )
    assert fixed.status_code == 303


@pytest.mark.db
@pytest.mark.parametrize(
    "page", ["//evil.example/ronde", "https://evil.example/", "/api/v1/rounds", "/static/app.css"]
)
def test_a_form_naming_a_page_that_is_not_ours_gets_the_plain_error_page(
    pages: Pages, world: World, page: str
) -> None:
    pages.login(world.admin)
    refused = pages.post("/ronde", BAD_ROUND | {"_halaman": page})
    assert refused.status_code == 422
    assert "<h1>Isian belum benar</h1>" in refused.text
    assert "<li>Tahun harus bilangan bulat.</li>" in refused.text
    assert "evil" not in refused.text


@pytest.mark.db
def test_a_refusal_that_is_not_about_the_form_gets_the_plain_error_page(pages: Pages, world: World) -> None:
    pages.login(world.verifier)  # a verifier may not create rounds
    refused = pages.post("/ronde", BAD_ROUND | {"title": "Monev Uji", "year": "2026"})
    assert refused.status_code == 403
    assert "<h1>Akses ditolak</h1>" in refused.text
    assert "error-summary" not in refused.text


@pytest.mark.db
def test_error_pages_show_no_english_detail(pages: Pages, world: World) -> None:
    pages.login(world.admin)
    gone = pages.get("/ronde/999999")
    assert gone.status_code == 404
    assert "does not exist" not in gone.text
    assert "Rincian teknis" not in gone.text


@pytest.mark.db
@pytest.mark.parametrize("path", ["/pengisian/abc", "/ronde/99999999999", "/verifikasi/-1"])
def test_a_page_address_with_a_malformed_number_is_a_page_not_found(
    pages: Pages, world: World, path: str
) -> None:
    pages.login(world.admin)
    missing = pages.get(path)
    assert missing.status_code == 404
    assert "<h1>Halaman tidak ditemukan</h1>" in missing.text


def test_an_error_belongs_to_its_field_and_to_the_items_of_a_list_field() -> None:
    error = FormError("body_ids.2", "Badan publik ini tidak diundang.")
    assert error.belongs_to("body_ids")
    assert not error.belongs_to("body_id")
    assert error.anchor == "body_ids"
    assert FormError("answers[1.1.2]", "x").belongs_to("answers")
    assert FormError("closes_at", "x").anchor == "closes_at"


def test_request_validation_errors_are_said_in_indonesian_with_their_limits() -> None:
    problems = validation_problems(
        [
            {"type": "missing", "loc": ("body", "reason"), "msg": "Field required"},
            {
                "type": "string_too_long",
                "loc": ("body", "idempotency_key"),
                "msg": "String should have at most 200 characters",
                "ctx": {"max_length": 200},
            },
            {"type": "some_new_type", "loc": ("query", "page"), "msg": "whatever"},
        ]
    )
    assert problems == [
        FieldProblem("reason", "Field required", "Wajib diisi."),
        FieldProblem(
            "idempotency_key",
            "String should have at most 200 characters",
            "Terlalu panjang: paling banyak 200 karakter.",
        ),
        FieldProblem("page", "whatever", "Isian ini belum benar."),
    ]


def test_every_page_form_that_names_itself_shows_its_error_summary() -> None:
    """A form that comes back without its summary would be a 422 page that does not say what is wrong."""
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        if "f.meta(" not in text:
            continue
        assert '{% import "_forms.html" as f with context %}' in text, path
        metas = set(re.findall(r"f\.meta\(([^)]*)\)", text))
        summaries = set(re.findall(r"f\.summary\(([^)]*)\)", text))
        assert metas <= summaries, f"{path.name}: forms without f.summary: {metas - summaries}"


@pytest.mark.db
def test_a_system_administrator_creates_a_round_naming_its_commission(
    pages: Pages, world: World, session: Session
) -> None:
    pages.login(world.system_admin)
    form = BAD_ROUND | {"title": "Monev Sistem 2026", "year": "2026"}
    page = pages.get("/ronde")
    assert f'<option value="{world.commission.id}">{world.commission.name}</option>' in page.text

    unnamed = pages.post("/ronde", form)
    assert unnamed.status_code == 422
    assert (
        '<p class="field-error" id="f-baru-commission_id-galat">Pilih Komisi Informasi periode ini.</p>'
        in (unnamed.text)
    )
    created = pages.post("/ronde", form | {"commission_id": str(world.commission.id)}, follow_redirects=False)
    assert created.status_code == 303
    made = session.scalars(select(Round).where(Round.title == "Monev Sistem 2026")).one()
    assert made.commission_id == world.commission.id
