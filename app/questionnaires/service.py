"""Template versions: import from ``questionnaires/`` files or uploads, look up, and preview scores."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import String, select
from sqlalchemy.orm import Session, defer

import scoring
from app.accounts.principal import Principal
from app.audit.service import record
from app.db.models import TemplateVersion
from app.errors import Conflict, FieldProblem, InvalidInput, NotFound, ProblemCollector, more_problems

# Stored versions never change, so the content hash alone identifies the parsed template. A dict keyed by the
# hash (not an lru_cache over the source text, which would hash the whole text on every call).
_PARSED: dict[str, scoring.Template] = {}
_PARSED_LIMIT = 256


# Parsing a bundled SAQ takes about a second: the first requests after a start, arriving together, wait for
# one parse instead of each parsing the same text.
_PARSE_LOCK = threading.Lock()


def parsed(version: TemplateVersion) -> scoring.Template:
    """The scoring model of a stored template version (parsed once per process)."""
    template = _PARSED.get(version.content_hash)
    if template is None:
        with _PARSE_LOCK:
            template = _PARSED.get(version.content_hash)
            if template is None:
                # Aliases stay readable in a stored version: an earlier release accepted them, and refusing
                # them now would make that round's SAQ unreadable. New templates never have them.
                template = scoring.parse_template(
                    version.source_text, source=version.source_name, allow_aliases=True
                )
                _keep(version.content_hash, template)
    return template


def _keep(content_hash: str, template: scoring.Template) -> None:
    """Cache a parsed template under its version's content hash (the caller holds ``_PARSE_LOCK``)."""
    if len(_PARSED) >= _PARSED_LIMIT:
        _PARSED.pop(next(iter(_PARSED)))
    _PARSED[content_hash] = template


def _remember(template: scoring.Template) -> None:
    """Keep a template parsed from an upload or file: its stored version parses to the same model."""
    with _PARSE_LOCK:
        if template.content_hash not in _PARSED:
            _keep(template.content_hash, template)


def parsed_if_known(content_hash: str) -> scoring.Template | None:
    """The scoring model of the version with this content hash, if this process has parsed it already."""
    return _PARSED.get(content_hash)


@lru_cache(maxsize=16)
def _parsed_text(text: str, source_name: str) -> scoring.Template:
    """The same file imported again (``emonev templates import`` at every start, a retried upload, the
    tests' fixtures) is parsed once per process: parsing is most of an import's time. Templates are
    immutable, and a refused text is not kept (its error is raised again)."""
    return parse_or_422(text, source_name)


def parse_or_422(text: str, source_name: str) -> scoring.Template:
    try:
        return scoring.parse_template(text, source=source_name)
    except scoring.TemplateError as exc:
        raise InvalidInput(
            f"{source_name} is not a valid SAQ template",
            errors=[
                *(
                    FieldProblem(p.path, p.message, f"Templat SAQ tidak sah di {p.path}.")
                    for p in exc.problems
                ),
                *([more_problems(exc.omitted)] if exc.omitted else []),
            ],
            indonesian=f"{source_name} bukan templat SAQ yang sah.",
        ) from exc


def _column_length(name: str) -> int:
    column_type = TemplateVersion.__table__.c[name].type
    assert isinstance(column_type, String)
    assert column_type.length is not None
    return column_type.length


def _source_label(name: str) -> str:
    """The source name as stored and shown in problems: printable characters only (it may be an upload's
    file name) and no longer than its column, keeping the end, where the file name is."""
    label = "".join(ch for ch in name if ch.isprintable())
    return label[-_column_length("source_name") :] or "upload.yaml"


def _ensure_storable(template: scoring.Template) -> None:
    """The key, version and title fit their columns (PostgreSQL refuses longer text; SQLite would keep it)."""
    problems = ProblemCollector()
    for field in ("key", "version", "title"):
        limit = _column_length(field)
        if len(getattr(template, field)) > limit:
            problems.add(field, f"at most {limit} characters", f"Paling panjang {limit} karakter.")
    problems.raise_if_any(
        "; ".join(f"{p.field}: {p.message}" for p in problems.problems),
        "Kunci, versi atau judul templat terlalu panjang.",
    )


@dataclass(frozen=True)
class ImportOutcome:
    version: TemplateVersion
    created: bool


