"""Reading a page's own form with the rule every request's text follows.

The app-wide ``app.inputs.refuse_unstorable_input`` looks only at the bodies FastAPI parses for a route.
Page handlers whose fields depend on the round or the template read ``request.form()`` themselves; they
read it through ``read_form`` instead, so a NUL character (which PostgreSQL text cannot hold) in any
field's name or value is the same 422 naming the field, before anything is looked up or written.
"""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import FormData

from app.errors import ProblemCollector
from app.inputs import NUL, NUL_MESSAGE


async def read_form(request: Request) -> FormData:
    """The request's form, or a 422 naming every field whose name or value holds a NUL character."""
    form = await request.form()
    problems = ProblemCollector()
    for name, value in form.multi_items():
        if NUL in name or (isinstance(value, str) and NUL in value):
            problems.add(name.replace(NUL, "\\0"), NUL_MESSAGE)
    problems.raise_if_any("; ".join(f"{p.field}: {p.message}" for p in problems.problems))
    return form
