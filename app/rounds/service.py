"""Rounds: the SAQ window and its extensions, templates per category, invitations, status and stages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any

from sqlalchemy import Select, and_, bindparam, delete, exists, false, func, select, update
from sqlalchemy.orm import Session

from app.accounts import policy
from app.accounts.principal import Principal
from app.audit.service import record
from app.commissions.service import categories_by_code, commission_timezone
from app.commissions.timezones import as_utc, format_local, format_words
from app.db.base import utcnow
from app.db.models import (
    BodyCategory,
    Commission,
    DeadlineExtension,
    Invitation,
    PanelScore,
    Publication,
    PublicBody,
    Round,
    RoundTemplate,
    Stage,
    Submission,
    TemplateVersion,
)
from app.errors import (
    Conflict,
    FieldProblem,
    Forbidden,
    InvalidInput,
    NotFound,
    ProblemCollector,
    WindowClosed,
)
from app.mail import season as season_mail
from app.portal.caching import touch
from app.rounds.schemas import NOT_NULL
from app.webhooks import outbox as webhook_events

DEADLINE_PATTERN = "%d-%m-%Y %H:%M"
# A round's statuses as its messages in Indonesian name them (the pages' words).
STATUS_WORDS = {
    "draft": "Draf",
    "open": "Pengisian SAQ dibuka",
    "closed": "Pengisian SAQ ditutup",
    "verification": "Verifikasi",
    "objection": "Masa sanggah",
    "stages": "Tahap lanjutan",
    "final": "Penetapan nilai akhir",
    "published": "Hasil diumumkan",
}


# After the SAQ stage closed, a body whose deadline extension is still running keeps filling in its SAQ
# until that extension ends, while the round is closed or its other bodies are verified.
FILLING_AFTER_CLOSE = frozenset({"closed", "verification"})


def round_closes_at(round_: Round) -> datetime:
    """The round's own close: ``saq_closes_at``, or the instant the SAQ stage actually closed if that came
    earlier (the commission closed early)."""
    return _round_close(round_.saq_closes_at, round_.saq_closed_at)


def _round_close(planned: datetime, closed: datetime | None) -> datetime:
    planned = as_utc(planned)
    return planned if closed is None else min(planned, as_utc(closed))


@dataclass(frozen=True)
class Window:
    """Whether and until when one body may fill in its SAQ in one round: what the window rules decide on."""

    round_title: str
    round_status: str
    opens_at: datetime
    # The body's deadline: the round's own close (see ``round_closes_at``) or the latest extension covering
    # the body, whichever is later.
    closes_at: datetime
    extended_until: datetime | None  # the latest extension covering the body, if any
    timezone: str  # the commission's, for the deadline in messages
    body_name: str
    invited: bool  # invited, and a body of the round's commission

    def open_until(self) -> datetime | None:
        """Until when the round's status lets the body fill in: its deadline while the round is ``open``;
        once the SAQ stage closed (``closed``, ``verification``), only the end of a running extension
        covering it; in any other status, never."""
        if self.round_status == "open":
            return self.closes_at
        if self.round_status in FILLING_AFTER_CLOSE:
            return self.extended_until
        return None

    def is_open(self, now: datetime) -> bool:
        until = self.open_until()
        return self.invited and until is not None and self.opens_at <= as_utc(now) < until

    def ensure_open(self, now: datetime) -> None:
        """Refuse unless the body may fill in its SAQ at ``now``: it is invited (else Forbidden), the round
        lets it (``open``; or ``closed``/``verification`` with an extension still running for it) and
        ``opens_at <= now < deadline`` (else WindowClosed, giving the deadline in the commission's local
        time)."""
        if not self.invited:
            raise Forbidden(f"{self.body_name} is not invited to round {self.round_title}")
        now = as_utc(now)
        until = self.open_until()
        if until is None:
            if self.round_status in FILLING_AFTER_CLOSE and self.closes_at <= now:
                raise self._closed(self.closes_at)  # the SAQ stage closed and no extension covers the body
            raise WindowClosed(
                f"the SAQ window of round {self.round_title} is not open (round status: {self.round_status})",
                indonesian=f"Pengisian SAQ {self.round_title} tidak sedang dibuka "
                f"(tahap periode: {STATUS_WORDS.get(self.round_status, self.round_status)}).",
                round_status=self.round_status,
            )
        if now < self.opens_at:
            raise WindowClosed(
                "the SAQ window opens on "
                f"{format_local(self.opens_at, self.timezone, pattern=DEADLINE_PATTERN)}",
                indonesian=f"Pengisian SAQ {self.round_title} baru dibuka pada "
                f"{format_words(self.opens_at, self.timezone)}.",
                opens_at=self.opens_at.isoformat(),
            )
        if now >= until:
            raise self._closed(self.closes_at)

    def _closed(self, at: datetime) -> WindowClosed:
        return WindowClosed(
            f"the SAQ window closed on {format_local(at, self.timezone, pattern=DEADLINE_PATTERN)}",
            indonesian=f"Batas waktu pengisian SAQ {self.body_name} sudah lewat "
            f"({format_words(at, self.timezone)}); jawaban tidak dapat diubah lagi.",
            closes_at=at.isoformat(),
        )


def _covers(
    scope: str, category_ids: list[int] | None, body_ids: list[int] | None, *, category_id: int, body_id: int
) -> bool:
    """Whether an extension applies to a body: round-wide, for its category, or for it."""
    return (
        scope == "round"
        or (scope == "categories" and category_id in (category_ids or []))
        or (scope == "bodies" and body_id in (body_ids or []))
    )


def covers(extension: DeadlineExtension, *, category_id: int, body_id: int) -> bool:
    """Whether the extension applies to the body (of that category)."""
    return _covers(
        extension.scope, extension.category_ids, extension.body_ids, category_id=category_id, body_id=body_id
    )


_R = Round.__table__.c
_B = PublicBody.__table__.c
_E = DeadlineExtension.__table__.c
_C = Commission.__table__.c
_I = Invitation.__table__.c


# The columns a body's window is decided on, a row per extension of the round (none: one row of nulls), for
# statements that read them beside their own (the save and the GET of a submission read them with the
# submission, in one round trip): select them from ``WINDOW_JOINS`` applied to the round and the body.
WINDOW_COLUMNS = (
    _R.title.label("window_round_title"),
    _R.status.label("window_round_status"),
    _R.saq_opens_at.label("window_opens_at"),
    _R.saq_closes_at.label("window_closes_at"),
    _R.saq_closed_at.label("window_closed_at"),
    _C.timezone.label("window_timezone"),
    _B.name.label("window_body_name"),
    _B.category_id.label("window_category_id"),
    (
        (_B.commission_id == _R.commission_id) & exists().where(_I.round_id == _R.id, _I.body_id == _B.id)
    ).label("window_invited"),
    _E.closes_at.label("extension_closes_at"),
    _E.scope.label("extension_scope"),
    _E.category_ids.label("extension_category_ids"),
    _E.body_ids.label("extension_body_ids"),
)


def with_window_joins(from_: Any) -> Any:
    """``from_`` (which holds the round and the body) joined to what :data:`WINDOW_COLUMNS` read."""
    return from_.join(Commission.__table__, _C.id == _R.commission_id).outerjoin(
        DeadlineExtension.__table__, _E.round_id == _R.id
    )


# Built once: constructing a select costs several times more CPU than running it, and every save asks.
_WINDOW = (
    select(*WINDOW_COLUMNS)
    .select_from(with_window_joins(Round.__table__.join(PublicBody.__table__, _B.id == bindparam("body_id"))))
    .where(_R.id == bindparam("round_id"))
)


def window_for(*, session: Session, round_id: int, body_id: int) -> Window:
    """The SAQ window of one body in one round, in one query (a row per extension of the round)."""
    rows = session.execute(_WINDOW, {"round_id": round_id, "body_id": body_id}).all()
    if not rows:
        raise NotFound(f"round {round_id} or public body {body_id} does not exist")
    return window_from_rows(rows, body_id=body_id)


def window_from_rows(rows: Sequence[Any], *, body_id: int) -> Window:
    """The window of the body from the rows of :data:`WINDOW_COLUMNS` (at least one)."""
    first = rows[0]
    extended = [
        as_utc(row.extension_closes_at)
        for row in rows
        if row.extension_scope is not None
        and _covers(
            row.extension_scope,
            row.extension_category_ids,
            row.extension_body_ids,
            category_id=first.window_category_id,
            body_id=body_id,
        )
    ]
    extended_until = max(extended) if extended else None
    own = _round_close(first.window_closes_at, first.window_closed_at)
    return Window(
        round_title=first.window_round_title,
        round_status=first.window_round_status,
        opens_at=as_utc(first.window_opens_at),
        closes_at=max(own, extended_until) if extended_until else own,
        extended_until=extended_until,
        timezone=first.window_timezone,
        body_name=first.window_body_name,
        invited=bool(first.window_invited),
    )


def effective_closes_at(*, session: Session, round_: Round, body: PublicBody) -> datetime:
    """The instant (aware, UTC) the SAQ window closes for this body: the latest of the round's own close
    (the instant the SAQ stage closed, if it closed early) and every extension covering the body."""
    return window_for(session=session, round_id=round_.id, body_id=body.id).closes_at


def is_invited(*, session: Session, round_: Round, body: PublicBody) -> bool:
    return bool(
        session.scalar(
            select(exists().where(Invitation.round_id == round_.id, Invitation.body_id == body.id))
        )
    )


def ensure_window_open(*, session: Session, round_: Round, body: PublicBody, now: datetime) -> None:
    """Refuse unless the body may fill in its SAQ at ``now`` (see :meth:`Window.ensure_open`)."""
    window_for(session=session, round_id=round_.id, body_id=body.id).ensure_open(now)


def template_for(*, session: Session, round_: Round, body: PublicBody) -> TemplateVersion:
    """The template version the body's category answers in this round (Conflict if none is set)."""
    version = session.scalar(
        select(TemplateVersion)
        .join(RoundTemplate, RoundTemplate.template_version_id == TemplateVersion.id)
        .where(RoundTemplate.round_id == round_.id, RoundTemplate.category_id == body.category_id)
    )
    if version is None:
        raise Conflict(
            f"round {round_.title} has no SAQ template for the category {body.category.code!r} yet",
            indonesian=f"SAQ untuk kategori {body.category.name} belum ditentukan pada {round_.title}; "
            "hubungi Komisi Informasi.",
        )
    return version