def import_template(
    *, session: Session, text: str, source_name: str, by: Principal | None = None
) -> ImportOutcome:
    """Store a template version. Importing the same content again is a no-op; a (key, version) that
    exists with other content is refused: a published version never changes."""
    source_name = _source_label(source_name)
    template = _parsed_text(text, source_name)
    _ensure_storable(template)
    _remember(template)
    existing = session.scalar(
        select(TemplateVersion).where(
            TemplateVersion.key == template.key, TemplateVersion.version == template.version
        )
    )
    if existing is not None:
        if existing.content_hash != template.content_hash:
            raise Conflict(
                f"template {template.key} version {template.version} already exists with different content; "
                "publish the change as a new version",
                errors=[
                    FieldProblem(
                        "version",
                        "version string reused with different content",
                        "Versi ini sudah ada dengan isi lain; terbitkan perubahan sebagai versi baru.",
                    )
                ],
                indonesian=(
                    f"Templat {template.key} versi {template.version} sudah ada dengan isi lain; "
                    "terbitkan perubahan sebagai versi baru."
                ),
            )
        return ImportOutcome(existing, created=False)
    row = TemplateVersion(
        key=template.key,
        version=template.version,
        title=template.title,
        content_hash=template.content_hash,
        source_name=source_name,
        source_text=text,
        body_categories=list(template.body_categories),
        question_count=len(template.questions()),
        imported_by_id=by.account_id if by else None,
    )
    session.add(row)
    session.flush()
    record(
        session=session,
        actor=by,
        action="template.import",
        entity="template_version",
        entity_id=row.id,
        after={"key": row.key, "version": row.version, "content_hash": row.content_hash},
    )
    return ImportOutcome(row, created=True)


def template_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.yaml") if p.is_file())


def import_directory(*, session: Session, directory: Path) -> list[ImportOutcome]:
    return [
        import_template(session=session, text=path.read_text(encoding="utf-8"), source_name=str(path))
        for path in template_files(directory)
    ]


def get_version(*, session: Session, key: str, version: str) -> TemplateVersion:
    row = session.scalar(
        select(TemplateVersion).where(TemplateVersion.key == key, TemplateVersion.version == version)
    )
    if row is None:
        raise NotFound(f"template {key} version {version} does not exist")
    return row


def list_versions(*, session: Session) -> Sequence[TemplateVersion]:
    """Every template version, without its YAML source (tens of kilobytes each, and not listed)."""
    return session.scalars(
        select(TemplateVersion)
        .options(defer(TemplateVersion.source_text))
        .order_by(TemplateVersion.key, TemplateVersion.version)
    ).all()


def answers_or_422(
    template: scoring.Template, raw: dict[str, Any], *, prefix: str = "answers"
) -> dict[str, scoring.Answer]:
    """Validate raw answers against a template, naming every bad field."""
    try:
        return scoring.parse_answers(template, raw)
    except scoring.AnswerError as exc:
        raise InvalidInput(
            "some answers do not fit the template",
            errors=[
                FieldProblem(
                    f"{prefix}.{p.code}.{p.field}".rstrip("."), p.message, answer_problem_text(template, p)
                )
                for p in exc.problems
            ],
            indonesian="Beberapa jawaban tidak sesuai dengan SAQ.",
        ) from exc


def answer_problem_text(template: scoring.Template, problem: scoring.AnswerProblem) -> str:
    """What is wrong with one answer, as the SAQ form says it beside the question."""
    if problem.field.startswith("evidence["):
        return "Tautan data dukung harus berupa alamat yang diawali http:// atau https://."
    if problem.field == "evidence":
        return "Data dukung harus berupa daftar tautan."
    if problem.field == "note":
        return "Catatan harus berupa teks."
    if problem.field != "value":
        known = problem.code in {entry.question.code for entry in template.questions()}
        return "Jawaban ini tidak dapat dibaca." if known else "Pertanyaan ini tidak ada di SAQ ini."
    kind = template.question(problem.code).type
    return VALUE_TEXT[kind]


VALUE_TEXT = {
    scoring.QuestionType.YES_NO: "Pilih Ya atau Tidak.",
    scoring.QuestionType.CHOICE: "Pilih salah satu pilihan yang tersedia.",
    scoring.QuestionType.MULTI_CHOICE: "Pilih dari pilihan yang tersedia.",
    scoring.QuestionType.NUMBER: "Isi dengan angka (pakai koma atau titik untuk desimal).",
    scoring.QuestionType.TEXT: "Isi dengan teks.",
}


def preview(*, session: Session, key: str, version: str, raw_answers: dict[str, Any]) -> scoring.ScoreCard:
    template = parsed(get_version(session=session, key=key, version=version))
    return scoring.score(template, answers_or_422(template, raw_answers))
