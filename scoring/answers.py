"""Answers to a template's questions, and their validation."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from scoring._compiled import InvalidValue, evaluate, is_missing, to_number
from scoring.template import QuestionType, Template

__all__ = ["Answer", "AnswerError", "AnswerProblem", "parse_answers"]

_ANSWER_KEYS = ("value", "evidence", "note")
_ANSWER_KEY_SET = frozenset(_ANSWER_KEYS)


@dataclass(frozen=True, slots=True)
class Answer:
    """The answer to one question.

    `value` is "yes"/"no" for yes_no, an option value for choice, a list of option values for multi_choice, a
    Decimal for number, a string for text, and None when unanswered. `evidence` holds links (data dukung); a
    question whose evidence is required earns nothing without one.
    """

    value: str | list[str] | Decimal | None
    evidence: tuple[str, ...] = ()
    note: str | None = None


@dataclass(frozen=True, slots=True)
class AnswerProblem:
    """One problem in a set of answers: the question code, the field of the answer, the reason."""

    code: str
    field: str
    message: str

    def __str__(self) -> str:
        if not self.field:
            return f"{self.code}: {self.message}"
        return f"{self.code}: {self.field}: {self.message}"


class AnswerError(ValueError):
    """Answers were rejected; `problems` lists every problem found."""

    def __init__(self, problems: Sequence[AnswerProblem]) -> None:
        self.problems: list[AnswerProblem] = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def parse_answers(template: Template, raw: Mapping[str, Any]) -> dict[str, Answer]:
    """Validate JSON-like answers such as ``{"1.1.1": {"value": "yes", "evidence": ["https://..."]}}``.

    Each entry may hold `value`, `evidence` (a list of http or https links) and `note`. Values: yes_no "yes"
    or "no"; choice an option value; multi_choice a list of option values; number a number (or a numeric
    string); text a string. A missing or null value, an empty string or an empty list means unanswered (the
    answer is kept, with value None, so its evidence and note are not lost). Raises `AnswerError` listing
    every problem: unknown question codes, unknown fields, wrong types, values outside the options, numbers
    that are not numbers and evidence that is not an http(s) link.
    """
    compiled = template._compiled
    answers: dict[str, Answer] = {}
    problems: list[AnswerProblem] = []
    for code, entry in raw.items():
        question = compiled.by_code.get(code)
        if question is None:
            problems.append(AnswerProblem(str(code), "", "unknown question code"))
            continue
        if not isinstance(entry, dict | Mapping):  # dict first: the ABC check is several times slower
            problems.append(
                AnswerProblem(code, "", "an answer must be an object with value, evidence and note")
            )
            continue
        found = len(problems)
        if not _ANSWER_KEY_SET.issuperset(entry):
            problems.extend(
                AnswerProblem(code, str(key), f"unknown field (allowed: {', '.join(_ANSWER_KEYS)})")
                for key in entry
                if key not in _ANSWER_KEYS
            )
        value = _value(question.type, entry.get("value"), code, problems)
        if value is not None:
            try:
                evaluate(question, value)
            except InvalidValue as exc:
                problems.append(AnswerProblem(code, "value", str(exc)))
        evidence = _evidence(entry.get("evidence"), code, problems)
        note = entry.get("note")
        if note is not None and not isinstance(note, str):
            problems.append(AnswerProblem(code, "note", f"must be a string, not {type(note).__name__}"))
        if len(problems) == found:
            answers[code] = Answer(value=value, evidence=evidence, note=note)
    if problems:
        raise AnswerError(problems)
    return answers


def _value(
    kind: QuestionType, value: object, code: str, problems: list[AnswerProblem]
) -> str | list[str] | Decimal | None:
    if is_missing(value):
        return None
    if kind is QuestionType.NUMBER:
        try:
            return to_number(value)
        except InvalidValue as exc:
            problems.append(AnswerProblem(code, "value", str(exc)))
            return None
    if kind is QuestionType.MULTI_CHOICE:
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return list(value)
        problems.append(AnswerProblem(code, "value", "must be a list of option values"))
        return None
    if isinstance(value, str):
        return value
    problems.append(AnswerProblem(code, "value", f"must be a string, not {type(value).__name__}"))
    return None


def _evidence(evidence: object, code: str, problems: list[AnswerProblem]) -> tuple[str, ...]:
    if evidence is None:
        return ()
    if not isinstance(evidence, list):
        problems.append(AnswerProblem(code, "evidence", "must be a list of links"))
        return ()
    links = []
    for index, link in enumerate(evidence):
        if not isinstance(link, str) or not _is_web_link(link):
            problems.append(
                AnswerProblem(code, f"evidence[{index}]", f"{link!r} is not an http or https link")
            )
        else:
            links.append(link)
    return tuple(links)


# The common link (http or https, an ASCII host name or address, an optional port, then no whitespace) is
# accepted without urlsplit, which took about a third of the time validating a full SAQ takes. Anything else
# goes the long way; both ways accept exactly the same links (a property test holds them to it).
_PLAIN_WEB_LINK = re.compile(r"[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#]\S*)?")
_WHITESPACE = re.compile(r"\s")


def _is_web_link(link: str) -> bool:
    if _PLAIN_WEB_LINK.fullmatch(link):
        return True
    try:
        parts = urlsplit(link)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and _WHITESPACE.search(link) is None