# --- rounds --------------------------------------------------------------------------------------------

STATUSES = ("draft", "open", "closed", "verification", "objection", "stages", "final", "published")
NEXT_STATUS = dict(pairwise(STATUSES))
# What may still change in which status.
WINDOW_EDITABLE = frozenset({"draft"})
TEMPLATES_EDITABLE = frozenset({"draft", "open"})
INVITATIONS_OPEN = frozenset({"draft", "open"})
EXTENSIONS_OPEN = frozenset({"draft", "open"})
EXTENSION_SCOPES = ("round", "categories", "bodies")
STAGES_EDITABLE = frozenset({"draft", "open", "closed", "verification", "objection"})
RULES_EDITABLE = frozenset(STATUSES[:-2])  # gate, missing-stage policy, objection dates: until final
INSTANT_FIELDS = ("saq_opens_at", "saq_closes_at", "objection_opens_at", "objection_closes_at")


def timezone_of(*, session: Session, round_: Round) -> str:
    return commission_timezone(session, round_.commission_id)


def get_round(
    *, session: Session, round_id: int, by: Principal | None = None, for_update: bool = False
) -> Round:
    """The round or 404; with ``by``, only if that principal belongs to its commission (callers with a
    narrower rule, such as panelists or administrators only, pass no ``by`` and check it themselves).
    ``for_update`` locks its row until the transaction ends, for changes that must not interleave."""
    if for_update:
        stmt = select(Round).where(Round.id == round_id).with_for_update()
        round_ = session.scalar(stmt.execution_options(populate_existing=True))
    else:
        round_ = session.get(Round, round_id)
    if round_ is None:
        raise NotFound(f"round {round_id} does not exist")
    if by is not None:
        policy.ensure_member(by, round_.commission_id)
    return round_


def _round_snapshot(round_: Round) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return as_utc(value).isoformat()
        if isinstance(value, Decimal):
            return f"{value:.2f}"
        return value

    keys = (
        "year",
        "title",
        "status",
        *INSTANT_FIELDS,
        "gate_min_score",
        "gate_top_n",
        "missing_stage_policy",
        "drafts_at_deadline",
        "saq_closed_at",
    )
    return {k: plain(getattr(round_, k)) for k in keys}


def _check_dates(values: Mapping[str, Any], timezone: str, *, saq_ends_at: datetime | None = None) -> None:
    """The SAQ window and the objection window fit together: the objection window opens once the SAQ stage
    is over for every body, at ``saq_ends_at`` (see :func:`saq_stage_ends_at`; for a new round, its
    ``saq_closes_at``)."""
    problems = ProblemCollector()
    opens, closes = values["saq_opens_at"], values["saq_closes_at"]
    if as_utc(closes) <= as_utc(opens):
        problems.add(
            "saq_closes_at",
            f"must be after saq_opens_at ({format_local(opens, timezone)})",
            f"Batas waktu pengisian harus setelah pembukaan pengisian ({format_words(opens, timezone)}).",
        )
    obj_opens, obj_closes = values.get("objection_opens_at"), values.get("objection_closes_at")
    if (obj_opens is None) != (obj_closes is None):
        missing = "objection_closes_at" if obj_closes is None else "objection_opens_at"
        problems.add(
            missing,
            "give both ends of the objection window, or neither",
            "Isi pembukaan dan penutupan masa sanggah, atau kosongkan keduanya.",
        )
    if obj_opens is not None and obj_closes is not None:
        if as_utc(obj_closes) <= as_utc(obj_opens):
            problems.add(
                "objection_closes_at",
                "must be after objection_opens_at",
                f"Penutupan masa sanggah harus setelah pembukaannya ({format_words(obj_opens, timezone)}).",
            )
        ends = as_utc(saq_ends_at or closes)
        if as_utc(obj_opens) < ends:
            problems.add(
                "objection_opens_at",
                f"must come after the SAQ stage, which ends {format_local(ends, timezone)} "
                "(the round's close, or the instant it closed early, and every deadline extension)",
                "Masa sanggah harus dibuka setelah tahap pengisian SAQ berakhir "
                f"({format_words(ends, timezone)}, termasuk setiap perpanjangan batas waktu).",
            )
    problems.raise_if_any("the round's dates do not fit together", "Jadwal periode belum benar.")


def saq_stage_ends_at(*, session: Session, round_: Round, saq_closes_at: datetime | None = None) -> datetime:
    """When the SAQ stage is over for every body: the round's own close (``saq_closes_at``, or the instant
    the stage closed if that came earlier) or the end of its latest deadline extension, whichever is later.
    ``saq_closes_at`` stands in for the round's own when given."""
    own = _round_close(saq_closes_at or round_.saq_closes_at, round_.saq_closed_at)
    latest = session.scalar(
        select(func.max(DeadlineExtension.closes_at)).where(DeadlineExtension.round_id == round_.id)
    )
    return max(own, as_utc(latest)) if latest is not None else own


