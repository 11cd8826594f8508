"""The notices' words: Jinja2 templates in ``app/mail/templates``, one set per event.

Each event has ``<event>.subject.txt`` (one line), ``<event>.txt`` and ``<event>.html``; the two bodies extend
``_base.txt`` and ``_base.html`` (greeting, the commission's signature, the footer). Rendering is pure: the
notice's frozen context, the commission as it is now and the links made at sending time, in; words out.
Dates are written in the commission's time zone ("31 Agustus 2025 pukul 23.59 WIB").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import jinja2

from app.commissions.timezones import format_words


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Sender:
    """The commission a notice speaks for, as it is when the notice is sent."""

    name: str
    signature: str
    timezone: str
    reply_to: str | None = None


def default_signature(commission_name: str) -> str:
    return f"Sekretariat {commission_name}"


def _when(value: str | datetime | None, timezone: str, with_time: bool = True) -> str:
    if value is None or value == "":
        return "-"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return format_words(moment, timezone, with_time=with_time)


def _score(value: str | Decimal | None) -> str:
    """A score as the pages write it: two decimals with a comma ("87,50")."""
    if value is None or value == "":
        return "-"
    return f"{Decimal(value):.2f}".replace(".", ",")


@lru_cache(maxsize=2)
def _environment(html: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("app.mail", "templates"),
        autoescape=html,  # noqa: S701 - the plain-text bodies are not HTML; the HTML ones escape
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Templates ship with the code: no look at the files' times on every message.
        auto_reload=False,
    )
    env.filters["score"] = _score
    return env


def render_subject(event: str, context: dict[str, Any]) -> str:
    """The subject line (from the frozen context alone: it is shown on the secretariat's pages)."""
    template = _environment(False).get_template(f"{event}.subject.txt")
    return " ".join(template.render(**context).split())


def render(
    event: str, context: dict[str, Any], *, sender: Sender, links: dict[str, str], optional: bool = False
) -> Rendered:
    """The whole message. ``links`` are absolute URLs made at sending time (``base_url`` + paths, the
    single-use links); ``optional`` adds the unsubscribe line to the footer."""

    def when(value: str | datetime | None, with_time: bool = True) -> str:
        return _when(value, sender.timezone, with_time)

    values = {
        **context,
        "sender": sender,
        "links": links,
        "optional": optional,
        "when": when,
    }
    return Rendered(
        subject=render_subject(event, context),
        text=_environment(False).get_template(f"{event}.txt").render(**values),
        html=_environment(True).get_template(f"{event}.html").render(**values),
    )
