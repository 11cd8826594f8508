"""Public bodies (badan publik): registration one by one or in bulk, lookup, filters and edits."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session, aliased

from app.accounts import policy
from app.accounts.principal import Principal
from app.audit.service import record
from app.bodies.schemas import NOT_NULL
from app.bodies.validation import (
    EMAIL_MESSAGE_ID,
    REGION_CODE,
    REGION_MESSAGE,
    REGION_MESSAGE_ID,
    email_problem,
    region_code_problem,
)
from app.commissions.service import categories_by_code
from app.db.models import BodyCategory, Commission, Invitation, PublicBody
from app.errors import MAX_LISTED_PROBLEMS, Conflict, FieldProblem, InvalidInput, NotFound, TooLargeAtOnce
from app.portal.caching import touch

IMPORT_COLUMNS = ("name", "category", "region_code", "parent", "ppid_email")
REQUIRED_COLUMNS = ("name", "category")
NAME_MAX = 300


def _norm(name: str) -> str:
    """Names compare ignoring case and repeated spaces: 'Kelurahan  menteng' is 'Kelurahan Menteng'."""
    return " ".join(name.split()).casefold()


def _body_snapshot(body: PublicBody) -> dict[str, Any]:
    return {
        "name": body.name,
        "category_id": body.category_id,
        "region_code": body.region_code,
        "parent_id": body.parent_id,
        "ppid_email": body.ppid_email,
        "active": body.active,
    }


# --- one body ----------------------------------------------------------------------------------------


def get_body(*, session: Session, body_id: int, by: Principal) -> PublicBody:
    """The body, if the principal may see it (its commission's readers, its operator, its verifier)."""
    body = session.get(PublicBody, body_id)
    if body is None:
        raise NotFound(f"public body {body_id} does not exist")
    policy.ensure_read_body(session, by, commission_id=body.commission_id, body_id=body.id, round_id=None)
    return body


def _category(session: Session, commission_id: int, code: str) -> BodyCategory:
    category = categories_by_code(session=session, commission_id=commission_id).get(code)
    if category is None:
        raise InvalidInput(
            f"the commission has no body category {code!r}",
            errors=[
                FieldProblem(
                    "category",
                    f"unknown category code {code!r}",
                    f"Kategori {code!r} tidak dikenal di Komisi Informasi ini.",
                )
            ],
            indonesian=f"Kategori {code!r} tidak dikenal di Komisi Informasi ini.",
        )
    return category


def _ensure_name_free(
    session: Session, commission_id: int, name: str, *, except_id: int | None = None
) -> None:
    stmt = select(PublicBody.id).where(
        PublicBody.commission_id == commission_id, func.lower(PublicBody.name) == name.lower()
    )
    if except_id is not None:
        stmt = stmt.where(PublicBody.id != except_id)
    if session.scalar(stmt.limit(1)) is not None:
        raise Conflict(
            f"a body named {name!r} already exists in this commission",
            errors=[
                FieldProblem(
                    "name",
                    "already used by another body of this commission",
                    f"Sudah ada badan publik bernama {name} di Komisi Informasi ini.",
                )
            ],
            indonesian=f"Sudah ada badan publik bernama {name} di Komisi Informasi ini.",
        )


def _check_parent(session: Session, *, commission_id: int, parent_id: int, body_id: int | None) -> None:
    parent = session.get(PublicBody, parent_id)
    if parent is None or parent.commission_id != commission_id:
        raise InvalidInput(
            f"body {parent_id} is not a body of this commission",
            errors=[
                FieldProblem(
                    "parent_id",
                    "must be a body of the same commission",
                    "Induk harus badan publik Komisi Informasi yang sama.",
                )
            ],
            indonesian="Induk harus badan publik Komisi Informasi yang sama.",
        )
    seen: set[int] = set()
    cursor: PublicBody | None = parent
    while cursor is not None and cursor.id not in seen:
        if body_id is not None and cursor.id == body_id:
            raise InvalidInput(
                "a body cannot sit under itself or under one of its own descendants",
                errors=[
                    FieldProblem(
                        "parent_id",
                        "would make a cycle in the body hierarchy",
                        "Badan publik tidak dapat berada di bawah dirinya sendiri atau di bawah turunannya.",
                    )
                ],
                indonesian="Induk ini membuat badan publik berada di bawah dirinya sendiri.",
            )
        seen.add(cursor.id)
        cursor = session.get(PublicBody, cursor.parent_id) if cursor.parent_id is not None else None


def create_body(
    *, session: Session, commission: Commission, data: Mapping[str, Any], by: Principal
) -> PublicBody:
    """Register one body. ``data``: name, category (code), region_code, parent_id, ppid_email, active."""
    policy.ensure_admin(by, commission.id)
    category = _category(session, commission.id, data["category"])
    _ensure_name_free(session, commission.id, data["name"])
    if data.get("parent_id") is not None:
        _check_parent(session, commission_id=commission.id, parent_id=data["parent_id"], body_id=None)
    body = PublicBody(
        commission_id=commission.id,
        category_id=category.id,
        name=data["name"],
        region_code=data.get("region_code"),
        parent_id=data.get("parent_id"),
        ppid_email=data.get("ppid_email"),
        active=data.get("active", True),
    )
    session.add(body)
    session.flush()
    record(
        session=session,
        actor=by,
        action="body.create",
        entity="public_body",
        entity_id=body.id,
        after=_body_snapshot(body),
        commission_id=commission.id,
    )
    return body


# What the public portal and open data show of a body besides its published figures.
PUBLIC_FIELDS = ("name", "category_id", "region_code")


def update_body(
    *, session: Session, body: PublicBody, changes: Mapping[str, Any], by: Principal
) -> PublicBody:
    """Change some fields of a body; the parent stays in the commission and never makes a cycle."""
    policy.ensure_admin(by, body.commission_id)
    nulls = [
        FieldProblem(k, "may not be null", "Isian ini wajib diisi.")
        for k in NOT_NULL
        if k in changes and changes[k] is None
    ]
    if nulls:
        raise InvalidInput(
            "some fields may not be null", errors=nulls, indonesian="Beberapa isian wajib diisi."
        )
    before = _body_snapshot(body)
    if "name" in changes and changes["name"] != body.name:
        _ensure_name_free(session, body.commission_id, changes["name"], except_id=body.id)
        body.name = changes["name"]
    if "category" in changes:
        body.category_id = _category(session, body.commission_id, changes["category"]).id
    if changes.get("parent_id") is not None:
        _check_parent(
            session, commission_id=body.commission_id, parent_id=changes["parent_id"], body_id=body.id
        )
    for key in ("region_code", "parent_id", "ppid_email", "active"):
        if key in changes:
            setattr(body, key, changes[key])
    session.flush()
    session.refresh(body, ["category"])
    after = _body_snapshot(body)
    if any(after[key] != before[key] for key in PUBLIC_FIELDS):
        touch(session, body.commission_id)
    if after != before:
        record(
            session=session,
            actor=by,
            action="body.update",
            entity="public_body",
            entity_id=body.id,
            before={k: v for k, v in before.items() if after[k] != v},
            after={k: v for k, v in after.items() if before[k] != v},
            commission_id=body.commission_id,
        )
    return body


@dataclass(frozen=True)
class BodyFilters:
    category: str | None = None
    region: str | None = None
    parent_id: int | None = None
    active: bool | None = None
    q: str | None = None
    round_id: int | None = None


# How far up the hierarchy a region name is looked for: kelurahan < kecamatan < kota < provinsi.
REGION_NAME_LEVELS = 3
REGION_FILTER_MESSAGE = f"{REGION_MESSAGE}, nor a region's name (which has no digits)"
REGION_FILTER_MESSAGE_ID = (
    "Wilayah tidak dikenali: tulis kode wilayah Kemendagri seperti 31.71 atau 31.71.06, atau nama wilayah "
    "seperti Menteng."
)


def _contains(column: Any, text: str) -> ColumnElement[bool]:
    return func.lower(column).contains(text.lower(), autoescape=True)


def _region_clause(region: str) -> ColumnElement[bool]:
    """A region code prefix (``31.71`` matches ``31.71`` and everything under it), or a region's name: the
    bodies whose own name or an ancestor's name (parent, its parent, ...) holds the text, so ``Menteng``
    finds Kecamatan Menteng, Kelurahan Menteng and every kelurahan under Kecamatan Menteng."""
    if any(ch.isdigit() for ch in region):
        code = region.rstrip(".")
        if not REGION_CODE.fullmatch(code):
            raise InvalidInput(
                "the region filter is neither a region code prefix nor a region's name",
                errors=[FieldProblem("query:region", REGION_FILTER_MESSAGE, REGION_FILTER_MESSAGE_ID)],
                indonesian=REGION_FILTER_MESSAGE_ID,
            )
        return or_(
            PublicBody.region_code == code,
            PublicBody.region_code.startswith(code + ".", autoescape=True),
        )
    chain = [aliased(PublicBody) for _ in range(REGION_NAME_LEVELS + 1)]
    under_named = select(chain[0].id)
    for child, parent in pairwise(chain):
        under_named = under_named.outerjoin(parent, parent.id == child.parent_id)
    under_named = under_named.where(or_(*(_contains(ancestor.name, region) for ancestor in chain[1:])))
    return or_(_contains(PublicBody.name, region), PublicBody.id.in_(under_named))


def bodies_query(
    *, session: Session, commission: Commission, filters: BodyFilters, by: Principal
) -> Select[Any]:
    """The commission's bodies the principal may see (``policy.visible_bodies``), filtered: category code,
    region (a code prefix or a region's name, see ``_region_clause``), parent, active flag, invited to a
    round, and a case-insensitive search in the name."""
    policy.ensure_member(by, commission.id)
    stmt = select(PublicBody).where(
        PublicBody.commission_id == commission.id, policy.visible_bodies(by, commission.id, round_id=None)
    )
    if filters.category is not None:
        stmt = stmt.join(BodyCategory, BodyCategory.id == PublicBody.category_id).where(
            BodyCategory.code == filters.category
        )
    region = (filters.region or "").strip()
    if region:
        stmt = stmt.where(_region_clause(region))
    if filters.parent_id is not None:
        stmt = stmt.where(PublicBody.parent_id == filters.parent_id)
    if filters.active is not None:
        stmt = stmt.where(PublicBody.active.is_(filters.active))
    if filters.round_id is not None:
        stmt = stmt.where(
            PublicBody.id.in_(select(Invitation.body_id).where(Invitation.round_id == filters.round_id))
        )
    if filters.q and filters.q.strip():
        stmt = stmt.where(_contains(PublicBody.name, filters.q.strip()))
    return stmt


@dataclass(frozen=True)
class BodySearch:
    """A page's search for bodies: the first ``limit`` matches by name, and how many matched in all."""

    bodies: list[PublicBody]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.bodies)


