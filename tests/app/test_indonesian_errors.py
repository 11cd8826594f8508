"""Every refusal a person can meet on a page says in Indonesian what is wrong: each error the app raises for
input or for the state of the data, and each field problem it names, carries an ``indonesian`` sentence.

Read from the source, so a new ``raise Conflict(...)`` without one fails here before anyone sees a page with
a generic message in its place."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
# The refusals a person can correct or act on. NotFound, Forbidden and Unauthenticated get the page's own
# heading and advice ("Halaman tidak ditemukan", "Akses ditolak", the login page).
NEEDS_TEXT = {
    "Conflict",
    "InvalidInput",
    "WindowClosed",
    "StaleVersion",
    "PreconditionRequired",
    "PayloadTooLarge",
    "UnsupportedMedia",
}
COLLECTORS = {"problems", "collector"}


def _name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _receiver(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute):
        if isinstance(func.value, ast.Name):
            return func.value.id
        if isinstance(func.value, ast.Attribute):
            return func.value.attr
    return None


def _has_text(call: ast.Call, positional: int | None) -> bool:
    keywords = {k.arg for k in call.keywords}
    if "indonesian" in keywords or None in keywords:  # None: **kwargs passed on
        return True
    return positional is not None and len(call.args) > positional


def missing_text(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node)
        if name in NEEDS_TEXT:
            ok = _has_text(node, None)
        elif name == "FieldProblem" or (name == "add" and _receiver(node) in COLLECTORS):
            ok = _has_text(node, 2)
        elif name == "raise_if_any":
            ok = _has_text(node, 1)
        else:
            continue
        if not ok:
            found.append(f"{path}:{node.lineno} {name}(...) has no indonesian text")
    return found


def test_every_refusal_in_the_app_carries_its_indonesian_text() -> None:
    missing = [problem for path in sorted(APP.rglob("*.py")) for problem in missing_text(path)]
    assert not missing, "\n".join(missing)


def test_the_check_finds_a_refusal_without_indonesian_text(tmp_path: Path) -> None:
    source = tmp_path / "service.py"
    source.write_text(
        "def f(problems):\n"
        "    problems.add('title', 'required')\n"
        "    problems.add('year', 'required', 'Tahun wajib diisi.')\n"
        "    raise Conflict('taken', errors=[FieldProblem('code', 'taken')])\n",
        encoding="utf-8",
    )
    found = missing_text(source)
    assert [line.split(" ", 1)[1] for line in found] == [
        "add(...) has no indonesian text",
        "Conflict(...) has no indonesian text",
        "FieldProblem(...) has no indonesian text",
    ]
