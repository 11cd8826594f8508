"""The corpus of broken templates: one file per failure mode, each rejected with its path and reason."""

from pathlib import Path

import pytest

from scoring import TemplateError, TemplateProblem, check_versions, parse_template
from tests.scoring.test_template import BASE_YAML

CORPUS = Path(__file__).resolve().parents[1] / "templates_broken"
Q111 = "aspects[0].items[0].items[0]"
Q112 = "aspects[0].items[0].items[1]"
NO_ALIASES = "anchors and aliases (&name, *name) are not allowed in a template: write each part out"

EXPECTED: dict[str, list[tuple[str, str]]] = {
    "invalid-yaml.yaml": [("", "invalid YAML at line 9, column 5: expected ',' or '}', but got '{'")],
    "alias-bomb.yaml": [("", f"invalid YAML at line 6, column 48: {NO_ALIASES}")],
    "anchor.yaml": [("", f"invalid YAML at line 28, column 22: {NO_ALIASES}")],
    "control-character.yaml": [("", "invalid YAML at line 4: the control character U+0007 is not allowed")],
    "control-character-escaped.yaml": [("", "the control character U+0000 at line 4 is not allowed")],
    "not-a-mapping.yaml": [("", "a template must be a YAML mapping (key: value pairs)")],
    "unknown-key.yaml": [(f"{Q111}.wieght", "unknown key 'wieght' (did you mean 'weight'?)")],
    "missing-key.yaml": [(f"{Q111}.text", "required key is missing")],
    "duplicate-yaml-key.yaml": [("", "duplicate key 'weight' at line 24 (first at line 23)")],
    "duplicate-question-code.yaml": [
        ("aspects[1].items[1].code", "duplicate code '2.1' (also aspects[1].items[0])")
    ],
    "duplicate-aspect-code.yaml": [("aspects[1].code", "duplicate code '1' (also aspects[0])")],
    "duplicate-group-code.yaml": [(f"{Q112}.code", "duplicate code '1.1' (also aspects[0].items[0])")],
    "duplicate-option-value.yaml": [
        (f"{Q112}.options[1].value", "duplicate option value 'a' (also options[0])")
    ],
    "aspect-weights-not-100.yaml": [("aspects", "aspect weights sum to 90, not 100")],
    "bands-not-descending.yaml": [
        (
            "bands[3].min",
            "bands must be listed highest first with strictly descending min: 60 is not below 40",
        )
    ],
    "bands-not-ending-at-zero.yaml": [
        ("bands[4].min", "the last band must have min 0 so every score has a band, not 10")
    ],
    "duplicate-band-code.yaml": [("bands[1].code", "duplicate band code 'informatif' (also bands[0])")],
    "reserved-band-code.yaml": [
        (
            "bands[4].code",
            "'tidak-mengikuti' is reserved for bodies that did not take part; choose another band code",
        )
    ],
    "choice-without-options.yaml": [(f"{Q112}.options", "a choice question needs options")],
    "option-score-out-of-range.yaml": [
        (f"{Q112}.options[0].score", "Input should be less than or equal to 1")
    ],
    "number-without-bands.yaml": [
        ("aspects[1].items[0].bands", "a number question needs bands: [{min, score}, ...]")
    ],
    "number-bands-not-descending.yaml": [
        (
            "aspects[1].items[0].bands[1].min",
            "number bands must be listed highest first with strictly descending min: 10 is not below 1",
        )
    ],
    "options-on-yes-no.yaml": [
        (f"{Q111}.options", "options are only for choice and multi_choice questions, not yes_no")
    ],
    "when-unknown-question.yaml": [(f"{Q112}.when.question", "unknown question '1.1.9'")],
    "when-self.yaml": [
        (f"{Q112}.when.question", "'1.1.2' is the question itself: a question cannot depend on itself")
    ],
    "when-cycle.yaml": [(f"{Q111}.when.question", "conditions form a cycle: 1.1.1 -> 1.1.2 -> 1.1.1")],
    "when-equals-not-an-answer.yaml": [
        (f"{Q112}.when.equals", "'ya' is not an answer of '1.1.1' (one of: no, yes)")
    ],
    "when-on-text-question.yaml": [
        (
            "aspects[1].items[0].when.question",
            "'2.2' is a text question: a condition needs a yes_no, choice or multi_choice question",
        )
    ],
    "invalid-key.yaml": [
        ("key", "'Contoh_SAQ' must contain only lowercase letters, digits and hyphens ([a-z0-9-]+)")
    ],
    "unknown-question-type.yaml": [
        (f"{Q111}.type", "Input should be 'yes_no', 'choice', 'multi_choice', 'number' or 'text'")
    ],
    "unquoted-code.yaml": [
        ("aspects[1].code", "must be a string, but YAML read the number 2: write it in quotes")
    ],
    "unquoted-version.yaml": [
        ("version", "must be a string, but YAML read the number 2025.1: write it in quotes")
    ],
    "version-reused.yaml": [
        ("version", "version '2025.1' of 'contoh-saq' is already defined by base.yaml with {}")
    ],
}


def problems_of(name: str) -> list[TemplateProblem]:
    """The problems of one corpus file: from parsing it, or from checking it against the base version."""
    text = (CORPUS / name).read_text(encoding="utf-8")
    try:
        broken = parse_template(text, source=name)
    except TemplateError as exc:
        return exc.problems
    return check_versions([("base.yaml", parse_template(BASE_YAML, source="base.yaml")), (name, broken)])


def test_the_corpus_holds_exactly_the_listed_failure_modes() -> None:
    assert sorted(path.name for path in CORPUS.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_broken_template_is_rejected_with_its_path_and_reason(name: str) -> None:
    expected = EXPECTED[name]
    if name == "version-reused.yaml":
        base = parse_template(BASE_YAML, source="base.yaml")
        changed = parse_template((CORPUS / name).read_text(encoding="utf-8"), source=name)
        detail = (
            f"different content (content hash {changed.content_hash[:12]} differs from "
            f"{base.content_hash[:12]}); a published version never changes: give this one a new version"
        )
        expected = [(path, message.format(detail)) for path, message in expected]
    found = problems_of(name)
    assert all(problem.source == name for problem in found)
    assert [(problem.path, problem.message) for problem in found] == expected


def test_every_corpus_file_says_why_it_is_broken() -> None:
    for path in CORPUS.glob("*.yaml"):
        assert path.read_text(encoding="utf-8").startswith("# Broken on purpose: "), path.name
