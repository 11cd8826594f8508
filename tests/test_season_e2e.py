"""A whole SAQ season over HTTP, on both databases.

An administrator sets up and opens a round; the PPID operators of two kelurahan log in, fill in their SAQ
(one with an uploaded PDF as evidence, one with links) and submit; the deadline passes and a late save and
a late submission are refused; a plenary extension for one body lets it finish; the scores come back with
their explanations. Every figure is worked out by hand from tests/fixtures/mini.yaml:

    aspect 1 "Jenis Informasi", weight 60: 1.1.1 yes_no (bobot 2, evidence required),
        1.1.2 choice a=1 / b=0.5 / c=0 (bobot 2, only when 1.1.1 is yes)
    aspect 2 "Digitalisasi", weight 40: 2.1 multi_choice ig/fb/yt 0.5 each, capped at 1 (bobot 1),
        2.2 number: >= 90 -> 1, >= 50 -> 0.5, else 0 (bobot 1); 2.3 text, never scored

    Kelurahan A: 1.1.1 yes + PDF (2 of 2), 1.1.2 a (2 of 2)          -> aspect 1 = 4/4 x 100 = 100
                 2.1 ig+fb (1 of 1), 2.2 72 (0.5 of 1)               -> aspect 2 = 1.5/2 x 100 = 75
                 SAQ = 100 x 60/100 + 75 x 40/100 = 90.00 -> Informatif (the band starts at 90)
    Kelurahan B: 1.1.1 yes + link (2 of 2), 1.1.2 b (1 of 2)          -> aspect 1 = 3/4 x 100 = 75
                 2.1 yt (0.5 of 1), 2.2 40 (0 of 1)                  -> aspect 2 = 0.5/2 x 100 = 25
                 SAQ = 45 + 10 = 55.00 -> Kurang Informatif (when the deadline passes)
                 after the extension, 2.2 55 (0.5 of 1)              -> aspect 2 = 1/2 x 100 = 50
                 SAQ = 45 + 20 = 65.00 -> Cukup Informatif
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.submissions import service as submissions_service
from tests.factories import (
    PASSWORD,
    get_json,
    make_account,
    make_body,
    make_category,
    make_commission,
    make_template,
    problem,
    tiny_pdf,
)

WIB = timezone(timedelta(hours=7))


def login(client: TestClient, email: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def wib(instant: datetime) -> str:
    """The instant written in WIB, the way a Jakarta commission types it: 2025-08-31T23:59:00+07:00."""
    return instant.astimezone(WIB).replace(microsecond=0).isoformat()


def save(client: TestClient, headers: dict[str, str], sub: dict[str, Any], answers: dict[str, Any]) -> Any:
    current = client.get(f"/api/v1/submissions/{sub['id']}", headers=headers)
    return client.put(
        f"/api/v1/submissions/{sub['id']}/answers",
        headers=headers | {"If-Match": current.headers["ETag"]},
        json={"answers": answers},
    )


def test_a_whole_saq_season(client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    # --- the commission's data (registered earlier) -----------------------------------------------------
    commission = make_commission(session, code="ki-uji-e2e", name="KI Uji")
    kelurahan = make_category(session, commission, code="kelurahan", name="Kelurahan")
    body_a = make_body(session, kelurahan, name="Kelurahan Menteng", region_code="31.71.06.1001")
    body_b = make_body(session, kelurahan, name="Kelurahan Gondangdia", region_code="31.71.06.1002")
    make_template(session)
    admin = make_account(session, "commission_admin", email="admin@ki-uji.go.id", commission_id=commission.id)
    make_account(
        session, "operator", email="ppid@menteng.go.id", commission_id=commission.id, body_id=body_a.id
    )
    make_account(
        session, "operator", email="ppid@gondangdia.go.id", commission_id=commission.id, body_id=body_b.id
    )

    # --- the administrator creates and opens the round ---------------------------------------------------
    as_admin = login(client, admin.email)
    start = datetime.now(UTC)
    deadline = start + timedelta(hours=2)
    round_ = ok(
        client.post(
            f"/api/v1/commissions/{commission.id}/rounds",
            headers=as_admin,
            json={
                "year": 2025,
                "title": "Monev KIP 2025",
                "saq_opens_at": wib(start - timedelta(hours=1)),
                "saq_closes_at": wib(deadline),
            },
        ),
        201,
    )
    ok(
        client.put(
            f"/api/v1/rounds/{round_['id']}/templates",
            headers=as_admin,
            json={"kelurahan": {"key": "test-mini", "version": "1"}},
        )
    )
    invited = ok(
        client.post(
            f"/api/v1/rounds/{round_['id']}/invitations",
            headers=as_admin,
            json={"category_codes": ["kelurahan"]},
        ),
        201,
    )
    assert sorted(invited["body_ids"]) == sorted([body_a.id, body_b.id])
    assert (
        ok(client.post(f"/api/v1/rounds/{round_['id']}/status", headers=as_admin, json={"status": "open"}))[
            "status"
        ]
        == "open"
    )

    # --- both operators log in and open their SAQ --------------------------------------------------------
    as_a = login(client, "ppid@menteng.go.id")
    as_b = login(client, "ppid@gondangdia.go.id")
    sub_a = ok(client.post(f"/api/v1/rounds/{round_['id']}/submissions", headers=as_a), 201)
    sub_b = ok(client.post(f"/api/v1/rounds/{round_['id']}/submissions", headers=as_b), 201)
    assert sub_a["template"]["key"] == sub_b["template"]["key"] == "test-mini"
    assert client.get(f"/api/v1/submissions/{sub_a['id']}", headers=as_b).status_code == 403

    # --- A answers, attaches the DIP decree as a PDF, checks the list, submits ---------------------------
    saved = ok(
        save(
            client,
            as_a,
            sub_a,
            {
                "1.1.1": {"value": "yes", "note": "SK DIP 2024"},
                "1.1.2": {"value": "a"},
                "2.1": {"value": ["ig", "fb"]},
                "2.2": {"value": 72},
                "2.3": {"value": "https://ppid.menteng.example.go.id"},
            },
        )
    )
    # Without evidence 1.1.1 earns nothing: aspect 1 = 2/4 -> 50; SAQ = 30 + 30 = 60.00.
    assert saved["score"]["score"] == "60.00"
    checklist = get_json(client, f"/api/v1/submissions/{sub_a['id']}/checklist", as_a)
    assert [item["code"] for item in checklist["evidence_missing"]] == ["1.1.1"]

    upload = client.post(
        f"/api/v1/submissions/{sub_a['id']}/answers/1.1.1/files",
        headers=as_a,
        files={"file": ("SK-DIP-2024.pdf", tiny_pdf("Keputusan Lurah tentang DIP 2024"), "application/pdf")},
    )
    ok(upload, 201)
    assert get_json(client, f"/api/v1/submissions/{sub_a['id']}/checklist", as_a)["complete"] is True

    submitted_a = ok(
        client.post(f"/api/v1/submissions/{sub_a['id']}/submit", headers=as_a | {"Idempotency-Key": "a-1"})
    )
    retried_a = ok(
        client.post(f"/api/v1/submissions/{sub_a['id']}/submit", headers=as_a | {"Idempotency-Key": "a-1"})
    )
    assert retried_a == submitted_a
    assert submitted_a["score"] == {"score": "90.00", "band": "informatif", "band_label": "Informatif"}

    # --- B answers with links but has not submitted when the deadline passes -----------------------------
    ok(
        save(
            client,
            as_b,
            sub_b,
            {
                "1.1.1": {"value": "yes", "evidence": ["https://ppid.gondangdia.example.go.id/dip"]},
                "1.1.2": {"value": "b"},
                "2.1": {"value": ["yt"]},
                "2.2": {"value": 40},
            },
        )
    )
    after_deadline = deadline + timedelta(minutes=5)
    monkeypatch.setattr(submissions_service, "utcnow", lambda: after_deadline)

    late_save = save(client, as_b, sub_b, {"2.2": {"value": 55}})
    late_submit = client.post(f"/api/v1/submissions/{sub_b['id']}/submit", headers=as_b)
    assert late_save.status_code == late_submit.status_code == 409
    assert problem(late_save)["type"].endswith("/window-closed")
    assert "WIB" in problem(late_submit)["detail"]
    assert get_json(client, f"/api/v1/submissions/{sub_b['id']}/score", as_b)["score"] == "55.00"

    # --- the plenary extends the deadline for B only ----------------------------------------------------
    ok(
        client.post(
            f"/api/v1/rounds/{round_['id']}/extensions",
            headers=as_admin,
            json={
                "closes_at": wib(deadline + timedelta(days=3)),
                "scope": "bodies",
                "body_ids": [body_b.id],
                "reason": "Keputusan Rapat Pleno: gangguan jaringan di Kelurahan Gondangdia",
            },
        ),
        201,
    )
    ok(save(client, as_b, sub_b, {"2.2": {"value": 55}}))
    # B left the free-text 2.3 open: a submit must acknowledge it.
    unacknowledged = client.post(f"/api/v1/submissions/{sub_b['id']}/submit", headers=as_b)
    assert unacknowledged.status_code == 409
    assert (problem(unacknowledged)["unanswered"], problem(unacknowledged)["evidence_missing"]) == (1, 0)
    submitted_b = ok(
        client.post(
            f"/api/v1/submissions/{sub_b['id']}/submit",
            headers=as_b,
            json={"acknowledge_incomplete": {"unanswered": 1, "evidence_missing": 0}},
        )
    )
    assert submitted_b["score"] == {
        "score": "65.00",
        "band": "cukup-informatif",
        "band_label": "Cukup Informatif",
    }

    # --- the scores, with their explanations ------------------------------------------------------------
    card_a = get_json(client, f"/api/v1/submissions/{sub_a['id']}/score", as_admin)
    card_b = get_json(client, f"/api/v1/submissions/{sub_b['id']}/score", as_admin)

    assert (card_a["score"], card_a["band"]) == ("90.00", "informatif")
    assert [(a["code"], a["score"]) for a in card_a["aspects"]] == [("1", "100.00"), ("2", "75.00")]
    assert {q["code"]: (q["earned"], q["max"], q["status"]) for q in card_a["questions"]} == {
        "1.1.1": ("2.00", "2.00", "scored"),
        "1.1.2": ("2.00", "2.00", "scored"),
        "2.1": ("1.00", "1.00", "scored"),
        "2.2": ("0.50", "1.00", "scored"),
        "2.3": ("0.00", "0.00", "not_scored"),
    }
    assert (card_b["score"], card_b["band"]) == ("65.00", "cukup-informatif")
    assert [(a["code"], a["score"]) for a in card_b["aspects"]] == [("1", "75.00"), ("2", "50.00")]
    explanations_b = {q["code"]: q["explanation"] for q in card_b["questions"]}
    assert explanations_b["1.1.2"] == "answered; earns 1.00 of 2.00"
    assert explanations_b["2.3"] == "free text; not scored"

    # --- the administrator sees both submitted; A's answers are locked ---------------------------------
    listed = get_json(client, f"/api/v1/rounds/{round_['id']}/submissions?status=submitted", as_admin)
    assert sorted(item["body"]["name"] for item in listed["items"]) == [
        "Kelurahan Gondangdia",
        "Kelurahan Menteng",
    ]
    assert save(client, as_a, sub_a, {"2.2": {"value": 95}}).status_code == 409