def create_round(
    *, session: Session, commission: Commission, data: Mapping[str, Any], by: Principal
) -> Round:
    """A new round in status ``draft``. ``data``: the fields of ``RoundIn``."""
    policy.ensure_admin(by, commission.id)
    _check_dates(data, commission.timezone)
    taken = session.scalar(
        select(Round.id).where(
            Round.commission_id == commission.id, Round.year == data["year"], Round.title == data["title"]
        )
    )
    if taken is not None:
        raise Conflict(
            f"the commission already has a round {data['title']!r} in {data['year']}",
            errors=[
                FieldProblem(
                    "title",
                    "already used by another round of the same year",
                    f'Nama "{data["title"]}" sudah dipakai periode lain tahun {data["year"]}; pilih nama '
                    "lain.",
                )
            ],
            indonesian=f'Komisi Informasi ini sudah memiliki periode "{data["title"]}" tahun {data["year"]}.',
        )
    values = {k: (as_utc(v) if k in INSTANT_FIELDS and v is not None else v) for k, v in data.items()}
    round_ = Round(commission_id=commission.id, status="draft", saq_weight=Decimal(100), **values)
    session.add(round_)
    session.flush()
    record(
        session=session,
        actor=by,
        action="round.create",
        entity="round",
        entity_id=round_.id,
        after=_round_snapshot(round_),
        commission_id=commission.id,
    )
    return round_


def rounds_query(
    *, commission: Commission | None, year: int | None, status: str | None, by: Principal
) -> Select[Any]:
    """Rounds of a commission, or (``commission`` None) of every commission the principal may list:
    a system administrator all of them, anyone else their own commission's (``policy.member_scope``)."""
    scope = policy.member_scope(by, commission.id if commission is not None else None)
    stmt = select(Round)
    if scope is not None:
        stmt = stmt.where(Round.commission_id == scope)
    if year is not None:
        stmt = stmt.where(Round.year == year)
    if status is not None:
        stmt = stmt.where(Round.status == status)
    return stmt


def recent_rounds(*, session: Session, by: Principal, limit: int = 200) -> list[Round]:
    """The newest rounds the principal may list (see :func:`rounds_query`), newest year first."""
    stmt = rounds_query(commission=None, year=None, status=None, by=by)
    return list(session.scalars(stmt.order_by(Round.year.desc(), Round.id.desc()).limit(limit)))


@dataclass(frozen=True)
class BodyRound:
    """One round a body is invited to, with its own deadline and where its submission stands."""

    round: Round
    closes_at: datetime
    submission: Submission | None
    published: bool
    open_now: bool  # the body may fill in its SAQ now (the rules of Window)


def rounds_of_body(*, session: Session, body: PublicBody, limit: int = 50) -> list[BodyRound]:
    """The rounds (not drafts) the body is invited to, newest deadline first; a draft whose deadline has
    passed is settled first, so the body sees what the round's rule made of it."""
    rows = session.scalars(
        select(Round)
        .join(Invitation, Invitation.round_id == Round.id)
        .where(Invitation.body_id == body.id, Round.status != "draft")
        .order_by(Round.saq_closes_at.desc(), Round.id.desc())
        .limit(limit)
    ).all()
    now = utcnow()
    result = []
    for round_ in rows:
        settle_due_drafts(session=session, round_=round_, now=now, body_ids=[body.id])
        window = window_for(session=session, round_id=round_.id, body_id=body.id)
        submission = session.scalar(
            select(Submission).where(Submission.round_id == round_.id, Submission.body_id == body.id)
        )
        published = session.scalar(select(Publication.id).where(Publication.round_id == round_.id).limit(1))
        result.append(
            BodyRound(round_, window.closes_at, submission, published is not None, window.is_open(now))
        )
    return result


def update_round(*, session: Session, round_: Round, changes: Mapping[str, Any], by: Principal) -> Round:
    """Change a round's title, year, dates, gate, missing-stage policy or drafts policy.

    The SAQ window itself changes only while the round is a draft; once it is open a deadline moves only by
    a recorded extension. What drafts become at the deadline (``drafts_at_deadline``) changes until the SAQ
    stage closes. The gate, the missing-stage policy and the objection dates change until the round is
    final; the objection window opens after the SAQ stage is over (:func:`saq_stage_ends_at`)."""
    policy.ensure_admin(by, round_.commission_id)
    nulls = [
        FieldProblem(k, "may not be null", "Isian ini wajib diisi.")
        for k in NOT_NULL
        if k in changes and changes[k] is None
    ]
    if nulls:
        raise InvalidInput(
            "some fields may not be null", errors=nulls, indonesian="Ada isian wajib yang kosong."
        )
    changes = {
        k: v
        for k, v in changes.items()
        if (as_utc(v) if isinstance(v, datetime) else v) != _current(round_, k)
    }
    window = {"saq_opens_at", "saq_closes_at"} & changes.keys()
    if window and round_.status not in WINDOW_EDITABLE:
        raise Conflict(
            f"the SAQ window of a round that is {round_.status} does not move: record a deadline extension "
            f"(POST /api/v1/rounds/{round_.id}/extensions)",
            errors=[
                FieldProblem(
                    k,
                    "fixed once the round is open",
                    "Jendela pengisian SAQ tidak dapat diubah setelah dibuka; catat perpanjangan batas "
                    "waktu.",
                )
                for k in sorted(window)
            ],
            indonesian="Jendela pengisian SAQ tidak dapat diubah setelah periode dibuka; batas waktu hanya "
            "dapat diundur dengan mencatat perpanjangan batas waktu (keputusan pleno).",
        )
    if "drafts_at_deadline" in changes and round_.status not in DRAFTS_POLICY_EDITABLE:
        raise Conflict(
            f"what drafts become at the deadline is settled once the SAQ stage closed (the round is "
            f"{round_.status})",
            errors=[
                FieldProblem(
                    "drafts_at_deadline",
                    "fixed once the SAQ stage closed",
                    "Aturan draf saat batas waktu tidak dapat diubah setelah pengisian SAQ ditutup.",
                )
            ],
            indonesian="Aturan draf saat batas waktu tidak dapat diubah lagi: pengisian SAQ periode ini "
            "sudah ditutup.",
        )
    rules = {
        "gate_min_score",
        "gate_top_n",
        "missing_stage_policy",
        "objection_opens_at",
        "objection_closes_at",
    }
    if rules & changes.keys() and round_.status not in RULES_EDITABLE:
        raise Conflict(
            f"the rules of a round that is {round_.status} no longer change",
            errors=[
                FieldProblem(
                    k,
                    f"fixed once the round is {round_.status}",
                    f'Tidak dapat diubah lagi pada tahap "{STATUS_WORDS.get(round_.status)}".',
                )
                for k in sorted(rules & changes.keys())
            ],
            indonesian="Gerbang, aturan tahap yang tidak diikuti dan masa sanggah tidak dapat diubah lagi "
            f'pada tahap "{STATUS_WORDS.get(round_.status)}".',
        )
    timezone = timezone_of(session=session, round_=round_)
    merged = {k: getattr(round_, k) for k in INSTANT_FIELDS} | {
        k: v for k, v in changes.items() if k in INSTANT_FIELDS
    }
    _check_dates(
        merged,
        timezone,
        saq_ends_at=saq_stage_ends_at(session=session, round_=round_, saq_closes_at=merged["saq_closes_at"]),
    )
    if {"year", "title"} & changes.keys():
        year, title = changes.get("year", round_.year), changes.get("title", round_.title)
        taken = session.scalar(
            select(Round.id).where(
                Round.commission_id == round_.commission_id,
                Round.year == year,
                Round.title == title,
                Round.id != round_.id,
            )
        )
        if taken is not None:
            raise Conflict(
                f"the commission already has a round {title!r} in {year}",
                errors=[
                    FieldProblem(
                        "title",
                        "already used by another round of the same year",
                        f'Nama "{title}" sudah dipakai periode lain tahun {year}; pilih nama lain.',
                    )
                ],
                indonesian=f'Komisi Informasi ini sudah memiliki periode "{title}" tahun {year}.',
            )
    if not changes:
        return round_
    before = _round_snapshot(round_)
    for key, value in changes.items():
        setattr(round_, key, as_utc(value) if isinstance(value, datetime) else value)
    if {"year", "title"} & changes.keys() and round_.status == "published":
        touch(session, round_.commission_id)  # the portal and open data show them
    session.flush()
    after = _round_snapshot(round_)
    record(
        session=session,
        actor=by,
        action="round.update",
        entity="round",
        entity_id=round_.id,
        before={k: v for k, v in before.items() if after[k] != v},
        after={k: v for k, v in after.items() if before[k] != v},
        commission_id=round_.commission_id,
    )
    return round_


