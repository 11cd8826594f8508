"""One error hierarchy for the domain, and its one mapping to RFC 9457 problem+json.

Domain code raises these; it knows nothing of HTTP beyond the status each kind carries. Anything else that
escapes is a bug and becomes a 500 (logged), never disguised as a client error.

Every error speaks twice: ``detail`` and each problem's ``message`` in English, for the API, and
``indonesian``, the sentence the pages show to the people who use them. Pages never show the English.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

PROBLEM_BASE = "https://emonev.example/problems/"


@dataclass(frozen=True)
class FieldProblem:
    """One offending field: where it is (a JSON-pointer-like path) and why it is wrong."""

    field: str
    message: str
    indonesian: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


MAX_LISTED_PROBLEMS = 100
"""An error lists at most this many problems, then one "and N more problems" entry: a hostile input with a
million faults gets a small answer (and the pages a short list)."""


@dataclass(frozen=True)
class MoreProblems(FieldProblem):
    """The last entry of a capped list: how many problems were not listed."""

    count: int = 0


def more_problems(count: int) -> MoreProblems:
    return MoreProblems("", f"and {count} more problems", f"dan {count} masalah lainnya", count)


def capped(errors: Sequence[FieldProblem]) -> list[FieldProblem]:
    """The first ``MAX_LISTED_PROBLEMS`` problems and, when there were more, one entry counting the rest
    (entries that count problems left out earlier are added up, not listed)."""
    listed: list[FieldProblem] = []
    omitted = 0
    for problem in errors:
        if isinstance(problem, MoreProblems):
            omitted += problem.count
        elif len(listed) < MAX_LISTED_PROBLEMS:
            listed.append(problem)
        else:
            omitted += 1
    return [*listed, more_problems(omitted)] if omitted else listed


class EmonevError(Exception):
    status: ClassVar[int] = 400
    type_slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[FieldProblem] = (),
        indonesian: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = capped(errors)
        self.indonesian = indonesian
        self.extra = extra

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.type_slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        body.update(self.extra)
        return body


class InvalidInput(EmonevError):
    status = 422
    type_slug = "invalid-input"
    title = "Invalid input"


class NotFound(EmonevError):
    status = 404
    type_slug = "not-found"
    title = "Not found"


class Unauthenticated(EmonevError):
    status = 401
    type_slug = "unauthenticated"
    title = "Authentication required"


class Forbidden(EmonevError):
    status = 403
    type_slug = "forbidden"
    title = "Forbidden"


class Conflict(EmonevError):
    status = 409
    type_slug = "conflict"
    title = "Conflict"


class TooLargeAtOnce(Conflict):
    """An export too large to make within a request: the answer names the job that makes it instead."""

    type_slug = "too-large-at-once"
    title = "Too large to make at once: ask for it as a job"


class StaleVersion(EmonevError):
    status = 412
    type_slug = "stale-version"
    title = "The resource changed since you read it"


class SubmissionIncomplete(Conflict):
    """A submit of an SAQ with unanswered questions or missing required evidence that was not acknowledged
    with the counts as they stand now."""

    type_slug = "submission-incomplete"
    title = "The submission is incomplete"


class PreconditionRequired(EmonevError):
    status = 428
    type_slug = "precondition-required"
    title = "If-Match header required"


class WindowClosed(EmonevError):
    status = 409
    type_slug = "window-closed"
    title = "The window for this action is closed"


class PayloadTooLarge(EmonevError):
    status = 413
    type_slug = "payload-too-large"
    title = "Payload too large"


class UnsupportedMedia(EmonevError):
    status = 415
    type_slug = "unsupported-media-type"
    title = "Unsupported media type"


@dataclass
class ProblemCollector:
    """Gathers every problem in an input before raising, so a user fixes all of them in one go."""

    problems: list[FieldProblem] = field(default_factory=list)

    def add(self, field_: str, message: str, indonesian: str | None = None) -> None:
        self.problems.append(FieldProblem(field_, message, indonesian))

    def raise_if_any(self, detail: str, indonesian: str | None = None) -> None:
        if self.problems:
            raise InvalidInput(detail, errors=self.problems, indonesian=indonesian)


class ServiceUnavailable(EmonevError):
    """The database cannot serve the request now (unreachable, too slow, every connection busy): try again
    after ``retry_after`` seconds."""

    status = 503
    type_slug = "service-unavailable"
    title = "Service unavailable"

    def __init__(self, detail: str, *, retry_after: int, indonesian: str) -> None:
        super().__init__(detail, indonesian=indonesian)
        self.retry_after = retry_after


class BodyReadTimeout(EmonevError):
    """The client stopped sending its request body."""

    status = 408
    type_slug = "request-timeout"
    title = "Request timeout"
