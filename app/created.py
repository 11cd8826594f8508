"""``201 Created`` answers, alike for every operation that creates something.

The rule: an operation that creates a resource answers ``201 Created`` with a ``Location`` header holding the
path of the new resource's GET route, or, where a resource has no GET of its own (API keys, categories,
deadline extensions, objections, panel scores, publications), of the nearest list that shows it. An operation
that may create several resources at once (invitations, spreading verifier assignments, a body import that is
not a dry run) answers 201 with the list's path when it created at least one, and 200 when it created none.
An operation that finds the resource already there (opening a submission or a verification again, the same
template uploaded again, a judge's second score) answers 200 without ``Location``.

Usage in a route::

    @router.post("/things", status_code=201, responses=new_resource("The new thing"))
    def create_thing(..., request: Request, response: Response) -> ThingOut:
        thing = service.create_thing(...)
        response.headers["Location"] = location(request, "get_thing", thing_id=thing.id)
        return ThingOut.model_validate(thing)

``location`` names the GET route by its function name, so a renamed or removed route fails loudly (and the
tests that follow every ``Location`` notice).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

LOCATION_HEADER = {
    "Location": {
        "description": "The path of the created resource (or of the list that shows it).",
        "schema": {"type": "string"},
    }
}


def new_resource(
    description: str, model: type[Any] | None = None, *, headers: dict[str, Any] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entry of a route that answers 201 with a ``Location`` header (and, when its
    201 answer differs from its default one, the ``model`` of that answer; any other ``headers`` it sends)."""
    entry: dict[str, Any] = {"description": description, "headers": {**LOCATION_HEADER, **(headers or {})}}
    if model is not None:
        entry["model"] = model
    return {201: entry}


def location(request: Request, route: str, **path_params: int | str) -> str:
    """The path (with the app's root path) of the route named ``route`` with these path parameters."""
    return request.url_for(route, **{name: str(value) for name, value in path_params.items()}).path
