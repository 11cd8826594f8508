"""The body picker: a page form's way to choose bodies by name, category and region instead of numbers.

It works without JavaScript. The picker sits inside a page's POST form (``_bodies.html``'s ``body_picker``
macro): the bodies chosen so far are ticked checkboxes named after the form's field (``body_ids``), and a
"Cari" button submits the whole form with ``_cari`` set. The form's handler hands that submission to
:func:`search_again` before reading anything else: it answers with a redirect to the page with the search
(``cari``, ``cari_kategori``, ``cari_wilayah``), the chosen bodies (``pilih``) and what was typed in the
other fields in the query, so nothing is written, no CSRF token lands in a URL and the page can be reloaded.
The page then builds the picker with :func:`body_picker`: the chosen bodies by name, and the matches (by
name order, at most ``LIMIT``) as unticked checkboxes. ``app.js`` enhances it: matches appear as one types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.accounts.principal import Principal
from app.bodies import service as bodies
from app.db.models import BodyCategory, Commission, PublicBody
from app.errors import InvalidInput
from app.inputs import parse_digits
from app.web.forms import state_of

SEARCH_BUTTON = "_cari"
QUERY = "cari"
CATEGORY = "cari_kategori"
REGION = "cari_wilayah"
CHOSEN = "pilih"
LIMIT = 20
MAX_CHOSEN = 1000
SEARCH_PROBLEM = "Pencarian ini tidak dapat dijalankan: periksa isiannya."


@dataclass(frozen=True)
class BodyPicker:
    """What the ``body_picker`` macro shows: the search as typed, the chosen bodies and the matches."""

    form: str
    name: str
    query: str
    category: str
    region: str
    categories: Sequence[BodyCategory]
    chosen: list[PublicBody]
    found: bodies.BodySearch | None
    problem: str | None = None

    @property
    def chosen_ids(self) -> set[int]:
        return {body.id for body in self.chosen}

    @property
    def matches(self) -> list[PublicBody]:
        """The matches not chosen yet (the chosen ones are listed apart, ticked)."""
        chosen = self.chosen_ids
        return [body for body in self.found.bodies if body.id not in chosen] if self.found else []


def _ids(values: Sequence[str]) -> list[int]:
    found = (parse_digits(value.strip()) for value in values[:MAX_CHOSEN])
    return list(dict.fromkeys(i for i in found if i is not None))


def body_picker(
    request: Request,
    session: Session,
    *,
    form: str,
    name: str,
    commission: Commission,
    categories: Sequence[BodyCategory],
    by: Principal,
    round_id: int | None = None,
) -> BodyPicker:
    """The picker of the page's form ``form`` (input ``name``): its search from the query string, its chosen
    bodies from the query (``pilih``) or, when the form came back refused, from what was ticked."""
    params = request.query_params
    state = state_of(request)
    if state is not None and state.form == form:
        chosen_ids = _ids(state.value_list(name))
        query, category, region = (state.value(key) or "" for key in (QUERY, CATEGORY, REGION))
    else:
        chosen_ids = _ids(params.getlist(CHOSEN))
        query, category, region = (params.get(key, "") for key in (QUERY, CATEGORY, REGION))
    query, category, region = query.strip()[:200], category.strip()[:64], region.strip()[:200]
    named = bodies.named_bodies(session=session, commission_id=commission.id, body_ids=chosen_ids, by=by)
    chosen = [named[i] for i in chosen_ids if i in named]
    searched = QUERY in params or CATEGORY in params or REGION in params
    found: bodies.BodySearch | None = None
    problem: str | None = None
    if searched:
        filters = bodies.BodyFilters(
            q=query or None,
            category=category or None,
            region=region or None,
            round_id=round_id,
        )
        try:
            found = bodies.search_bodies(
                session=session, commission=commission, filters=filters, by=by, limit=LIMIT
            )
        except InvalidInput as exc:
            problem = next((p.indonesian for p in exc.errors if p.indonesian), SEARCH_PROBLEM)
    return BodyPicker(
        form=form,
        name=name,
        query=query,
        category=category,
        region=region,
        categories=categories,
        chosen=chosen,
        found=found,
        problem=problem,
    )


def search_again(
    form: FormData,
    *,
    page: str,
    name: str,
    keep: Sequence[str] = (),
    extra: Mapping[str, str] | None = None,
) -> RedirectResponse | None:
    """When the form was sent with the picker's "Cari" button: the redirect to ``page`` with the search,
    the bodies ticked in input ``name``, the fields ``keep`` (what was typed elsewhere in the form) and
    ``extra`` fields; None for an ordinary submission."""
    if SEARCH_BUTTON not in form:
        return None
    pairs: list[tuple[str, str]] = [
        (key, str(form.get(key) or "").strip()) for key in (QUERY, CATEGORY, REGION)
    ]
    pairs += [(CHOSEN, str(i)) for i in _ids([str(v) for v in form.getlist(name)])]
    for key in keep:
        pairs += [(key, str(value)) for value in form.getlist(key) if str(value)]
    pairs += list((extra or {}).items())
    base, _, anchor = page.partition("#")
    return RedirectResponse(f"{base}?{urlencode(pairs)}{'#' + anchor if anchor else ''}", status_code=303)