def _current(round_: Round, key: str) -> Any:
    value = getattr(round_, key)
    return as_utc(value) if isinstance(value, datetime) else value


# --- status --------------------------------------------------------------------------------------------


def _ensure_next(round_: Round, to: str) -> None:
    current = round_.status
    if NEXT_STATUS.get(current) == to:
        return
    following = NEXT_STATUS.get(current)
    hint = f"the next status is {following!r}" if following else "it is the last status"
    words = STATUS_WORDS.get(current, current)
    raise Conflict(
        f"a round that is {current} cannot become {to}: {hint}",
        errors=[
            FieldProblem(
                "status",
                f"not a legal transition from {current}",
                f'Dari tahap "{words}" periode hanya dapat lanjut ke '
                f'"{STATUS_WORDS.get(following, following)}".'
                if following
                else f'Tahap "{words}" adalah tahap terakhir.',
            )
        ],
        indonesian=f'Periode pada tahap "{words}" tidak dapat berpindah ke "{STATUS_WORDS.get(to, to)}".',
        allowed=[following] if following else [],
    )


def change_status(
    *, session: Session, round_: Round, to: str, by: Principal, now: datetime | None = None
) -> Round:
    """Move a round one step along draft -> open -> closed -> verification -> objection -> stages -> final
    -> published; anything else is a 409 naming the one legal next status. Opening needs at least one
    invitation and a template for the category of every invited body. Closing records the instant the SAQ
    stage closed (``saq_closed_at``) and settles the drafts whose deadline passed (``settle_due_drafts``);
    leaving ``verification`` is refused while a body's deadline extension is still running.

    This is the move itself; a request from a person goes through :func:`request_status`, which first
    asks for confirmation when the move affects bodies."""
    policy.ensure_admin(by, round_.commission_id)
    now = as_utc(now or utcnow())
    current = round_.status
    _ensure_next(round_, to)
    if to == "open":
        _ensure_ready_to_open(session, round_)
    settle_due_drafts(session=session, round_=round_, now=now)
    if current == "verification":
        _ensure_no_window_open(session, round_, now)
    before: dict[str, Any] = {"status": current}
    after: dict[str, Any] = {"status": to}
    if to == "closed":
        preview = _preview(session, round_, to, now)
        round_.saq_closed_at = now
        after |= {
            "saq_closed_at": now.isoformat(),
            "closed_early": preview.closing_early,
            "drafts_at_deadline": round_.drafts_at_deadline,
            "drafts": [b.body_id for b in preview.drafts],
            "extension_running": [b.body_id for b in preview.extension_running],
            "not_started": [b.body_id for b in preview.not_started],
        }
    round_.status = to
    session.flush()
    if to == "open":
        season_mail.round_opened(session, round_=round_)
    webhook_events.round_status_changed(session, round_=round_, previous=current)
    record(
        session=session,
        actor=by,
        action="round.status",
        entity="round",
        entity_id=round_.id,
        before=before,
        after=after,
        commission_id=round_.commission_id,
    )
    if to == "closed":
        settle_due_drafts(session=session, round_=round_, now=now)
    return round_


def request_status(
    *,
    session: Session,
    round_: Round,
    to: str,
    by: Principal,
    confirm: bool = False,
    now: datetime | None = None,
) -> Round:
    """A status change asked for through ``POST /rounds/{id}/status`` or the round's page: every step
    except publication, which only the publication service makes (it freezes the results as it publishes
    them). A move that affects bodies (see :func:`preview_status`) needs ``confirm``; without it, a 409
    naming how many bodies of each kind it affects."""
    if to == "published" and NEXT_STATUS.get(round_.status) == "published":
        raise Conflict(
            "a round is published by publishing its results, which freezes them; not by setting its status",
            errors=[
                FieldProblem(
                    "status",
                    "set by the publication of the results",
                    "Hasil diumumkan melalui halaman Penetapan & Unduhan.",
                )
            ],
            indonesian="Periode diumumkan dengan menetapkan hasilnya di halaman Penetapan & Unduhan, "
            "bukan dengan mengubah tahapnya.",
        )
    policy.ensure_admin(by, round_.commission_id)
    now = as_utc(now or utcnow())
    _ensure_next(round_, to)
    preview = _preview(session, round_, to, now)
    if preview.needs_confirmation and not confirm:
        counts = preview.counts()
        kinds = {
            "drafts": "with a draft",
            "extension_running": "with a deadline extension still running",
            "not_started": "that never started",
        }
        parts = [f"{n} bodies {kinds[what]}" for what, n in counts.items() if n]
        affects = f"affects {', '.join(parts)}" if parts else "affects no body"
        if preview.closing_early:
            deadline = format_local(preview.saq_closes_at, preview.timezone)
            affects += f" and comes before the round's own deadline ({deadline})"
        raise Conflict(
            f"moving the round to {to} {affects}: look at "
            f'GET /api/v1/rounds/{round_.id}/status-preview?to={to}, then send "confirm": true',
            errors=[
                FieldProblem(
                    "confirm",
                    "confirm the move after reading who it affects",
                    "Centang konfirmasi setelah membaca daftar badan publik yang terdampak.",
                )
            ],
            indonesian=_unconfirmed_words(preview),
            **counts,
            closing_early=preview.closing_early,
        )
    return change_status(session=session, round_=round_, to=to, by=by, now=now)


def _unconfirmed_words(preview: StatusPreview) -> str:
    parts = []
    if preview.drafts:
        parts.append(f"{len(preview.drafts)} badan publik masih berupa draf")
    if preview.extension_running:
        parts.append(f"{len(preview.extension_running)} badan publik masih dalam masa perpanjangan")
    if preview.not_started:
        parts.append(f"{len(preview.not_started)} badan publik belum mulai mengisi")
    text = "Penutupan pengisian SAQ perlu dikonfirmasi"
    if parts:
        text += ": " + ", ".join(parts)
    if preview.closing_early:
        deadline = format_words(preview.saq_closes_at, preview.timezone)
        text += f"{'; ' if parts else ': '}batas waktu periode ({deadline}) belum tiba"
    return text + "."


# --- who a status change affects -----------------------------------------------------------------------


@dataclass(frozen=True)
class BodyDeadline:
    """An invited body with its own deadline and where its SAQ stands."""

    body_id: int
    name: str
    category: str  # the category's name
    closes_at: datetime  # the body's deadline (round_closes_at or its latest extension, the later)
    extended_until: datetime | None  # the latest extension covering it
    submission_id: int | None
    submission_status: str | None  # None: never started
    category_id: int | None = None

    def extension_running(self, now: datetime) -> bool:
        return self.extended_until is not None and self.extended_until > now


