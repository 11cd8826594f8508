"""Rounds: the SAQ window and its extensions, templates per category, invitations, status and stages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any

from sqlalchemy import Select, bindparam, delete, exists, func, select
from sqlalchemy.orm import Session

from app.accounts import policy
from app.accounts.principal import Principal
from app.audit.service import record
from app.commissions.service import categories_by_code, commission_timezone
from app.commissions.timezones import as_utc, format_local, format_words
from app.db.models import (
    BodyCategory,
    Commission,
    DeadlineExtension,
    Invitation,
    PanelScore,
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

DEADLINE_PATTERN = "%d-%m-%Y %H:%M"


@dataclass(frozen=True)
class Window:
    """Whether and until when one body may fill in its SAQ in one round: what the window rules decide on."""

    round_title: str
    round_status: str
    opens_at: datetime
    closes_at: datetime  # the round's own close or the latest extension covering the body, whichever is later
    timezone: str  # the commission's, for the deadline in messages
    body_name: str
    invited: bool  # invited, and a body of the round's commission

    def ensure_open(self, now: datetime) -> None:
        """Refuse unless the body may fill in its SAQ at ``now``: it is invited (else Forbidden), the round
        is ``open`` and ``opens_at <= now < closes_at`` (else WindowClosed, giving the deadline in the
        commission's local time)."""
        if not self.invited:
            raise Forbidden(f"{self.body_name} is not invited to round {self.round_title}")
        if self.round_status != "open":
            raise WindowClosed(
                f"the SAQ window of round {self.round_title} is not open (round status: {self.round_status})",
                round_status=self.round_status,
            )
        now = as_utc(now)
        if now < self.opens_at:
            raise WindowClosed(
                "the SAQ window opens on "
                f"{format_local(self.opens_at, self.timezone, pattern=DEADLINE_PATTERN)}",
                opens_at=self.opens_at.isoformat(),
            )
        if now >= self.closes_at:
            raise WindowClosed(
                "the SAQ window closed on "
                f"{format_local(self.closes_at, self.timezone, pattern=DEADLINE_PATTERN)}",
                closes_at=self.closes_at.isoformat(),
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


_R = Round.__table__.c
_B = PublicBody.__table__.c
_E = DeadlineExtension.__table__.c
_C = Commission.__table__.c
_I = Invitation.__table__.c


# Built once: constructing a select costs several times more CPU than running it, and every save asks.
_WINDOW = (
    select(
        _R.title,
        _R.status,
        _R.saq_opens_at,
        _R.saq_closes_at,
        _C.timezone,
        _B.name,
        _B.category_id,
        (_B.commission_id == _R.commission_id) & exists().where(_I.round_id == _R.id, _I.body_id == _B.id),
        _E.closes_at,
        _E.scope,
        _E.category_ids,
        _E.body_ids,
    )
    .select_from(
        Round.__table__.join(Commission.__table__, _C.id == _R.commission_id)
        .join(PublicBody.__table__, _B.id == bindparam("body_id"))
        .outerjoin(DeadlineExtension.__table__, _E.round_id == _R.id)
    )
    .where(_R.id == bindparam("round_id"))
)


def window_for(*, session: Session, round_id: int, body_id: int) -> Window:
    """The SAQ window of one body in one round, in one query (a row per extension of the round)."""
    rows = session.execute(_WINDOW, {"round_id": round_id, "body_id": body_id}).all()
    if not rows:
        raise NotFound(f"round {round_id} or public body {body_id} does not exist")
    first = rows[0]
    closes = [as_utc(first.saq_closes_at)]
    closes += [
        as_utc(row.closes_at)
        for row in rows
        if row.scope is not None
        and _covers(row.scope, row.category_ids, row.body_ids, category_id=first.category_id, body_id=body_id)
    ]
    return Window(
        round_title=first.title,
        round_status=first.status,
        opens_at=as_utc(first.saq_opens_at),
        closes_at=max(closes),
        timezone=first.timezone,
        body_name=first.name,
        invited=bool(first[7]),
    )


def effective_closes_at(*, session: Session, round_: Round, body: PublicBody) -> datetime:
    """The instant (aware, UTC) the SAQ window closes for this body: the latest of the round's own close
    and every extension covering the body."""
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
            f"round {round_.title} has no SAQ template for the category {body.category.code!r} yet"
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


def get_round(*, session: Session, round_id: int, by: Principal) -> Round:
    """The round, if the principal belongs to its commission."""
    round_ = session.get(Round, round_id)
    if round_ is None:
        raise NotFound(f"round {round_id} does not exist")
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
    )
    return {k: plain(getattr(round_, k)) for k in keys}


def _check_dates(values: Mapping[str, Any], timezone: str) -> None:
    problems = ProblemCollector()
    opens, closes = values["saq_opens_at"], values["saq_closes_at"]
    if as_utc(closes) <= as_utc(opens):
        problems.add("saq_closes_at", f"must be after saq_opens_at ({format_local(opens, timezone)})")
    obj_opens, obj_closes = values.get("objection_opens_at"), values.get("objection_closes_at")
    if (obj_opens is None) != (obj_closes is None):
        missing = "objection_closes_at" if obj_closes is None else "objection_opens_at"
        problems.add(missing, "give both ends of the objection window, or neither")
    if obj_opens is not None and obj_closes is not None:
        if as_utc(obj_closes) <= as_utc(obj_opens):
            problems.add("objection_closes_at", "must be after objection_opens_at")
        if as_utc(obj_opens) < as_utc(closes):
            problems.add(
                "objection_opens_at",
                f"must come after the SAQ window, which closes {format_local(closes, timezone)}",
            )
    problems.raise_if_any("the round's dates do not fit together")


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
            errors=[FieldProblem("title", "already used by another round of the same year")],
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


NOT_NULL = ("year", "title", "saq_opens_at", "saq_closes_at", "missing_stage_policy")


def update_round(*, session: Session, round_: Round, changes: Mapping[str, Any], by: Principal) -> Round:
    """Change a round's title, year, dates, gate or missing-stage policy.

    The SAQ window itself changes only while the round is a draft; once it is open a deadline moves only by
    a recorded extension. The gate, the missing-stage policy and the objection dates change until the
    round is final."""
    policy.ensure_admin(by, round_.commission_id)
    nulls = [FieldProblem(k, "may not be null") for k in NOT_NULL if k in changes and changes[k] is None]
    if nulls:
        raise InvalidInput("some fields may not be null", errors=nulls)
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
            errors=[FieldProblem(k, "fixed once the round is open") for k in sorted(window)],
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
                FieldProblem(k, f"fixed once the round is {round_.status}")
                for k in sorted(rules & changes.keys())
            ],
        )
    timezone = timezone_of(session=session, round_=round_)
    merged = {k: getattr(round_, k) for k in INSTANT_FIELDS} | {
        k: v for k, v in changes.items() if k in INSTANT_FIELDS
    }
    _check_dates(merged, timezone)
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
                errors=[FieldProblem("title", "already used by another round of the same year")],
            )
    if not changes:
        return round_
    before = _round_snapshot(round_)
    for key, value in changes.items():
        setattr(round_, key, as_utc(value) if isinstance(value, datetime) else value)
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


