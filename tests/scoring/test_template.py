"""The template format: parsing, validation that reports every problem, identity and schema."""

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from scoring import QuestionType, Template, TemplateError, TemplateProblem, check_versions, parse_template
from scoring.schema import schema_text

ROOT = Path(__file__).resolve().parents[2]

BASE_YAML = """\
key: contoh-saq
version: "2025.1"
title: Contoh SAQ
body_categories: [kelurahan]
bands:
  - {code: informatif, label: Informatif, min: 90}
  - {code: menuju-informatif, label: Menuju Informatif, min: 80}
  - {code: cukup-informatif, label: Cukup Informatif, min: 60}
  - {code: kurang-informatif, label: Kurang Informatif, min: 40}
  - {code: tidak-informatif, label: Tidak Informatif, min: 0}
aspects:
  - code: "1"
    title: Jenis Informasi
    weight: 60
    items:
      - code: "1.1"
        title: Daftar Informasi Publik
        items:
          - code: "1.1.1"
            text: Apakah badan publik memiliki DIP?
            type: yes_no
            weight: 2
            evidence: required
          - code: "1.1.2"
            text: Apakah DIP dimutakhirkan pada 2024?
            type: choice
            options:
              - {value: a, label: Lengkap, score: 1}
              - {value: b, label: Sebagian, score: 0.5}
            when: {question: "1.1.1", equals: "yes"}
  - code: "2"
    title: Digitalisasi
    weight: 40
    items:
      - code: "2.1"
        text: Berapa permohonan informasi yang dilayani?
        type: number
        bands: [{min: 10, score: 1}, {min: 1, score: 0.5}]
      - code: "2.2"
        text: Catatan
        type: text
"""


def base() -> Template:
    return parse_template(BASE_YAML, source="base.yaml")


def problems(text: str) -> list[str]:
    with pytest.raises(TemplateError) as caught:
        parse_template(text, source="t.yaml")
    return [str(problem) for problem in caught.value.problems]


def test_a_valid_template_parses_into_a_frozen_tree() -> None:
    template = base()
    assert (template.key, template.version) == ("contoh-saq", "2025.1")
    assert [(entry.aspect_code, entry.question.code) for entry in template.questions()] == [
        ("1", "1.1.1"),
        ("1", "1.1.2"),
        ("2", "2.1"),
        ("2", "2.2"),
    ]
    assert template.question("2.1").type is QuestionType.NUMBER
    assert template.question("1.1.2").when is not None
    assert template.question("1.1.2").when.equals == ("yes",)  # type: ignore[union-attr]
    with pytest.raises(KeyError):
        template.question("9.9")
    with pytest.raises(ValidationError):
        template.key = "lain"  # type: ignore[misc]


def test_the_content_hash_ignores_formatting_key_order_and_comments() -> None:
    reformatted = (
        BASE_YAML.replace(
            'key: contoh-saq\nversion: "2025.1"', "# versi pertama\nversion: '2025.1'\nkey: contoh-saq"
        )
        .replace("weight: 60", "weight: 60.0")
        .replace(
            "[{min: 10, score: 1}, {min: 1, score: 0.5}]",
            "\n          - {score: 1.00, min: 10}\n          - {min: 1, score: .5}",
        )
        .replace('equals: "yes"', 'equals: ["yes"]')
    )
    assert reformatted != BASE_YAML
    assert parse_template(reformatted, source="other.yaml").content_hash == base().content_hash
    assert len(base().content_hash) == 64


def test_any_change_of_content_changes_the_hash() -> None:
    changed = parse_template(BASE_YAML.replace("weight: 2\n", "weight: 3\n"), source="t.yaml")
    assert changed.content_hash != base().content_hash


def test_check_versions_accepts_the_same_content_twice_and_different_versions() -> None:
    other_version = parse_template(
        BASE_YAML.replace('"2025.1"', '"2025.2"').replace("2024?", "2025?"), source="b"
    )
    assert check_versions([("a.yaml", base()), ("copy.yaml", base()), ("b.yaml", other_version)]) == []


def test_check_versions_reports_a_version_reused_with_other_content() -> None:
    changed = parse_template(BASE_YAML.replace("2024?", "2025?"), source="b.yaml")
    [problem] = check_versions([("a.yaml", base()), ("b.yaml", changed)])
    assert (problem.source, problem.path) == ("b.yaml", "version")
    assert problem.message.startswith("version '2025.1' of 'contoh-saq' is already defined by a.yaml")