@dataclass(frozen=True)
class StatusPreview:
    """Who moving a round to ``to`` affects, so that a person confirms it knowing.

    Leaving ``open`` (closing the SAQ stage): ``drafts`` (a draft and no running extension: it becomes what
    ``drafts_at_deadline`` says), ``extension_running`` (not submitted, an extension still running: they
    keep filling in until their own deadline), ``not_started`` (never opened their SAQ and no running
    extension: tidak mengikuti), and ``closing_early`` when the round's own deadline has not come yet.
    Leaving ``verification``: ``extension_running`` are the bodies whose window is still open; the move is
    refused until each submits or its deadline passes."""

    round_id: int
    current: str
    to: str
    timezone: str
    saq_closes_at: datetime
    drafts_at_deadline: str
    closing_early: bool
    drafts: list[BodyDeadline]
    extension_running: list[BodyDeadline]
    not_started: list[BodyDeadline]
    blocked: bool  # the move is refused until the running extensions end

    @property
    def needs_confirmation(self) -> bool:
        """Whether a person must confirm the move (a refused move needs no confirmation: it is refused)."""
        if self.blocked:
            return False
        return self.closing_early or bool(self.drafts or self.extension_running or self.not_started)

    def counts(self) -> dict[str, int]:
        return {
            "drafts": len(self.drafts),
            "extension_running": len(self.extension_running),
            "not_started": len(self.not_started),
        }


def preview_status(
    *, session: Session, round_: Round, to: str, by: Principal, now: datetime | None = None
) -> StatusPreview:
    """Who moving the round to ``to`` (its legal next status) would affect; see :class:`StatusPreview`."""
    policy.ensure_admin(by, round_.commission_id)
    _ensure_next(round_, to)
    now = as_utc(now or utcnow())
    settle_due_drafts(session=session, round_=round_, now=now)
    return _preview(session, round_, to, now)


def _preview(session: Session, round_: Round, to: str, now: datetime) -> StatusPreview:
    drafts: list[BodyDeadline] = []
    running: list[BodyDeadline] = []
    not_started: list[BodyDeadline] = []
    if round_.status in ("open", "verification"):
        for body in body_deadlines(session=session, round_=round_):
            if body.submission_status == "submitted":
                continue
            if body.extension_running(now):
                running.append(body)
            elif round_.status == "open" and body.submission_status == "draft":
                drafts.append(body)
            elif round_.status == "open":
                not_started.append(body)
    planned = as_utc(round_.saq_closes_at)
    return StatusPreview(
        round_id=round_.id,
        current=round_.status,
        to=to,
        timezone=timezone_of(session=session, round_=round_),
        saq_closes_at=planned,
        drafts_at_deadline=round_.drafts_at_deadline,
        closing_early=round_.status == "open" and now < planned,
        drafts=drafts,
        extension_running=running,
        not_started=not_started,
        blocked=round_.status == "verification" and bool(running),
    )


def _ensure_no_window_open(session: Session, round_: Round, now: datetime) -> None:
    """Verification ends only once every body's SAQ is in: refused while a body that has not submitted
    still has a deadline extension running."""
    preview = _preview(session, round_, NEXT_STATUS["verification"], now)
    if not preview.blocked:
        return
    timezone = preview.timezone
    names = "; ".join(
        f"{b.name} (until {format_local(b.closes_at, timezone)})" for b in preview.extension_running
    )
    words = "; ".join(
        f"{b.name} (sampai {format_words(b.closes_at, timezone)})" for b in preview.extension_running
    )
    raise Conflict(
        f"the SAQ window of {len(preview.extension_running)} bodies is still open under a deadline "
        f"extension: {names}; verification ends once each has submitted or its deadline has passed",
        errors=[
            FieldProblem(
                "status",
                "deadline extensions are still running",
                f"Masih ada perpanjangan yang berjalan: {words}.",
            )
        ],
        indonesian=f"Verifikasi belum dapat diakhiri: {len(preview.extension_running)} badan publik masih "
        f"dalam masa perpanjangan pengisian SAQ ({words}). Lanjutkan setelah mereka mengirim SAQ atau "
        "batas waktunya lewat.",
        extension_running=[b.body_id for b in preview.extension_running],
    )


def body_deadlines(
    *, session: Session, round_: Round, body_ids: Sequence[int] | None = None
) -> list[BodyDeadline]:
    """Every invited body (or those of ``body_ids``) with its deadline and submission, by category and
    name, in two queries whatever the number of bodies."""
    stmt = (
        select(
            PublicBody.id,
            PublicBody.name,
            PublicBody.category_id,
            BodyCategory.name,
            Submission.id,
            Submission.status,
        )
        .join(Invitation, Invitation.body_id == PublicBody.id)
        .join(BodyCategory, BodyCategory.id == PublicBody.category_id)
        .outerjoin(Submission, and_(Submission.round_id == round_.id, Submission.body_id == PublicBody.id))
        .where(Invitation.round_id == round_.id)
        .order_by(BodyCategory.name, PublicBody.name, PublicBody.id)
    )
    if body_ids is not None:
        stmt = stmt.where(PublicBody.id.in_(list(body_ids)))
    extensions = session.execute(
        select(_E.closes_at, _E.scope, _E.category_ids, _E.body_ids).where(_E.round_id == round_.id)
    ).all()
    own = round_closes_at(round_)
    result = []
    for body_id, name, category_id, category, submission_id, status in session.execute(stmt):
        covering = [
            as_utc(e.closes_at)
            for e in extensions
            if _covers(e.scope, e.category_ids, e.body_ids, category_id=category_id, body_id=body_id)
        ]
        extended_until = max(covering) if covering else None
        result.append(
            BodyDeadline(
                body_id=body_id,
                name=name,
                category=category,
                closes_at=max(own, extended_until) if extended_until else own,
                extended_until=extended_until,
                submission_id=submission_id,
                submission_status=status,
                category_id=category_id,
            )
        )
    return result


# --- drafts at the deadline ----------------------------------------------------------------------------

DRAFT_POLICIES = ("not_participating", "submit")
DRAFTS_POLICY_EDITABLE = frozenset({"draft", "open"})


def settle_due_drafts(
    *, session: Session, round_: Round, now: datetime | None = None, body_ids: Sequence[int] | None = None
) -> list[int]:
    """Submit, as they stand, the drafts whose deadline has passed, when the round's rule says so
    (``drafts_at_deadline = "submit"``); the ids of the submissions submitted now.

    There is no job queue: drafts are settled once the SAQ stage has closed, at the close itself (every body
    whose deadline has passed by then) and afterwards whenever the round's status changes, a verification
    of the body starts, participation is counted or the submission is read, so a body whose extension
    ran past the close is settled the first time anybody looks after its deadline. Each is recorded as
    submitted at its deadline, by the system, and audited (``submission.submit_at_deadline``). Under
    ``not_participating`` nothing changes: a draft stays a draft and does not take part."""
    if round_.drafts_at_deadline != "submit" or round_.status not in FILLING_AFTER_CLOSE:
        return []
    stmt = select(Submission.id, Submission.body_id).where(
        Submission.round_id == round_.id, Submission.status == "draft"
    )
    if body_ids is not None:
        stmt = stmt.where(Submission.body_id.in_(list(body_ids)))
    drafts: dict[int, int] = {sid: bid for sid, bid in session.execute(stmt)}
    if not drafts:
        return []
    now = as_utc(now or utcnow())
    settled = []
    for body in body_deadlines(session=session, round_=round_, body_ids=list(drafts.values())):
        if body.submission_id is None or body.extension_running(now):
            continue
        at = min(body.closes_at, now)
        changed = session.execute(
            update(Submission)
            .where(Submission.id == body.submission_id, Submission.status == "draft")
            .values(
                status="submitted",
                submitted_at=at,
                submitted_by_id=None,
                updated_at=now,
                version=Submission.version + 1,
            )
            .execution_options(synchronize_session="fetch")
        )
        if not changed.rowcount:  # type: ignore[attr-defined]
            continue  # settled by a concurrent request
        webhook_events.submission_submitted(
            session,
            commission_id=round_.commission_id,
            round_id=round_.id,
            submission_id=body.submission_id,
            body_id=body.body_id,
            submitted_at=at,
            at_deadline=True,
        )
        record(
            session=session,
            actor=None,
            action="submission.submit_at_deadline",
            entity="submission",
            entity_id=body.submission_id,
            before={"status": "draft"},
            after={"status": "submitted", "submitted_at": at.isoformat(), "drafts_at_deadline": "submit"},
            commission_id=round_.commission_id,
            at=now,
        )
        settled.append(body.submission_id)
    return settled