def change_status(*, session: Session, round_: Round, to: str, by: Principal) -> Round:
    """Move a round one step along draft -> open -> closed -> verification -> objection -> stages -> final
    -> published; anything else is a 409 naming the one legal next status. Opening needs at least one
    invitation and a template for the category of every invited body."""
    policy.ensure_admin(by, round_.commission_id)
    current = round_.status
    if NEXT_STATUS.get(current) != to:
        following = NEXT_STATUS.get(current)
        hint = f"the next status is {following!r}" if following else "it is the last status"
        raise Conflict(
            f"a round that is {current} cannot become {to}: {hint}",
            errors=[FieldProblem("status", f"not a legal transition from {current}")],
            allowed=[following] if following else [],
        )
    if to == "open":
        _ensure_ready_to_open(session, round_)
    round_.status = to
    session.flush()
    record(
        session=session,
        actor=by,
        action="round.status",
        entity="round",
        entity_id=round_.id,
        before={"status": current},
        after={"status": to},
        commission_id=round_.commission_id,
    )
    return round_


def request_status(*, session: Session, round_: Round, to: str, by: Principal) -> Round:
    """A status change asked for through ``POST /rounds/{id}/status``: every step except publication, which
    only the publication service makes (it freezes the results as it publishes them)."""
    if to == "published" and NEXT_STATUS.get(round_.status) == "published":
        raise Conflict(
            "a round is published by publishing its results, which freezes them; not by setting its status",
            errors=[FieldProblem("status", "set by the publication of the results")],
        )
    return change_status(session=session, round_=round_, to=to, by=by)


