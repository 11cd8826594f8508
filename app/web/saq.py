"""The SAQ form's view: the template laid out by aspect, and what the live panel shows after each change.

Figures come from the submissions service (which scores with ``scoring``); this module only counts answered
questions for the progress bars and words each question's status in Indonesian.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import scoring
from app.submissions.schemas import AnswerOut, SubmissionOut
from app.web import format as fmt


def _figure(text: str) -> str:
    return fmt.weight(text)


def explanation(status: str, earned: str, maximum: str) -> str:
    """Why a question counts as it does, in the words of the page."""
    if status == "scored":
        return f"Memperoleh {_figure(earned)} dari {_figure(maximum)}."
    if status == "unanswered":
        return f"Belum dijawab: memperoleh 0 dari {_figure(maximum)}."
    if status == "evidence_missing":
        return (
            f"Jawaban ini memerlukan data dukung (tautan atau berkas) dan belum ada: "
            f"memperoleh 0 dari {_figure(maximum)}."
        )
    if status == "not_applicable":
        return "Tidak berlaku karena syaratnya tidak terpenuhi; tidak dihitung."
    return "Isian keterangan; tidak dinilai."


def _has_value(answer: Mapping[str, Any] | AnswerOut | None) -> bool:
    if answer is None:
        return False
    value = answer.value if isinstance(answer, AnswerOut) else answer.get("value")
    return value not in (None, "", [])


def panel(card: Mapping[str, Any], answers: Mapping[str, Any]) -> dict[str, Any]:
    """The live panel after a read or a save: the score and band, progress per aspect, each question's
    status and explanation. ``card`` is the submissions service's score JSON."""
    per_aspect: dict[str, dict[str, int]] = {}
    questions: dict[str, dict[str, str]] = {}
    for q in card["questions"]:
        code, status = q["code"], q["status"]
        aspect = per_aspect.setdefault(q.get("aspect_code") or "", {"answered": 0, "applicable": 0})
        if status != "not_applicable":
            aspect["applicable"] += 1
            if status in {"scored", "evidence_missing"} or (
                status == "not_scored" and _has_value(answers.get(code))
            ):
                aspect["answered"] += 1
        questions[code] = {
            "status": status,
            "label": fmt.QUESTION_STATUS.get(status, status),
            "explanation": explanation(status, q["earned"], q["max"]),
        }
    aspects = []
    for a in card["aspects"]:
        counts = per_aspect.get(a["code"], {"answered": 0, "applicable": 0})
        aspects.append(
            {
                "code": a["code"],
                "title": a["title"],
                "score": fmt.score(a["score"]),
                "answered": counts["answered"],
                "applicable": counts["applicable"],
            }
        )
    return {
        "score": fmt.score(card["score"]),
        "band": card["band"],
        "band_label": card.get("band_label", card["band"]),
        "band_class": fmt.band_class(card["band"]),
        "aspects": aspects,
        "questions": questions,
        "evidence_missing": sum(1 for q in questions.values() if q["status"] == "evidence_missing"),
        "unanswered": sum(1 for q in questions.values() if q["status"] == "unanswered"),
    }


def with_aspects(card: dict[str, Any], template: scoring.Template) -> dict[str, Any]:
    """The score JSON with each question's aspect code (for the progress counts)."""
    aspect_of = {entry.question.code: entry.aspect_code for entry in template.questions()}
    for q in card["questions"]:
        q.setdefault("aspect_code", aspect_of.get(q["code"], ""))
    return card


@dataclass(frozen=True)
class QuestionView:
    """One question as the form renders it, with the stored answer and how it counts now (``status`` and
    ``earned``, from the submissions service's score)."""

    question: scoring.Question
    answer: AnswerOut
    status: str
    earned: str = "0"

    @property
    def code(self) -> str:
        return self.question.code

    @property
    def dom_id(self) -> str:
        return "q-" + self.question.code

    @property
    def type(self) -> str:
        return self.question.type.value

    @property
    def chosen(self) -> list[str]:
        value = self.answer.value
        if value is None:
            return []
        if isinstance(value, list):
            return [str(v) for v in value]
        return [str(value)]

    @property
    def number(self) -> str:
        return "" if self.answer.value is None else str(self.answer.value)

    @property
    def links_text(self) -> str:
        return "\n".join(self.answer.evidence)

    @property
    def when_json(self) -> str:
        when = self.question.when
        if when is None:
            return ""
        return json.dumps({"question": when.question, "equals": list(when.equals)})

    @property
    def evidence(self) -> str:
        return self.question.evidence.value

    @property
    def evidence_required(self) -> bool:
        return self.question.evidence is scoring.EvidenceRule.REQUIRED and self.question.type in _SCORED

    @property
    def evidence_state(self) -> str:
        """Whether the stored answer needs its required evidence: ``needed`` (it earns something),
        ``not_needed`` (it earns nothing, like "Tidak"), ``open`` (no answer yet, or not required)."""
        if not self.evidence_required:
            return "open"
        if self.status == "evidence_missing" or (self.status == "scored" and Decimal(self.earned) > 0):
            return "needed"
        if self.status == "scored":
            return "not_needed"
        return "open"

    @property
    def evidence_for_json(self) -> str:
        """For the form's script, which answers need the required evidence (those that earn something, as
        the scoring rule has it): the option values, or a number question's bands as ``[min, earns]``."""
        if not self.evidence_required:
            return ""
        q = self.question
        if q.type is scoring.QuestionType.NUMBER:
            return json.dumps({"bands": [[str(b.min), b.score > 0] for b in q.bands]})
        return json.dumps({"values": list(_earning_values(q))})

    @property
    def evidence_needed_for(self) -> str:
        """The answers that need the evidence, in words: ``Ya``, ``Lengkap atau Sebagian``."""
        q = self.question
        if q.type is scoring.QuestionType.YES_NO:
            return "Ya"
        if q.type is scoring.QuestionType.NUMBER:
            return "yang bernilai"
        labels = [o.label for o in q.options if o.score > 0]
        if len(labels) == len(q.options):
            return "apa pun"
        return " atau ".join([", ".join(labels[:-1]), labels[-1]] if len(labels) > 1 else labels)


_SCORED = frozenset(
    {
        scoring.QuestionType.YES_NO,
        scoring.QuestionType.CHOICE,
        scoring.QuestionType.MULTI_CHOICE,
        scoring.QuestionType.NUMBER,
    }
)


def _earning_values(q: scoring.Question) -> tuple[str, ...]:
    if q.type is scoring.QuestionType.YES_NO:
        return ("yes",)
    return tuple(o.value for o in q.options if o.score > 0)


def answers_as_json(sub: SubmissionOut, timezone: str) -> dict[str, Any]:
    """The stored answers as the form's script reads them (values, links, note, uploaded files as the pages
    describe them)."""
    return {
        code: {
            "value": a.value,
            "evidence": a.evidence,
            "note": a.note,
            "files": [fmt.evidence_file(f, timezone) for f in a.files],
        }
        for code, a in sub.answers.items()
    }