def _ensure_ready_to_open(session: Session, round_: Round) -> None:
    invited = session.scalar(select(func.count()).where(Invitation.round_id == round_.id)) or 0
    if not invited:
        raise Conflict(
            "invite public bodies before opening the round",
            errors=[
                FieldProblem(
                    "status", "the round has no invitation", "Undang badan publik sebelum membuka pengisian."
                )
            ],
            indonesian="Periode belum dapat dibuka: belum ada badan publik yang diundang.",
        )
    missing = session.scalars(
        select(BodyCategory.code)
        .join(PublicBody, PublicBody.category_id == BodyCategory.id)
        .join(Invitation, Invitation.body_id == PublicBody.id)
        .where(
            Invitation.round_id == round_.id,
            ~exists().where(
                RoundTemplate.round_id == round_.id, RoundTemplate.category_id == BodyCategory.id
            ),
        )
        .distinct()
        .order_by(BodyCategory.code)
    ).all()
    if missing:
        raise Conflict(
            f"invited bodies of the categories {', '.join(missing)} have no SAQ template in this round",
            errors=[
                FieldProblem(
                    f"templates.{code}",
                    "no template for an invited category",
                    f"Tentukan SAQ untuk kategori {code}: ada badan publik kategori ini yang diundang.",
                )
                for code in missing
            ],
            indonesian="Periode belum dapat dibuka: tentukan dulu SAQ untuk kategori "
            f"{', '.join(missing)}, yang badan publiknya sudah diundang.",
        )


# --- templates per category ----------------------------------------------------------------------------


def round_templates(*, session: Session, round_: Round) -> list[tuple[BodyCategory, TemplateVersion]]:
    rows = session.execute(
        select(BodyCategory, TemplateVersion)
        .join(RoundTemplate, RoundTemplate.category_id == BodyCategory.id)
        .join(TemplateVersion, TemplateVersion.id == RoundTemplate.template_version_id)
        .where(RoundTemplate.round_id == round_.id)
        .order_by(BodyCategory.code)
    ).all()
    return [(category, version) for category, version in rows]


def set_templates(
    *, session: Session, round_: Round, mapping: Mapping[str, tuple[str, str]], by: Principal
) -> list[tuple[BodyCategory, TemplateVersion]]:
    """Say which template version each body category answers: ``{category_code: (key, version)}``
    replaces the round's whole mapping. The template must list the category in its ``body_categories``.
    A category whose bodies already started submissions on another version keeps its version (409)."""
    policy.ensure_admin(by, round_.commission_id)
    if round_.status not in TEMPLATES_EDITABLE:
        raise Conflict(
            f"the templates of a round that is {round_.status} no longer change",
            indonesian="SAQ per kategori tidak dapat diubah lagi pada tahap "
            f'"{STATUS_WORDS.get(round_.status)}".',
        )
    categories = categories_by_code(session=session, commission_id=round_.commission_id)
    problems = ProblemCollector()
    wanted: dict[int, TemplateVersion] = {}
    for code, (key, version) in mapping.items():
        category = categories.get(code)
        if category is None:
            problems.add(
                code,
                f"the commission has no body category {code!r}",
                f"Kategori {code} tidak ada di Komisi Informasi ini.",
            )
            continue
        row = session.scalar(
            select(TemplateVersion).where(TemplateVersion.key == key, TemplateVersion.version == version)
        )
        if row is None:
            problems.add(
                f"{code}.version",
                f"template {key} version {version} does not exist",
                f"SAQ {key} versi {version} tidak ada; pilih dari daftar.",
            )
        elif code not in (row.body_categories or []):
            problems.add(
                code,
                f"template {key} {version} is for {', '.join(row.body_categories)}, not for {code}",
                f"{row.title} ({version}) untuk kategori {', '.join(row.body_categories)}, bukan untuk "
                f"{category.name}.",
            )
        else:
            wanted[category.id] = row
    problems.raise_if_any(
        "some templates cannot be used for these categories", "Ada SAQ yang tidak cocok dengan kategorinya."
    )

    current = {
        rt.category_id: rt
        for rt in session.scalars(select(RoundTemplate).where(RoundTemplate.round_id == round_.id))
    }
    changed = {
        cid
        for cid in current.keys() | wanted.keys()
        if cid not in wanted or cid not in current or current[cid].template_version_id != wanted[cid].id
    }
    if changed:
        started = session.scalars(
            select(BodyCategory.code)
            .join(PublicBody, PublicBody.category_id == BodyCategory.id)
            .join(Submission, Submission.body_id == PublicBody.id)
            .where(Submission.round_id == round_.id, BodyCategory.id.in_(changed))
            .distinct()
            .order_by(BodyCategory.code)
        ).all()
        if started:
            raise Conflict(
                f"bodies of {', '.join(started)} have started their SAQ on the current template; it stays",
                errors=[
                    FieldProblem(
                        code,
                        "submissions already use the current version",
                        "Badan publik kategori ini sudah mulai mengisi SAQ yang sekarang; SAQ-nya tetap.",
                    )
                    for code in started
                ],
                indonesian=f"SAQ kategori {', '.join(started)} tidak dapat diganti: badan publiknya sudah "
                "mulai mengisi SAQ yang sekarang.",
            )
    before = {c.code: f"{v.key} {v.version}" for c, v in round_templates(session=session, round_=round_)}
    for cid in changed:
        if cid in current:
            session.delete(current[cid])
    session.flush()
    for cid in changed:
        if cid in wanted:
            session.add(
                RoundTemplate(round_id=round_.id, category_id=cid, template_version_id=wanted[cid].id)
            )
    session.flush()
    result = round_templates(session=session, round_=round_)
    after = {c.code: f"{v.key} {v.version}" for c, v in result}
    if before != after:
        record(
            session=session,
            actor=by,
            action="round.templates",
            entity="round",
            entity_id=round_.id,
            before=before,
            after=after,
            commission_id=round_.commission_id,
        )
    return result


# --- stages and weights --------------------------------------------------------------------------------


def stages_of(*, session: Session, round_: Round) -> list[Stage]:
    return list(
        session.scalars(select(Stage).where(Stage.round_id == round_.id).order_by(Stage.position, Stage.id))
    )