def search_bodies(
    *, session: Session, commission: Commission, filters: BodyFilters, by: Principal, limit: int = 20
) -> BodySearch:
    """The bodies a person looks for by name, category and region (``bodies_query``), in name order."""
    stmt = bodies_query(session=session, commission=commission, filters=filters, by=by)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    found = session.scalars(stmt.order_by(PublicBody.name, PublicBody.id).limit(limit)).all()
    return BodySearch(bodies=list(found), total=int(total))


def named_bodies(
    *, session: Session, commission_id: int, body_ids: Iterable[int], by: Principal
) -> dict[int, PublicBody]:
    """The commission's bodies of ``body_ids`` the principal may see, by id, for pages that name them; ids
    of other commissions' bodies are left out."""
    wanted = set(body_ids)
    if not wanted:
        return {}
    rows = session.scalars(
        select(PublicBody).where(
            PublicBody.id.in_(wanted),
            PublicBody.commission_id == commission_id,
            policy.visible_bodies(by, commission_id, round_id=None),
        )
    )
    return {body.id: body for body in rows}


# --- bulk import ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowProblem:
    """One bad cell of an import: the row number as a spreadsheet shows it, the column and why."""

    row: int
    column: str
    message: str
    indonesian: str


@dataclass
class ImportReport:
    dry_run: bool
    rows: int
    problems: list[RowProblem] = field(default_factory=list)
    created: list[PublicBody] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _region_cell(value: Any) -> str | None:
    """A region code as a workbook may hold it: a kabupaten/kota code typed without quotes is a number, and
    32.10 (Kabupaten Majalengka) reads back as 32.1; its second part always has two digits, so a number with
    at most two decimals is read with exactly two. Anything else is read as it is (and refused if wrong)."""
    if isinstance(value, float) and not value.is_integer() and round(value, 2) == value:
        return f"{value:.2f}"
    return _cell(value)


