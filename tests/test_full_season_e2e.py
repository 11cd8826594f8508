"""A whole season over HTTP, every figure checked against values worked out by hand.

Template tests/fixtures/mini.yaml: aspect 1 "Jenis Informasi" (weight 60) = 1.1.1 yes_no, weight 2, evidence
required + 1.1.2 choice, weight 2 (a 1, b 0.5, c 0), only when 1.1.1 is yes; aspect 2 "Digitalisasi" (weight
40) = 2.1 multi_choice, weight 1 (ig, fb, yt 0.5 each, capped at 1) + 2.2 number, weight 1 (>=90 1, >=50
0.5, else 0) + 2.3 text (never scored). Bands: Informatif >= 90, Menuju >= 80, Cukup >= 60, Kurang >= 40, else
Tidak Informatif.

The round: SAQ 70 + presentasi 30; gate: verified SAQ >= 50; missing-stage policy zero. Four kelurahan:

Anggrek (A) answers everything: 1.1.1 yes + link, 1.1.2 a, 2.1 [ig, fb], 2.2 95, 2.3 text.
    self:     aspect 1 = (2 + 2) / 4 = 100; aspect 2 = (1 + 1) / 2 = 100 -> 100.00
    verified: 2.2 overruled to 60 (0.5): aspect 2 = 1.5 / 2 = 75 -> 100 x 0.6 + 75 x 0.4 = 90.00
Bambu (B): 1.1.1 yes + link, 1.1.2 b, 2.1 [ig], 2.2 60, 2.3 text.
    self:     aspect 1 = (2 + 1) / 4 = 75; aspect 2 = (0.5 + 0.5) / 2 = 50 -> 45 + 20 = 65.00
    verified: confirmed in bulk (evidence checked) = 65.00; objection to 1.1.2 ACCEPTED (a):
              aspect 1 = 4 / 4 = 100 -> 60 + 20 = 80.00
Cemara (C): 1.1.1 no, 2.1 [ig, fb, yt], 2.2 40.
    self:     aspect 1 = 0 / 2 (1.1.2 not applicable) = 0; aspect 2 = (min(1.5, 1) + 0) / 2 = 50 -> 20.00
    verified: 2.1 overruled to [ig] (0.5): aspect 2 = 0.5 / 2 = 25 -> 0 + 10 = 10.00;
              objection to 2.1 REJECTED
Dahlia (D): invited, never registered nor submitted: tidak mengikuti.

Gate (>= 50): A 90 and B 80 pass, C 10 does not. Presentation by three judges:
    A: (80 + 85 + 90) / 3 = 85.00          final = 90 x 0.7 + 85.00 x 0.3 = 63 + 25.5 = 88.50
                                            Menuju Informatif
    B: (70 + 75 + 77.5) / 3 = 74.1666...   -> 74.17; final = 80 x 0.7 + 74.17 x 0.3 = 56 + 22.251 = 78.251
                                            -> 78.25 Cukup Informatif
    C: did not pass; zero policy           final = 10 x 0.7 + 0 x 0.3 = 7.00 Tidak Informatif
Ranking (revision 1): A 1, B 2, C 3, D tidak mengikuti.
Correction (revision 2): judge 1 re-scores B 100: (100 + 75 + 77.5) / 3 = 84.1666... -> 84.17;
    final = 56 + 84.17 x 0.3 = 56 + 25.251 = 81.251 -> 81.25 Menuju Informatif. Ranks unchanged.
Participation: invited 4; registered 3 (A, B, C have an operator) = 75.00%; submitted 3 = 75.00%; verified 3.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import (
    auth,
    make_account,
    make_body,
    make_category,
    make_commission,
    make_template,
    make_token,
    now,
)

ANSWERS = {
    "A": {
        "1.1.1": {"value": "yes", "evidence": ["https://anggrek.example.go.id/dip"]},
        "1.1.2": {"value": "a"},
        "2.1": {"value": ["ig", "fb"]},
        "2.2": {"value": 95},
        "2.3": {"value": "https://anggrek.example.go.id"},
    },
    "B": {
        "1.1.1": {"value": "yes", "evidence": ["https://bambu.example.go.id/dip"]},
        "1.1.2": {"value": "b"},
        "2.1": {"value": ["ig"]},
        "2.2": {"value": 60},
        "2.3": {"value": "https://bambu.example.go.id"},
    },
    "C": {"1.1.1": {"value": "no"}, "2.1": {"value": ["ig", "fb", "yt"]}, "2.2": {"value": 40}},
}


def call(
    client: TestClient, method: str, url: str, headers: dict[str, str], expect: int = 200, **kw: Any
) -> Any:
    response = client.request(method, url, headers=headers, **kw)
    assert response.status_code == expect, f"{method} {url}: {response.status_code} {response.text}"
    return response


def test_a_whole_season(client: TestClient, session: Session) -> None:
    # --- People and bodies (factories); everything after this goes through the API -------------------------
    commission = make_commission(session, name="Komisi Informasi Provinsi Uji")
    kelurahan = make_category(session, commission, code="kelurahan", name="Kelurahan")
    make_body(
        session, make_category(session, commission, code="kecamatan", name="Kecamatan"), name="Kec. Lain"
    )
    bodies = {
        key: make_body(session, kelurahan, name=f"Kelurahan {name}")
        for key, name in (("A", "Anggrek"), ("B", "Bambu"), ("C", "Cemara"), ("D", "Dahlia"))
    }
    template = make_template(session)
    cid = commission.id
    admin = auth(make_token(session, make_account(session, "commission_admin", commission_id=cid)))
    verifier_rows = [make_account(session, "verifier", commission_id=cid) for _ in range(2)]
    verifiers = [auth(make_token(session, v)) for v in verifier_rows]
    judges = [
        auth(make_token(session, make_account(session, "panelist", commission_id=cid))) for _ in range(3)
    ]
    operators = {
        key: auth(
            make_token(session, make_account(session, "operator", commission_id=cid, body_id=bodies[key].id))
        )
        for key in "ABC"
    }
    ids = {key: body.id for key, body in bodies.items()}
    name_of = {body.id: body.name for body in bodies.values()}

    # --- The round: window, template, invitations, stages and weights, gate, objection window -----------
    round_id = call(
        client,
        "POST",
        f"/api/v1/commissions/{cid}/rounds",
        admin,
        201,
        json={
            "year": 2025,
            "title": "Monev KIP 2025",
            # The SAQ window is open; the commission closes it early (below) once three bodies have
            # submitted, and the objection window, which follows the SAQ stage, opens then.
            "saq_opens_at": (now() - timedelta(hours=3)).isoformat(),
            "saq_closes_at": (now() + timedelta(days=1)).isoformat(),
            "gate_min_score": "50",
            "missing_stage_policy": "zero",
        },
    ).json()["id"]
    base = f"/api/v1/rounds/{round_id}"
    call(
        client,
        "PUT",
        f"{base}/templates",
        admin,
        json={"kelurahan": {"key": template.key, "version": template.version}},
    )
    invited = call(
        client, "POST", f"{base}/invitations", admin, 201, json={"category_codes": ["kelurahan"]}
    ).json()
    assert invited["invited"] == 4
    stages = call(
        client,
        "PUT",
        f"{base}/stages",
        admin,
        json={
            "saq_weight": 70,
            "stages": [{"code": "presentasi", "kind": "presentation", "title": "Presentasi", "weight": 30}],
        },
    ).json()["stages"]
    stage_id = stages[0]["id"]
    call(client, "POST", f"{base}/status", admin, json={"status": "open"})

    # --- SAQ: three operators fill in and submit; Dahlia never does -------------------------------------
    submission = {}
    for key in "ABC":
        opened = call(client, "POST", f"{base}/submissions", operators[key], 201)
        submission[key] = opened.json()["id"]
        saved = call(
            client,
            "PUT",
            f"/api/v1/submissions/{submission[key]}/answers",
            operators[key] | {"If-Match": opened.headers["ETag"]},
            json={"answers": ANSWERS[key]},
        ).json()
        # C leaves the free-text 2.3 open: its submit acknowledges that (A and B need no acknowledgement).
        left = call(client, "GET", f"/api/v1/submissions/{submission[key]}/checklist", operators[key]).json()
        counts = {"unanswered": len(left["unanswered"]), "evidence_missing": len(left["evidence_missing"])}
        assert counts == {"unanswered": 1 if key == "C" else 0, "evidence_missing": 0}
        call(
            client,
            "POST",
            f"/api/v1/submissions/{submission[key]}/submit",
            operators[key] | {"Idempotency-Key": f"k-{key}"},
            json={"acknowledge_incomplete": counts},
        )
        # Self-assessed scores as worked out above.
        assert saved["score"]["score"] == {"A": "100.00", "B": "65.00", "C": "20.00"}[key]
    # Closing early, with Dahlia never started, needs the confirmation.
    call(client, "POST", f"{base}/status", admin, 409, json={"status": "closed"})
    call(client, "POST", f"{base}/status", admin, json={"status": "closed", "confirm": True})
    call(
        client,
        "PATCH",
        base,
        admin,
        json={
            "objection_opens_at": now().isoformat(),
            "objection_closes_at": (now() + timedelta(days=3)).isoformat(),
        },
    )
    call(client, "POST", f"{base}/status", admin, json={"status": "verification"})

    # --- Verification -------------------------------------------------------------------------------------
    call(
        client,
        "PUT",
        f"{base}/assignments",
        admin,
        json={"assignments": {str(ids["A"]): verifier_rows[0].id, str(ids["B"]): verifier_rows[0].id}},
    )
    spread = call(
        client,
        "POST",
        f"{base}/assignments/spread",
        admin,
        201,
        json={"category_code": "kelurahan", "verifier_ids": [verifier_rows[1].id]},
    ).json()
    assert spread["assigned"] == 2  # Cemara and Dahlia
    v1, v2 = verifiers

    def start(key: str, who: dict[str, str]) -> str:
        return call(client, "POST", f"/api/v1/submissions/{submission[key]}/verification", who, 201).headers[
            "ETag"
        ]

    def review(key: str, who: dict[str, str], etag: str, answers: dict[str, Any]) -> Any:
        return call(
            client,
            "PUT",
            f"/api/v1/submissions/{submission[key]}/verification/answers",
            who | {"If-Match": etag},
            json={"answers": answers},
        )

    # Anggrek: 2.2 overruled from 95 to 60.
    reviewed = review(
        "A",
        v1,
        start("A", v1),
        {
            "1.1.1": {"value": "yes", "evidence_checked": True},
            "1.1.2": {"value": "a", "evidence_checked": True},
            "2.1": {"value": ["ig", "fb"], "evidence_checked": True},
            "2.2": {"value": 60, "evidence_checked": True, "note": "Laporan layanan: 60% tepat waktu"},
            "2.3": {"value": "https://anggrek.example.go.id", "evidence_checked": True},
        },
    ).json()
    assert reviewed["verified_score"]["score"] == "90.00"
    # Bambu: evidence checked on every question, then the values confirmed in bulk.
    review("B", v1, start("B", v1), {code: {"evidence_checked": True} for code in ANSWERS["B"]})
    bulk = call(
        client,
        "POST",
        f"{base}/verification/bulk",
        v1,
        json={"action": "confirm_checked", "filter": {"body_ids": [ids["B"]]}},
    ).json()
    assert (bulk["changed"], bulk["failed"]) == (5, [])
    # Cemara: 2.1 overruled from [ig, fb, yt] to [ig]; 1.1.2 is not applicable and needs no review.
    review(
        "C",
        v2,
        start("C", v2),
        {
            "1.1.1": {"value": "no", "evidence_checked": True},
            "2.1": {"value": ["ig"], "evidence_checked": True, "note": "Hanya Instagram yang aktif"},
            "2.2": {"value": 40, "evidence_checked": True},
            "2.3": {"value": None},
        },
    )
    for key, who in (("A", v1), ("B", v1), ("C", v2)):
        done = call(
            client, "POST", f"/api/v1/submissions/{submission[key]}/verification/complete", who
        ).json()
        assert (done["status"], done["verified_score"]["score"]) == (
            "completed",
            {"A": "90.00", "B": "65.00", "C": "10.00"}[key],
        )

    # --- Release and objections ----------------------------------------------------------------------------
    call(client, "POST", f"{base}/release-verification", admin)
    call(client, "POST", f"{base}/status", admin, json={"status": "objection"})
    seen_by_body = call(
        client, "GET", f"/api/v1/submissions/{submission['B']}/verification", operators["B"]
    ).json()
    assert seen_by_body["verified_score"]["score"] == "65.00"
    accepted = call(
        client,
        "POST",
        f"/api/v1/submissions/{submission['B']}/objections",
        operators["B"],
        201,
        json={
            "question_code": "1.1.2",
            "explanation": "DIP kami lengkap",
            "evidence": ["https://bambu.example.go.id/dip-2024"],
        },
    ).json()
    rejected = call(
        client,
        "POST",
        f"/api/v1/submissions/{submission['C']}/objections",
        operators["C"],
        201,
        json={"question_code": "2.1", "explanation": "Kami juga memakai YouTube"},
    ).json()
    call(
        client,
        "POST",
        f"/api/v1/objections/{accepted['id']}/decision",
        v1,
        json={"accept": True, "reason": "DIP 2024 lengkap", "value": "a"},
    )
    call(
        client,
        "POST",
        f"/api/v1/objections/{rejected['id']}/decision",
        v2,
        json={"accept": False, "reason": "Kanal YouTube tidak aktif sejak 2023"},
    )
    verified = {
        key: call(client, "GET", f"/api/v1/submissions/{submission[key]}/verification", admin).json()[
            "verified_score"
        ]["score"]
        for key in "ABC"
    }
    assert verified == {"A": "90.00", "B": "80.00", "C": "10.00"}

    # --- The gate and the presentation --------------------------------------------------------------------
    call(client, "POST", f"{base}/status", admin, json={"status": "stages"})
    gate = {row["body_id"]: row for row in call(client, "GET", f"{base}/gate", judges[0]).json()["items"]}
    assert [gate[ids[k]]["passes"] for k in "ABCD"] == [True, True, False, False]
    assert gate[ids["C"]]["reason"] == "verified score 10.00 is below the minimum 50.00"
    assert gate[ids["D"]]["reason"] == "did not take part"
    for judge, (a, b) in zip(judges, (("80", "70"), ("85", "75"), ("90", "77.5")), strict=True):
        call(client, "PUT", f"/api/v1/stages/{stage_id}/scores/{ids['A']}", judge, 201, json={"score": a})
        call(client, "PUT", f"/api/v1/stages/{stage_id}/scores/{ids['B']}", judge, 201, json={"score": b})
    call(client, "PUT", f"/api/v1/stages/{stage_id}/scores/{ids['C']}", judges[0], 422, json={"score": "95"})
    stage_scores = {
        r["body_id"]: r["stage_score"]
        for r in call(client, "GET", f"/api/v1/stages/{stage_id}/scores", admin).json()["items"]
    }
    assert stage_scores == {ids["A"]: "85.00", ids["B"]: "74.17"}

    # --- Final scores (live, unpublished) -------------------------------------------------------------------
    call(client, "POST", f"{base}/status", admin, json={"status": "final"})
    call(client, "GET", f"{base}/rankings?category=kelurahan", operators["A"], 404)
    call(client, "GET", f"/api/v1/public/rounds/{round_id}/rankings?category=kelurahan", {}, 404)
    live = call(client, "GET", f"{base}/results", admin).json()
    assert live["ready_to_publish"] is True
    assert [(r["body_id"], r["final_score"], r["band"], r["rank"]) for r in live["items"]] == [
        (ids["A"], "88.50", "menuju-informatif", 1),
        (ids["B"], "78.25", "cukup-informatif", 2),
        (ids["C"], "7.00", "tidak-informatif", 3),
        (ids["D"], None, None, None),
    ]

    # --- Publication, ranking, correction ------------------------------------------------------------------
    first = call(
        client, "POST", f"{base}/publish", admin, 201, json={"reason": "Keputusan pleno 12/2025"}
    ).json()
    assert (first["revision"], first["stage_weights"]) == (1, {"saq": "70", "presentasi": "30"})
    ranking = call(client, "GET", f"/api/v1/public/rounds/{round_id}/rankings?category=kelurahan", {}).json()
    assert [
        (
            i["rank"],
            name_of[i["body_id"]],
            i["self_score"],
            i["verified_score"],
            i["stage_scores"],
            i["final_score"],
            i["band_label"],
        )
        for i in ranking["items"]
    ] == [
        (
            1,
            "Kelurahan Anggrek",
            "100.00",
            "90.00",
            {"saq": "90.00", "presentasi": "85.00"},
            "88.50",
            "Menuju Informatif",
        ),
        (
            2,
            "Kelurahan Bambu",
            "65.00",
            "80.00",
            {"saq": "80.00", "presentasi": "74.17"},
            "78.25",
            "Cukup Informatif",
        ),
        (3, "Kelurahan Cemara", "20.00", "10.00", {"saq": "10.00"}, "7.00", "Tidak Informatif"),
        (None, "Kelurahan Dahlia", None, None, {}, None, "Tidak Mengikuti"),
    ]
    # Kelurahan Cemara did not pass the gate: it did not take part in the presentation, counted 0 (zero).
    cemara = ranking["items"][2]
    assert cemara["stages"] == [
        {"code": "saq", "title": "SAQ", "weight": "70", "score": "10.00", "took_part": True, "reason": None},
        {
            "code": "presentasi",
            "title": cemara["stages"][1]["title"],
            "weight": "30",
            "score": "0.00",
            "took_part": False,
            "reason": "gate_not_passed",
        },
    ]
    assert (cemara["passed_gate"], cemara["missing_stages"]) == (False, ["presentasi"])
    assert ranking["rules"]["gate_min_score"] == "50.00"
    counts = {c["code"]: c["count"] for c in ranking["summary"]["band_counts"]}
    assert counts == {
        "informatif": 0,
        "menuju-informatif": 1,
        "cukup-informatif": 1,
        "kurang-informatif": 0,
        "tidak-informatif": 1,
        "tidak-mengikuti": 1,
    }
    participation = ranking["summary"]["participation"]
    assert (
        participation["invited"],
        participation["registered"],
        participation["submitted"],
        participation["verified"],
    ) == (4, 3, 3, 3)
    assert (
        participation["registered_pct"],
        participation["submitted_pct"],
        participation["verified_pct"],
    ) == ("75.00", "75.00", "75.00")

    call(client, "PUT", f"/api/v1/stages/{stage_id}/scores/{ids['B']}", judges[0], 200, json={"score": "100"})
    second = call(
        client,
        "POST",
        f"{base}/publish",
        admin,
        201,
        json={"reason": "Koreksi nilai presentasi Kelurahan Bambu"},
    ).json()
    assert second["revision"] == 2
    corrected = call(client, "GET", f"{base}/rankings?category=kelurahan", operators["A"]).json()
    assert [(i["rank"], i["final_score"], i["band"]) for i in corrected["items"][:2]] == [
        (1, "88.50", "menuju-informatif"),
        (2, "81.25", "menuju-informatif"),
    ]
    assert corrected["items"][1]["stage_scores"] == {"saq": "80.00", "presentasi": "84.17"}
    original = call(client, "GET", f"{base}/rankings?category=kelurahan&revision=1", admin).json()
    assert original["items"][1]["final_score"] == "78.25"
    revisions = call(client, "GET", f"{base}/publications", admin).json()["items"]
    assert [(r["revision"], r["reason"]) for r in revisions] == [
        (1, "Keputusan pleno 12/2025"),
        (2, "Koreksi nilai presentasi Kelurahan Bambu"),
    ]
    history = call(client, "GET", f"/api/v1/bodies/{ids['B']}/history", operators["B"]).json()["entries"]
    assert [(h["year"], h["revision"], h["final_score"], h["band"]) for h in history] == [
        (2025, 2, "81.25", "menuju-informatif")
    ]