def set_stages(
    *,
    session: Session,
    round_: Round,
    saq_weight: Decimal,
    stages: Sequence[Mapping[str, Any]],
    by: Principal,
) -> list[Stage]:
    """Replace the round's later stages and weights. The SAQ weight and the stages' weights sum to exactly
    100 (SAQ 70 + presentation 30). Stage codes are unique; a stage that has panel scores stays (409)."""
    policy.ensure_admin(by, round_.commission_id)
    if round_.status not in STAGES_EDITABLE:
        raise Conflict(
            f"the stages of a round that is {round_.status} no longer change",
            errors=[
                FieldProblem(
                    "stages",
                    f"fixed once the round is {round_.status}",
                    f'Tidak dapat diubah lagi pada tahap "{STATUS_WORDS.get(round_.status)}".',
                )
            ],
            indonesian="Tahapan dan bobot tidak dapat diubah lagi pada tahap "
            f'"{STATUS_WORDS.get(round_.status)}".',
        )
    problems = ProblemCollector()
    seen: dict[str, int] = {}
    for index, stage in enumerate(stages):
        if stage["code"] in seen:
            problems.add(
                f"stages.{index}.code",
                f"the code {stage['code']!r} is already used by stages.{seen[stage['code']]}",
                f"Kode {stage['code']} dipakai dua kali; setiap tahap perlu kode sendiri.",
            )
        seen.setdefault(stage["code"], index)
    total = saq_weight + sum((Decimal(s["weight"]) for s in stages), Decimal(0))
    if total != 100:
        parts = " + ".join(
            [f"SAQ {saq_weight.normalize():f}"]
            + [f"{s['code']} {Decimal(s['weight']).normalize():f}" for s in stages]
        )
        words = f"{parts} = {total.normalize():f}".replace(".", ",")
        problems.add(
            "stages",
            f"the weights must sum to 100; {parts} = {total.normalize():f}",
            f"Jumlah bobot harus 100; sekarang {words}.",
        )
    problems.raise_if_any("the stages do not fit together", "Tahapan dan bobot belum benar.")

    existing = {s.code: s for s in stages_of(session=session, round_=round_)}
    scored = set(
        session.scalars(
            select(Stage.code).where(
                Stage.round_id == round_.id, exists().where(PanelScore.stage_id == Stage.id)
            )
        )
    )
    kept = {s["code"] for s in stages}
    locked = sorted(
        code
        for code in scored
        if code not in kept or existing[code].kind != next(s["kind"] for s in stages if s["code"] == code)
    )
    if locked:
        raise Conflict(
            f"the stages {', '.join(locked)} already have panel scores; they stay as they are",
            errors=[
                FieldProblem(
                    "stages",
                    f"{code} has panel scores",
                    f"Tahap {code} sudah memiliki nilai juri; tahap itu tidak dapat dihapus atau diganti "
                    "jenisnya.",
                )
                for code in locked
            ],
            indonesian=f"Tahap {', '.join(locked)} sudah memiliki nilai juri dan tetap seperti semula.",
        )
    before = {"saq_weight": str(round_.saq_weight), "stages": [_stage_snapshot(s) for s in existing.values()]}
    removed = [s.id for code, s in existing.items() if code not in kept]
    if removed:
        session.execute(delete(Stage).where(Stage.id.in_(removed)))
    for position, data in enumerate(stages, start=1):
        row = existing.get(data["code"])
        if row is None:
            row = Stage(round_id=round_.id, code=data["code"])
            session.add(row)
        row.kind = data["kind"]
        row.title = data["title"]
        row.weight = Decimal(data["weight"])
        row.aggregation = data.get("aggregation", "mean")
        row.position = position
    round_.saq_weight = saq_weight
    session.flush()
    result = stages_of(session=session, round_=round_)
    record(
        session=session,
        actor=by,
        action="round.stages",
        entity="round",
        entity_id=round_.id,
        before=before,
        after={"saq_weight": str(saq_weight), "stages": [_stage_snapshot(s) for s in result]},
        commission_id=round_.commission_id,
    )
    return result


def _stage_snapshot(stage: Stage) -> dict[str, Any]:
    return {"code": stage.code, "kind": stage.kind, "title": stage.title, "weight": str(stage.weight)}


# --- invitations ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InviteOutcome:
    invited: list[int]
    already_invited: int


def invite(
    *,
    session: Session,
    round_: Round,
    body_ids: Sequence[int] | None,
    category_codes: Sequence[str] | None,
    by: Principal,
) -> InviteOutcome:
    """Invite bodies by id, or every active body of some categories. Bodies already invited stay invited
    and are counted apart; an unknown, foreign or inactive body or an unknown category is a 422 naming it."""
    policy.ensure_admin(by, round_.commission_id)
    if (body_ids is None) == (category_codes is None):
        raise InvalidInput(
            "send either body_ids or category_codes",
            errors=[
                FieldProblem(
                    "body_ids",
                    "give body_ids or category_codes, not both nor neither",
                    "Pilih badan publik atau kategori yang diundang (salah satu).",
                )
            ],
            indonesian="Pilih badan publik atau kategori yang diundang (salah satu).",
        )
    if round_.status not in INVITATIONS_OPEN:
        raise Conflict(
            f"a round that is {round_.status} takes no new invitations",
            indonesian=(
                f"Undangan baru tidak dapat ditambahkan: periode {round_.title} sudah berstatus "
                f"{STATUS_WORDS.get(round_.status, round_.status)}."
            ),
        )
    problems = ProblemCollector()
    if body_ids is not None:
        wanted = list(dict.fromkeys(body_ids))
        found = {
            b.id: b
            for b in session.scalars(
                select(PublicBody).where(
                    PublicBody.id.in_(wanted), PublicBody.commission_id == round_.commission_id
                )
            )
        }
        for index, body_id in enumerate(body_ids):
            body = found.get(body_id)
            if body is None:
                problems.add(
                    f"body_ids.{index}",
                    f"body {body_id} is not a body of this commission",
                    "Badan publik ini bukan badan publik Komisi Informasi ini.",
                )
            elif not body.active:
                problems.add(f"body_ids.{index}", f"{body.name} is not active", f"{body.name} tidak aktif.")
        problems.raise_if_any("some bodies cannot be invited", "Beberapa badan publik tidak dapat diundang.")
    else:
        assert category_codes is not None
        categories = categories_by_code(session=session, commission_id=round_.commission_id)
        for index, code in enumerate(category_codes):
            if code not in categories:
                problems.add(
                    f"category_codes.{index}",
                    f"the commission has no body category {code!r}",
                    f"Kategori {code} tidak ada di Komisi Informasi ini.",
                )
        problems.raise_if_any("some categories do not exist", "Beberapa kategori tidak ada.")
        wanted = list(
            session.scalars(
                select(PublicBody.id)
                .where(
                    PublicBody.category_id.in_([categories[c].id for c in category_codes]),
                    PublicBody.active.is_(True),
                )
                .order_by(PublicBody.id)
            )
        )
    already = set(session.scalars(select(Invitation.body_id).where(Invitation.round_id == round_.id)))
    new = [body_id for body_id in wanted if body_id not in already]
    session.add_all(Invitation(round_id=round_.id, body_id=body_id) for body_id in new)
    session.flush()
    if new and round_.status == "open":
        season_mail.round_opened(session, round_=round_, body_ids=new)
    if new:
        record(
            session=session,
            actor=by,
            action="round.invite",
            entity="round",
            entity_id=round_.id,
            after={"body_ids": new},
            commission_id=round_.commission_id,
        )
    return InviteOutcome(invited=new, already_invited=len(wanted) - len(new))


def invitations_query(*, round_: Round, category: str | None, by: Principal) -> Select[PublicBody, datetime]:
    """The round's invited bodies the principal may see, with the time of invitation."""
    policy.ensure_member(by, round_.commission_id)
    stmt = (
        select(PublicBody, Invitation.created_at)
        .join(Invitation, Invitation.body_id == PublicBody.id)
        .where(
            Invitation.round_id == round_.id,
            policy.visible_bodies(by, round_.commission_id, round_id=round_.id),
        )
    )
    if category is not None:
        stmt = stmt.join(BodyCategory, BodyCategory.id == PublicBody.category_id).where(
            BodyCategory.code == category
        )
    return stmt


# --- deadline extensions -------------------------------------------------------------------------------