def _ensure_ready_to_open(session: Session, round_: Round) -> None:
    invited = session.scalar(select(func.count()).where(Invitation.round_id == round_.id)) or 0
    if not invited:
        raise Conflict(
            "invite public bodies before opening the round",
            errors=[FieldProblem("status", "the round has no invitation")],
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
                FieldProblem(f"templates.{code}", "no template for an invited category") for code in missing
            ],
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
        raise Conflict(f"the templates of a round that is {round_.status} no longer change")
    categories = categories_by_code(session=session, commission_id=round_.commission_id)
    problems = ProblemCollector()
    wanted: dict[int, TemplateVersion] = {}
    for code, (key, version) in mapping.items():
        category = categories.get(code)
        if category is None:
            problems.add(code, f"the commission has no body category {code!r}")
            continue
        row = session.scalar(
            select(TemplateVersion).where(TemplateVersion.key == key, TemplateVersion.version == version)
        )
        if row is None:
            problems.add(f"{code}.version", f"template {key} version {version} does not exist")
        elif code not in (row.body_categories or []):
            problems.add(
                code,
                f"template {key} {version} is for {', '.join(row.body_categories)}, not for {code}",
            )
        else:
            wanted[category.id] = row
    problems.raise_if_any("some templates cannot be used for these categories")

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
                    FieldProblem(code, "submissions already use the current version") for code in started
                ],
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
            errors=[FieldProblem("stages", f"fixed once the round is {round_.status}")],
        )
    problems = ProblemCollector()
    seen: dict[str, int] = {}
    for index, stage in enumerate(stages):
        if stage["code"] in seen:
            problems.add(
                f"stages.{index}.code",
                f"the code {stage['code']!r} is already used by stages.{seen[stage['code']]}",
            )
        seen.setdefault(stage["code"], index)
    total = saq_weight + sum((Decimal(s["weight"]) for s in stages), Decimal(0))
    if total != 100:
        parts = " + ".join(
            [f"SAQ {saq_weight.normalize():f}"]
            + [f"{s['code']} {Decimal(s['weight']).normalize():f}" for s in stages]
        )
        problems.add("stages", f"the weights must sum to 100; {parts} = {total.normalize():f}")
    problems.raise_if_any("the stages do not fit together")

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
            errors=[FieldProblem("stages", f"{code} has panel scores") for code in locked],
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
            errors=[FieldProblem("body_ids", "give body_ids or category_codes, not both nor neither")],
        )
    if round_.status not in INVITATIONS_OPEN:
        raise Conflict(f"a round that is {round_.status} takes no new invitations")
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
                problems.add(f"body_ids.{index}", f"body {body_id} is not a body of this commission")
            elif not body.active:
                problems.add(f"body_ids.{index}", f"{body.name} is not active")
        problems.raise_if_any("some bodies cannot be invited")
    else:
        assert category_codes is not None
        categories = categories_by_code(session=session, commission_id=round_.commission_id)
        for index, code in enumerate(category_codes):
            if code not in categories:
                problems.add(f"category_codes.{index}", f"the commission has no body category {code!r}")
        problems.raise_if_any("some categories do not exist")
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
    extension = DeadlineExtension(
        round_id=round_.id,
        closes_at=closes_at,
        scope=scope,
        category_ids=sorted(set(category_ids)),
        body_ids=sorted(set(body_ids)) if scope == "bodies" else [],
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
            "category_codes": list(category_codes),
            "body_ids": extension.body_ids,
            "reason": reason,
        },
        commission_id=round_.commission_id,
    )
    return extension


def extensions_query(*, round_: Round, by: Principal) -> Select[Any]:
    policy.ensure_member(by, round_.commission_id)
    return select(DeadlineExtension).where(DeadlineExtension.round_id == round_.id)
