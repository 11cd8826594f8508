"""Plain builders for templates and answers in scoring tests: dicts in, validated objects out."""

from __future__ import annotations

from typing import Any

from scoring import Answer, Template

LINK = "https://ppid.example.go.id/bukti.pdf"

KI_BANDS: list[dict[str, Any]] = [
    {"code": "informatif", "label": "Informatif", "min": 90},
    {"code": "menuju-informatif", "label": "Menuju Informatif", "min": 80},
    {"code": "cukup-informatif", "label": "Cukup Informatif", "min": 60},
    {"code": "kurang-informatif", "label": "Kurang Informatif", "min": 40},
    {"code": "tidak-informatif", "label": "Tidak Informatif", "min": 0},
]


def template(*aspects: dict[str, Any], bands: list[dict[str, Any]] | None = None) -> Template:
    return Template.model_validate(
        {
            "key": "uji",
            "version": "1",
            "title": "SAQ uji",
            "body_categories": ["kelurahan"],
            "bands": KI_BANDS if bands is None else bands,
            "aspects": list(aspects),
        }
    )


def aspect(code: str, weight: int | str, *items: dict[str, Any]) -> dict[str, Any]:
    return {"code": code, "title": f"Aspek {code}", "weight": weight, "items": list(items)}


def group(code: str, *items: dict[str, Any]) -> dict[str, Any]:
    return {"code": code, "title": f"Kelompok {code}", "items": list(items)}


def question(code: str, kind: str, *, weight: int | str = 1, **fields: Any) -> dict[str, Any]:
    return {"code": code, "text": f"Pertanyaan {code}", "type": kind, "weight": weight, **fields}


def yes_no(code: str, **fields: Any) -> dict[str, Any]:
    return question(code, "yes_no", **fields)


def choice(code: str, scores: dict[str, str], **fields: Any) -> dict[str, Any]:
    options = [{"value": value, "label": value.upper(), "score": score} for value, score in scores.items()]
    return question(code, "choice", options=options, **fields)


def multi_choice(code: str, scores: dict[str, str], **fields: Any) -> dict[str, Any]:
    options = [{"value": value, "label": value.upper(), "score": score} for value, score in scores.items()]
    return question(code, "multi_choice", options=options, **fields)


def number(code: str, bands: list[tuple[str, str]], **fields: Any) -> dict[str, Any]:
    return question(code, "number", bands=[{"min": low, "score": score} for low, score in bands], **fields)


def text(code: str, **fields: Any) -> dict[str, Any]:
    return question(code, "text", **fields)


def when(code: str, *equals: str) -> dict[str, Any]:
    return {"question": code, "equals": list(equals)}


def answer(value: Any, *, evidence: bool = False) -> Answer:
    return Answer(value=value, evidence=(LINK,) if evidence else ())
