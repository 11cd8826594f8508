"""Errors reach clients as RFC 9457 problem+json, whatever went wrong."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import World, problem


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_unknown_route_is_a_problem(client: TestClient) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert problem(response)["type"].endswith("/not-found")


def test_malformed_json_is_a_400_problem(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/score-preview",
        content=b'{"template_key": ',
        headers={"content-type": "application/json", **world.token(world.operator)},
    )
    assert response.status_code == 400
    assert "malformed JSON" in problem(response)["detail"]


def test_wrong_types_name_the_field(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/score-preview",
        json={"template_key": "test-mini", "template_version": "1", "answers": {"1.1.1": {"evidence": "x"}}},
        headers=world.token(world.operator),
    )
    assert response.status_code == 422
    fields = [e["field"] for e in problem(response)["errors"]]
    assert "answers.1.1.1.evidence" in fields


def test_preview_scores_without_saving(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/score-preview",
        json={
            "template_key": "test-mini",
            "template_version": "1",
            "answers": {"1.1.1": {"value": "yes"}, "2.2": {"value": 95}},
        },
        headers=world.token(world.operator),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    # 1.1.1 lacks its required evidence (0 of 2); 1.1.2 applies and is unanswered (0 of 2): aspect 1 = 0.
    # Aspect 2: 2.1 unanswered (0 of 1), 2.2 = 95 -> band 90 -> 1 of 1: 50.00. SAQ = 50 x 40 / 100 = 20.00.
    assert body["score"] == "20.00"
    assert body["band"] == "tidak-informatif"
    statuses = {q["code"]: q["status"] for q in body["questions"]}
    assert statuses["1.1.1"] == "evidence_missing"
    assert statuses["1.1.2"] == "unanswered"


def test_preview_names_unknown_questions_and_bad_values(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/score-preview",
        json={
            "template_key": "test-mini",
            "template_version": "1",
            "answers": {"9.9": {"value": "yes"}, "1.1.2": {"value": "z"}},
        },
        headers=world.token(world.operator),
    )
    assert response.status_code == 422
    fields = " ".join(e["field"] for e in problem(response)["errors"])
    assert "9.9" in fields
    assert "1.1.2" in fields


def test_preview_of_an_unknown_template_is_404(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/score-preview",
        json={"template_key": "nope", "template_version": "1", "answers": {}},
        headers=world.token(world.operator),
    )
    assert response.status_code == 404
    problem(response)


def test_a_body_with_hundreds_of_wrong_fields_lists_100_then_how_many_more(
    client: TestClient, world: World
) -> None:
    answers = {f"9.{i}": {"evidence": "x"} for i in range(300)}
    response = client.post(
        "/api/v1/score-preview",
        json={"template_key": "test-mini", "template_version": "1", "answers": answers},
        headers=world.token(world.operator),
    )
    assert response.status_code == 422
    errors = problem(response)["errors"]
    assert len(errors) == 101
    assert errors[-1] == {"field": "", "message": "and 200 more problems"}