def test_every_problem_is_reported_at_once_in_document_order() -> None:
    text = (
        BASE_YAML.replace("key: contoh-saq", "key: Contoh")
        .replace("weight: 40", "weight: 30")
        .replace("weight: 2\n", "wieght: 2\n")
        .replace("score: 0.5}\n", "score: 2}\n")
        .replace('equals: "yes"', 'equals: "ya"')
    )
    assert problems(text) == [
        "t.yaml: aspects: aspect weights sum to 90, not 100",
        "t.yaml: aspects[0].items[0].items[0].wieght: unknown key 'wieght' (did you mean 'weight'?)",
        "t.yaml: aspects[0].items[0].items[1].options[1].score: Input should be less than or equal to 1",
        "t.yaml: aspects[0].items[0].items[1].when.equals: "
        "'ya' is not an answer of '1.1.1' (one of: no, yes)",
        "t.yaml: key: 'Contoh' must contain only lowercase letters, digits and hyphens ([a-z0-9-]+)",
    ]


def test_a_problem_reads_source_path_and_message() -> None:
    assert (
        str(TemplateProblem("a.yaml", "aspects[0].weight", "too big")) == "a.yaml: aspects[0].weight: too big"
    )
    assert str(TemplateProblem("a.yaml", "", "invalid YAML at line 3, column 1: x")) == (
        "a.yaml: invalid YAML at line 3, column 1: x"
    )
    error = TemplateError(
        [TemplateProblem("a.yaml", "key", "bad"), TemplateProblem("a.yaml", "version", "bad")]
    )
    assert str(error) == "a.yaml: key: bad\na.yaml: version: bad"


def test_unquoted_yes_and_no_are_strings_as_in_yaml_1_2() -> None:
    template = parse_template(BASE_YAML.replace('equals: "yes"', "equals: yes"), source="t.yaml")
    assert template.question("1.1.2").when.equals == ("yes",)  # type: ignore[union-attr]
    assert problems(BASE_YAML.replace('equals: "yes"', "equals: true")) == [
        "t.yaml: aspects[0].items[0].items[1].when.equals[0]: "
        "must be a string, but YAML read the boolean true: write it in quotes"
    ]


def test_optional_help_and_description_are_kept() -> None:
    text = BASE_YAML.replace("title: Contoh SAQ\n", "title: Contoh SAQ\ndescription: Untuk uji.\n").replace(
        "            type: yes_no\n",
        "            type: yes_no\n            help: Lampirkan SK penetapan DIP.\n",
    )
    template = parse_template(text, source="t.yaml")
    assert template.description == "Untuk uji."
    assert template.question("1.1.1").help == "Lampirkan SK penetapan DIP."


def test_templates_built_in_code_are_checked_like_parsed_ones() -> None:
    data = json.loads(json.dumps(base().model_dump(mode="json")))
    data["aspects"][0]["weight"] = 50
    with pytest.raises(ValidationError, match="aspect weights sum to 90, not 100"):
        Template.model_validate(data)


def test_the_committed_json_schema_is_the_generated_one() -> None:
    committed = (ROOT / "questionnaires" / "schema.json").read_text(encoding="utf-8")
    assert committed == schema_text()
    schema = json.loads(committed)
    assert schema["title"] == "Template"
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("path", sorted((ROOT / "questionnaires").glob("*/*.yaml")), ids=lambda p: p.name)
def test_the_bundled_templates_are_valid(path: Path) -> None:
    template = parse_template(path.read_text(encoding="utf-8"), source=str(path))
    assert len(template.questions()) >= 60
    assert sum(aspect.weight for aspect in template.aspects) == 100


def test_the_bundled_templates_do_not_reuse_a_version() -> None:
    paths = sorted((ROOT / "questionnaires").glob("*/*.yaml"))
    parsed = [
        (str(path), parse_template(path.read_text(encoding="utf-8"), source=str(path))) for path in paths
    ]
    assert check_versions(parsed) == []


def test_a_changed_copy_does_not_keep_the_original_hash() -> None:
    template = base()
    original = template.content_hash
    assert template.questions()
    changed = template.model_copy(update={"version": "2025.2"})
    assert changed.content_hash != original
    assert changed.questions() == template.questions()