# Rows between progress reports (and flushes while writing).
_PROGRESS_EVERY = 500


def refuse_in_request(rows: int, max_rows: int, commission_id: int) -> None:
    """A file of more than ``max_rows`` rows is imported as a job, not in the request (409 naming the job
    in ``job_request``): a proxy's time limit would cut a long import off mid-way."""
    if rows > max_rows:
        job_path = f"/api/v1/commissions/{commission_id}/bodies/import-jobs"
        raise TooLargeAtOnce(
            f"the file has {rows} rows, more than the {max_rows} imported at once; send the same file to "
            f"POST {job_path} to import it as a job, then follow its Location",
            job_request={"method": "POST", "href": job_path},
            rows=rows,
            max_rows=max_rows,
            indonesian=f"Berkas berisi {rows} baris, lebih dari {max_rows} baris yang dapat diimpor "
            "langsung. Impor berkas ini sebagai pekerjaan latar belakang.",
        )


def import_bodies(
    *,
    session: Session,
    commission: Commission,
    rows: Sequence[Mapping[str, Any]],
    dry_run: bool,
    by: Principal,
    row_numbers: Sequence[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Validate and (unless ``dry_run``) register many bodies at once, all or nothing.

    ``rows`` are parsed records, one dict per body with the columns ``name`` and ``category`` (a category
    code; both required) and ``region_code``, ``parent`` (the name of a body that already exists in the
    commission or comes EARLIER in the same rows) and ``ppid_email`` (optional). Cells may be strings,
    numbers or None; blanks count as missing. The CSV route and the XLSX import both call this.

    ``row_numbers`` are the numbers to report for each row as the user's file shows them; by default the
    header is row 1 and the rows are 2, 3, ...; problems with the columns themselves are reported on the
    row before the first one (the header).

    Every problem of every row is reported (row, column, reason), including names duplicated within the
    rows or against the commission's existing bodies. With ``dry_run`` nothing is written and the report
    says what would happen. Without it, any problem raises ``InvalidInput`` (nothing written, the report's
    problems as its errors and in its ``problems`` member); otherwise every body is created and flushed.

    ``progress(done, total)`` is told how far it got: rows checked, then (unless ``dry_run``) rows written,
    out of ``total`` (the rows, twice when writing).
    """
    policy.ensure_admin(by, commission.id)
    numbers = list(row_numbers) if row_numbers is not None else [i + 2 for i in range(len(rows))]
    if len(numbers) != len(rows):
        raise ValueError("row_numbers must give one number per row")
    report = ImportReport(dry_run=dry_run, rows=len(rows))
    total = len(rows) if dry_run else 2 * len(rows)
    tell = progress or (lambda done, total: None)
    tell(0, total)
    problems = report.problems
    header_row = (numbers[0] - 1) if numbers else 1

    present: set[str] = set()
    for row in rows:
        present.update(str(k) for k in row)
    for column in sorted(present - set(IMPORT_COLUMNS)):
        problems.append(
            RowProblem(
                header_row,
                column,
                f"unknown column; the columns are {', '.join(IMPORT_COLUMNS)}",
                f"Kolom tidak dikenal; kolomnya: {', '.join(IMPORT_COLUMNS)}.",
            )
        )
    if not rows:
        problems.append(
            RowProblem(
                header_row,
                "name",
                "the file has no rows of bodies",
                "Berkas tidak memuat baris badan publik.",
            )
        )

    categories = categories_by_code(session=session, commission_id=commission.id)
    existing = {
        _norm(name): body_id
        for body_id, name in session.execute(
            select(PublicBody.id, PublicBody.name).where(PublicBody.commission_id == commission.id)
        ).all()
    }
    first_row_of: dict[str, int] = {}
    for number, row in zip(numbers, rows, strict=True):
        name = _cell(row.get("name"))
        if name is not None:
            first_row_of.setdefault(_norm(name), number)

    cleaned: list[dict[str, Any]] = []
    for index, (number, row) in enumerate(zip(numbers, rows, strict=True)):
        if index % _PROGRESS_EVERY == 0:
            tell(index, total)

        def bad(column: str, message: str, indonesian: str, number: int = number) -> None:
            problems.append(RowProblem(number, column, message, indonesian))

        name = _cell(row.get("name"))
        code = _cell(row.get("category"))
        region = _region_cell(row.get("region_code"))
        parent = _cell(row.get("parent"))
        email = _cell(row.get("ppid_email"))
        if name is None:
            bad("name", "required", "Nama wajib diisi.")
        elif len(name) > NAME_MAX:
            bad("name", f"longer than {NAME_MAX} characters", f"Nama paling panjang {NAME_MAX} karakter.")
        elif _norm(name) in existing:
            bad(
                "name",
                "a body with this name already exists in the commission",
                "Sudah ada badan publik dengan nama ini di Komisi Informasi.",
            )
        elif first_row_of[_norm(name)] != number:
            bad(
                "name",
                f"the same name is already on row {first_row_of[_norm(name)]}",
                f"Nama yang sama sudah ada di baris {first_row_of[_norm(name)]}.",
            )
        if code is None:
            bad("category", "required", "Kategori wajib diisi.")
        elif code not in categories:
            known = ", ".join(sorted(categories)) or "none yet"
            known_id = ", ".join(sorted(categories)) or "belum ada"
            bad(
                "category",
                f"unknown category {code!r}; the commission's categories: {known}",
                f"Kategori {code!r} tidak dikenal; kategori Komisi Informasi: {known_id}.",
            )
        if region is not None and (problem := region_code_problem(region)):
            bad("region_code", problem, REGION_MESSAGE_ID)
        if email is not None and (problem := email_problem(email)):
            bad("ppid_email", problem, EMAIL_MESSAGE_ID)
        if parent is not None:
            key = _norm(parent)
            if name is not None and key == _norm(name):
                bad(
                    "parent",
                    "a body cannot be its own parent",
                    "Badan publik tidak dapat menjadi induk dirinya sendiri.",
                )
            elif key in first_row_of and first_row_of[key] >= number and key not in existing:
                bad(
                    "parent",
                    f"{parent!r} comes later, on row {first_row_of[key]}; list a parent before its children",
                    f"{parent} baru ada di baris {first_row_of[key]}; tulis induk sebelum turunannya.",
                )
            elif key not in existing and key not in first_row_of:
                bad(
                    "parent",
                    f"no body named {parent!r} in the commission or earlier in the file",
                    f"Tidak ada badan publik bernama {parent} di Komisi Informasi atau di baris sebelumnya.",
                )
        cleaned.append(
            {"name": name, "category": code, "region_code": region, "parent": parent, "ppid_email": email}
        )

    tell(len(rows), total)
    problems.sort(key=lambda p: (p.row, IMPORT_COLUMNS.index(p.column) if p.column in IMPORT_COLUMNS else -1))
    if problems:
        if dry_run:
            return report
        raise InvalidInput(
            f"{len(problems)} problem(s) in the file; nothing was imported",
            errors=[FieldProblem(f"rows.{p.row}.{p.column}", p.message, p.indonesian) for p in problems],
            indonesian=f"Ada {len(problems)} masalah di berkas; tidak ada yang diimpor.",
            problems=[
                {"row": p.row, "column": p.column, "message": p.message}
                for p in problems[:MAX_LISTED_PROBLEMS]
            ],
        )
    if dry_run:
        return report

    created: dict[str, PublicBody] = {}
    for index, item in enumerate(cleaned):
        if index and index % _PROGRESS_EVERY == 0:
            session.flush()  # in batches, so that progress means rows written
            tell(len(rows) + index, total)
        body = PublicBody(
            commission_id=commission.id,
            category_id=categories[item["category"]].id,
            name=" ".join(item["name"].split()),
            region_code=item["region_code"],
            ppid_email=item["ppid_email"],
            active=True,
        )
        session.add(body)
        created[_norm(item["name"])] = body
    session.flush()
    for item in cleaned:
        if item["parent"] is not None:
            key = _norm(item["parent"])
            parent_id = existing.get(key)
            created[_norm(item["name"])].parent_id = parent_id if parent_id is not None else created[key].id
    session.flush()
    report.created = list(created.values())
    tell(total, total)
    record(
        session=session,
        actor=by,
        action="body.import",
        entity="commission",
        entity_id=commission.id,
        after={"created": len(report.created), "body_ids": [b.id for b in report.created]},
        commission_id=commission.id,
    )
    return report


def read_csv(data: bytes) -> tuple[list[dict[str, str]], list[int]]:
    """Parse an uploaded CSV (UTF-8, with or without BOM; comma, semicolon or tab separated, as Excel saves
    it) into rows for ``import_bodies`` and their row numbers (the header is row 1; blank rows are skipped
    but keep their numbers). Header names are matched case-insensitively; cells beyond the header land in
    a column named ``column N`` so that they are reported."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            "the file is not UTF-8 text; save the CSV as 'CSV UTF-8'",
            errors=[
                FieldProblem(
                    "file",
                    f"invalid UTF-8 at byte {exc.start}",
                    f"Bukan teks UTF-8 (bita ke-{exc.start}); simpan sebagai 'CSV UTF-8'.",
                )
            ],
            indonesian="Berkas bukan teks UTF-8; simpan CSV sebagai 'CSV UTF-8'.",
        ) from exc
    if "\x00" in text:
        # PostgreSQL cannot store it; a file full of them is UTF-16 ("Unicode text") read as UTF-8.
        line = text[: text.index("\x00")].count("\n") + 1
        raise InvalidInput(
            "the file contains NUL characters; save the CSV as 'CSV UTF-8'",
            errors=[
                FieldProblem(
                    "file",
                    f"NUL character (U+0000) on line {line}",
                    f"Ada karakter NUL (U+0000) di baris {line}; simpan sebagai 'CSV UTF-8'.",
                )
            ],
            indonesian="Berkas memuat karakter NUL; simpan CSV sebagai 'CSV UTF-8'.",
        )
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise InvalidInput(
            "the CSV cannot be read",
            errors=[FieldProblem("file", str(exc), "Berkas CSV tidak dapat dibaca.")],
            indonesian="Berkas CSV tidak dapat dibaca.",
        ) from exc
    if not records:
        raise InvalidInput(
            "the file is empty",
            errors=[FieldProblem("file", "empty", "Berkas kosong.")],
            indonesian="Berkas kosong.",
        )
    header = [h.strip().lower() for h in records[0]]
    problems = [
        FieldProblem(f"rows.1.{column}", "required column missing", f"Kolom {column} wajib ada.")
        for column in REQUIRED_COLUMNS
        if column not in header
    ]
    problems += [
        FieldProblem(
            f"rows.1.{column}",
            "the column appears more than once",
            f"Kolom {column} muncul lebih dari sekali.",
        )
        for column in sorted({h for h in header if h and header.count(h) > 1})
    ]
    if problems:
        raise InvalidInput(
            f"the header row must name the columns {', '.join(IMPORT_COLUMNS)}",
            errors=problems,
            indonesian=f"Baris judul harus menyebut kolom {', '.join(IMPORT_COLUMNS)}.",
        )
    rows: list[dict[str, str]] = []
    numbers: list[int] = []
    for number, record_ in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record_):
            continue
        row: dict[str, str] = {}
        for index, cell in enumerate(record_):
            column = header[index] if index < len(header) and header[index] else f"column {index + 1}"
            if column in row or (index >= len(header) and not cell.strip()):
                continue
            row[column] = cell
        rows.append(row)
        numbers.append(number)
    return rows, numbers