def add_extension(
    *,
    session: Session,
    round_: Round,
    closes_at: datetime,
    scope: str,
    category_codes: Sequence[str],
    body_ids: Sequence[int],
    reason: str,
    by: Principal,
) -> DeadlineExtension:
    """Record a plenary decision moving the SAQ deadline to ``closes_at`` for the whole round
    (``scope="round"``), some categories or some invited bodies. It must end after the round's own close;
    the reason is kept with who decided. Extensions are never edited; for a body the latest one counts."""
    policy.ensure_admin(by, round_.commission_id)
    if round_.status not in EXTENSIONS_OPEN:
        closed = (
            "Perpanjangan batas waktu hanya dapat dicatat selama periode masih draf atau pengisian SAQ "
            "masih dibuka."
        )
        raise Conflict(
            f"a round that is {round_.status} takes no deadline extension",
            errors=[FieldProblem("closes_at", f"the round is {round_.status}", closed)],
            indonesian=closed,
        )
    timezone = timezone_of(session=session, round_=round_)
    problems = ProblemCollector()
    if scope not in EXTENSION_SCOPES:
        problems.add(
            "scope",
            f"unknown scope {scope!r}; one of {', '.join(EXTENSION_SCOPES)}",
            "Pilih untuk siapa perpanjangan berlaku: seluruh periode, kategori tertentu atau badan publik "
            "tertentu.",
        )
    closes_at = as_utc(closes_at)
    if closes_at <= as_utc(round_.saq_closes_at):
        problems.add(
            "closes_at",
            f"an extension ends after the round's own close ({format_local(round_.saq_closes_at, timezone)})",
            "Batas waktu baru harus setelah batas waktu semula "
            f"({format_words(round_.saq_closes_at, timezone)}).",
        )
    if round_.objection_opens_at is not None and closes_at > as_utc(round_.objection_opens_at):
        problems.add(
            "closes_at",
            "must end by the opening of the objection window "
            f"({format_local(round_.objection_opens_at, timezone)})",
            "Batas waktu baru harus sebelum masa sanggah dibuka "
            f"({format_words(round_.objection_opens_at, timezone)}); ubah dulu jadwal masa sanggah.",
        )
    category_ids: list[int] = []
    if scope == "categories":
        if not category_codes:
            problems.add(
                "category_codes",
                "name at least one category for scope 'categories'",
                "Pilih minimal satu kategori.",
            )
        categories = categories_by_code(session=session, commission_id=round_.commission_id)
        for index, code in enumerate(category_codes):
            if code in categories:
                category_ids.append(categories[code].id)
            else:
                problems.add(
                    f"category_codes.{index}",
                    f"the commission has no body category {code!r}",
                    f"Komisi ini tidak memiliki kategori berkode {code}.",
                )
    elif category_codes:
        problems.add(
            "category_codes",
            f"only for scope 'categories', not {scope!r}",
            "Kategori dicentang, tetapi perpanjangan tidak berlaku untuk kategori tertentu: pilih "
            '"Kategori tertentu" atau hapus centang kategorinya.',
        )
    if scope == "bodies":
        if not body_ids:
            problems.add(
                "body_ids",
                "name at least one body for scope 'bodies'",
                "Pilih minimal satu badan publik: cari namanya lalu centang.",
            )
        invited = set(
            session.scalars(
                select(Invitation.body_id).where(
                    Invitation.round_id == round_.id, Invitation.body_id.in_(body_ids)
                )
            )
        )
        names: dict[int, str] = {
            body_id: name
            for body_id, name in session.execute(
                select(PublicBody.id, PublicBody.name).where(
                    PublicBody.id.in_(set(body_ids) - invited),
                    PublicBody.commission_id == round_.commission_id,
                )
            )
        }
        for index, body_id in enumerate(body_ids):
            if body_id not in invited:
                problems.add(
                    f"body_ids.{index}",
                    f"body {body_id} is not invited to this round",
                    f"{names[body_id]} tidak diundang ke periode ini."
                    if body_id in names
                    else "Badan publik yang dipilih tidak ada di Komisi ini.",
                )
    elif body_ids:
        problems.add(
            "body_ids",
            f"only for scope 'bodies', not {scope!r}",
            "Badan publik dipilih, tetapi perpanjangan tidak berlaku untuk badan publik tertentu: pilih "
            '"Badan publik tertentu" atau hapus centang badan publiknya.',
        )
    problems.raise_if_any(
        "the extension cannot be recorded", "Perpanjangan belum dapat dicatat: periksa isian yang ditandai."
    )
    extension = _record_extension(
        session,
        round_,
        closes_at=closes_at,
        scope=scope,
        category_ids=sorted(set(category_ids)),
        category_codes=list(category_codes),
        body_ids=sorted(set(body_ids)) if scope == "bodies" else [],
        reason=reason,
        by=by,
    )
    season_mail.extension_granted(session, round_=round_, extension=extension)
    return extension


def _record_extension(
    session: Session,
    round_: Round,
    *,
    closes_at: datetime,
    scope: str,
    category_ids: list[int],
    category_codes: list[str],
    body_ids: list[int],
    reason: str,
    by: Principal,
) -> DeadlineExtension:
    extension = DeadlineExtension(
        round_id=round_.id,
        closes_at=closes_at,
        scope=scope,
        category_ids=category_ids,
        body_ids=body_ids,
        reason=reason,
        decided_by_id=by.account_id,
    )
    session.add(extension)
    session.flush()
    record(
        session=session,
        actor=by,
        action="deadline.extend",
        entity="round",
        entity_id=round_.id,
        before={"saq_closes_at": as_utc(round_.saq_closes_at).isoformat()},
        after={
            "extension_id": extension.id,
            "closes_at": closes_at.isoformat(),
            "scope": scope,
            "category_codes": category_codes,
            "body_ids": body_ids,
            "reason": reason,
        },
        commission_id=round_.commission_id,
    )
    return extension


def extensions_query(*, session: Session, round_: Round, by: Principal) -> Select[Any]:
    """The round's deadline extensions the principal may see: every one for the commission's staff; for a
    public body's PPID operator (or body API key) only those that apply to its body (round-wide, for its
    category, or naming it), so nothing of another body's extension (its reason, who decided it) shows."""
    policy.ensure_member(by, round_.commission_id)
    stmt = select(DeadlineExtension).where(DeadlineExtension.round_id == round_.id)
    if not policy.sees_only_own_body(by):
        return stmt
    body = session.get(PublicBody, by.body_id) if by.body_id is not None else None
    if body is None:
        return stmt.where(false())
    rows = session.execute(
        select(_E.id, _E.scope, _E.category_ids, _E.body_ids).where(_E.round_id == round_.id)
    ).all()
    covering = [
        row.id
        for row in rows
        if _covers(row.scope, row.category_ids, row.body_ids, category_id=body.category_id, body_id=body.id)
    ]
    return stmt.where(DeadlineExtension.id.in_(covering))


def extension_body_ids(extension: DeadlineExtension, *, by: Principal) -> list[int]:
    """The bodies an extension names, as the principal may see them: a body's operator sees only its own."""
    named = list(extension.body_ids or [])
    return [i for i in named if i == by.body_id] if policy.sees_only_own_body(by) else named


def extend_for_body(
    *, session: Session, round_: Round, body: PublicBody, closes_at: datetime, reason: str, by: Principal
) -> DeadlineExtension:
    """A new deadline for one body, recorded as a deadline extension (scope ``bodies``) with its reason, in
    any status in which the body may still be let back in (see :func:`app.submissions.reopen.reopen`,
    which checks that and the instant). Audited like every extension (``deadline.extend``)."""
    policy.ensure_admin(by, round_.commission_id)
    extension = _record_extension(
        session,
        round_,
        closes_at=as_utc(closes_at),
        scope="bodies",
        category_ids=[],
        category_codes=[],
        body_ids=[body.id],
        reason=reason,
        by=by,
    )
    season_mail.extension_granted(session, round_=round_, extension=extension, reopened=True)
    return extension
