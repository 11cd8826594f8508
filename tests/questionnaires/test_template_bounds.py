"""A template's work is bounded whatever a commission's administrator sends (issue 14, problem 8).

An 831-byte YAML template of nested aliases (ten per level, six levels) kept a worker busy 45 s and came back
as a 223 MB 422 listing 1,111,111 problems. Anchors and aliases are refused now, a template holds at most
`scoring.MAX_NODES` YAML nodes and `EMONEV_TEMPLATE_MAX_BYTES` bytes, and a rejection lists at most 100
problems, then how many more there were (in English for the API, in Indonesian for the pages). What these
inputs cost now is measured by bench/hostile_inputs.py (the alias bomb: about 1.4 ms), not timed here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import scoring
from app.cli import main
from app.db.models import TemplateVersion
from app.errors import InvalidInput
from app.questionnaires.service import parse_or_422, parsed
from scoring.template import MAX_NODES, MAX_PROBLEMS
from tests.factories import MINI_TEMPLATE, World, problem

YAML = {"Content-Type": "text/yaml"}
MINI = MINI_TEMPLATE.read_text(encoding="utf-8")


def alias_bomb(levels: int = 6) -> str:
    """The issue's input: each level is a group listing the level below ten times, down to one question, so a
    loader that expands aliases hands the validator a million questions, each a duplicate code (about 35 s
    and 1,111,110 problems before the fix; each level multiplies that by ten)."""
    node = '&g0 {code: "1", text: Q, type: yes_no, weight: 1}'
    for i in range(1, levels):
        node = f'&g{i} {{code: "1", title: G, items: [{node}' + f", *g{i - 1}" * 9 + "]}"
    items = f"[{node}" + f", *g{levels - 1}" * 9 + "]"
    aspect = f'{{code: "1", title: A, weight: 100, items: {items}}}'
    return f'key: bom\nversion: "1"\ntitle: Bom\naspects:\n  - {aspect}\n'


NO_ALIASES = (
    "invalid YAML at line 5, column 48: anchors and aliases (&name, *name) are not allowed in a template: "
    "write each part out"
)


def many_problems(count: int) -> str:
    """A template with `count` aspects that each lack their title, weight and items: 3 x count problems."""
    aspects = "".join(f'  - {{code: "{i}"}}\n' for i in range(count))
    return MINI.split("aspects:")[0] + "aspects:\n" + aspects


def test_the_alias_bomb_is_refused_at_once_with_a_small_answer(client: TestClient, world: World) -> None:
    bomb = alias_bomb().encode()
    assert len(bomb) < 1024
    response = client.post("/api/v1/templates", content=bomb, headers=world.token(world.admin) | YAML)
    assert response.status_code == 422
    assert len(response.content) < 2000
    assert problem(response)["errors"] == [{"field": "", "message": NO_ALIASES}]


def test_a_10_mb_template_is_refused_before_it_is_parsed(client: TestClient, world: World) -> None:
    huge = MINI + "description: |\n" + ("  " + "x" * 1000 + "\n") * 10_240
    response = client.post(
        "/api/v1/templates", content=huge.encode(), headers=world.token(world.admin) | YAML
    )
    assert response.status_code == 413
    assert problem(response)["detail"] == "the upload is larger than the limit of 262144 bytes"


def test_a_template_past_the_node_limit_is_refused_quickly() -> None:
    text = MINI + "description: [" + ", ".join(["x"] * (MAX_NODES + 1)) + "]\n"
    with pytest.raises(scoring.TemplateError) as caught:
        scoring.parse_template(text, source="besar.yaml")
    [only] = caught.value.problems
    assert "a template holds at most 20000 values, lists and mappings" in only.message


def test_a_rejection_lists_100_problems_then_how_many_more(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/templates", content=many_problems(400).encode(), headers=world.token(world.admin) | YAML
    )
    assert response.status_code == 422
    errors = problem(response)["errors"]
    assert len(errors) == MAX_PROBLEMS + 1
    assert errors[-1] == {"field": "", "message": "and 1100 more problems"}


def test_the_pages_say_how_many_more_in_indonesian() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_or_422(many_problems(400), "banyak.yaml")
    assert caught.value.errors[-1].indonesian == "dan 1100 masalah lainnya"


def test_the_cli_stops_at_100_problems_and_refuses_the_bomb(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bomb = tmp_path / "bom.yaml"
    bomb.write_text(alias_bomb(), encoding="utf-8")
    many = tmp_path / "banyak.yaml"
    many.write_text(many_problems(400), encoding="utf-8")
    assert main(["templates", "validate", str(bomb), str(many)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"{bomb}: {NO_ALIASES}"
    assert len(lines) == 1 + MAX_PROBLEMS + 1
    assert lines[-1] == f"{many}: and 1100 more problems"


def test_a_stored_version_with_an_alias_stays_readable_while_new_input_is_refused() -> None:
    """A version an earlier release accepted may use an alias; refusing it now would make its round's SAQ
    unreadable. Only new input is held to the rule."""
    aliased = MINI.replace("text: Apakah badan publik memiliki DIP?", "text: &dip Apakah ada DIP?").replace(
        "text: Kelengkapan DIP", "text: *dip"
    )
    assert "&dip" in aliased
    assert "*dip" in aliased
    with pytest.raises(scoring.TemplateError):
        scoring.parse_template(aliased, source="lama.yaml")
    version = TemplateVersion(
        key="lama",
        version="1",
        title="Lama",
        source_name="lama.yaml",
        source_text=aliased,
        content_hash="alias-" + "0" * 58,
    )
    template = parsed(version)
    assert [e.question.text for e in template.questions()][:2] == ["Apakah ada DIP?", "Apakah ada DIP?"]
