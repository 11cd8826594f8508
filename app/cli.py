"""The ``emonev`` command line. Bad input gets one clear line and exit code 2, never a traceback."""

from __future__ import annotations

import argparse
import contextlib
import copy
import getpass
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

import scoring
from app.settings import Settings, get_settings

EXIT_INVALID = 1
EXIT_BAD_INPUT = 2


class CliError(Exception):
    """A user-facing problem: printed as one line, exit code 2."""


def _settings() -> Settings:
    """The settings from the environment; a variable that does not fit is named on one line."""
    try:
        return get_settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = str(error["msg"]).removeprefix("Value error, ")
            field = ".".join(str(part) for part in error["loc"])
            problems.append(f"EMONEV_{field.upper()}: {message}" if field else message)
        raise CliError("; ".join(problems)) from exc


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CliError(f"{path}: file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"{path}: cannot read: {exc}") from exc


def _parse_template_file(path: Path) -> scoring.Template:
    try:
        return scoring.parse_template(_read_text(path), source=str(path))
    except scoring.TemplateError as exc:
        raise CliError(str(exc)) from exc


def cmd_templates_validate(args: argparse.Namespace) -> int:
    problems: list[str] = []
    parsed: list[tuple[str, scoring.Template]] = []
    for path in args.paths:
        try:
            parsed.append((str(path), scoring.parse_template(_read_text(path), source=str(path))))
        except scoring.TemplateError as exc:
            problems.extend(str(exc).splitlines())
        except CliError as exc:
            problems.append(str(exc))
    problems.extend(str(p) for p in scoring.check_versions(parsed))
    for line in problems:
        print(line, file=sys.stderr)
    for source, template in parsed:
        print(f"ok  {source}: {template.key} {template.version} ({len(template.questions())} questions)")
    return EXIT_INVALID if problems else 0


def cmd_templates_list(args: argparse.Namespace) -> int:
    directory: Path = args.dir or _settings().questionnaires_dir
    for path in sorted(directory.rglob("*.yaml")):
        template = _parse_template_file(path)
        print(f"{template.key}\t{template.version}\t{len(template.questions())}\t{template.title}\t{path}")
    return 0


def cmd_templates_import(args: argparse.Namespace) -> int:
    from app.db.session import engine_for_long_work, make_sessionmaker
    from app.errors import EmonevError
    from app.questionnaires.service import import_template, template_files
    from app.terminal_progress import terminal_progress

    settings = _settings()
    paths = args.paths or template_files(settings.questionnaires_dir)
    try:
        with (
            make_sessionmaker(engine_for_long_work(settings)).begin() as session,
            terminal_progress("template files") as progress,
        ):
            progress(0, len(paths))
            for done, path in enumerate(paths, start=1):
                outcome = import_template(session=session, text=_read_text(path), source_name=str(path))
                state = "imported" if outcome.created else "unchanged"
                print(f"{state}  {outcome.version.key} {outcome.version.version}  ({path})")
                progress(done, len(paths))
    except EmonevError as exc:  # an invalid template, or a published version changed: nothing is imported
        raise CliError("; ".join([exc.detail, *(f"{e.field}: {e.message}" for e in exc.errors)])) from exc
    return 0


def _load_answers(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise CliError(f"{path}: malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("answers"), dict):
        raise CliError(f'{path}: expected an object {{"answers": {{"<question code>": {{...}}}}}}')
    answers: dict[str, Any] = data["answers"]
    return answers


def cmd_score(args: argparse.Namespace) -> int:
    template = _parse_template_file(args.template)
    raw = _load_answers(args.answers)
    try:
        answers = scoring.parse_answers(template, raw)
    except scoring.AnswerError as exc:
        raise CliError(
            "; ".join(
                f"{args.answers}: answers.{p.code}.{p.field}: {p.message}".replace("..", ".")
                for p in exc.problems
            )
        ) from exc
    print(json.dumps(scoring.score(template, answers).to_json(), ensure_ascii=False, indent=2))
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from alembic.util import CommandError

    from app.db.migrate import upgrade
    from app.db.session import Timeouts

    settings = _settings()
    try:
        upgrade(settings.database_url, timeouts=Timeouts.for_long_work(settings))
    except CommandError as exc:  # a migration that refuses to run, e.g. 0006 listing duplicate rows
        raise CliError(str(exc)) from exc
    print("database is at the latest revision")
    return 0


def _seed_demo_data(base_url: str) -> None:
    """On an empty database (and unless EMONEV_DEMO_DATA=false), create the demo data and print its logins."""
    from sqlalchemy import inspect

    from app.db.base import utcnow
    from app.db.session import engine_for_long_work, make_sessionmaker
    from app.demo import format_logins, seed_on_startup

    settings = _settings()
    if not settings.demo_data:
        return
    if settings.environment == "production":
        print("demo data: not seeded in production (EMONEV_DEMO_DATA is ignored)", file=sys.stderr)
        return
    engine = engine_for_long_work(settings)
    if not inspect(engine).has_table("commission"):
        raise CliError("the database has no tables yet: run `emonev db upgrade` first (`make run` does)")
    with make_sessionmaker(engine).begin() as session:
        report = seed_on_startup(session=session, settings=settings, now=utcnow())
    engine.dispose()
    if report is not None:
        print(format_logins(report, base_url), flush=True)


def _browser_url(host: str, port: int) -> str:
    """Where a browser on this machine reaches the server: a wildcard address is not one to open."""
    if host in {"", "0.0.0.0", "::"}:  # noqa: S104 - naming the wildcard addresses, not binding to them
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


DEV_MAIL_PAGE = "/surel/pengembangan"


def say_where_mail_goes(settings: Settings, browser_url: str | None) -> None:
    """One line at start-up: the SMTP server mail goes to, or that it is not sent (development: the log
    and the development page; production: a warning that notices wait)."""
    from app.mail.transport import parse_smtp_url

    if settings.smtp_url:
        config = parse_smtp_url(settings.smtp_url)
        if config.implicit_tls:
            how = "TLS"
        elif config.password:
            how = "STARTTLS"
        else:
            how = "STARTTLS when the server offers it"
        print(f"mail: {config.label} ({how}), from {settings.mail_from}", flush=True)
    elif settings.is_development:
        page = f"{browser_url}{DEV_MAIL_PAGE}" if browser_url else f"{DEV_MAIL_PAGE} of `emonev serve`"
        print(
            "mail: NOT sent (EMONEV_SMTP_URL is not set): each message is written to the log\n"
            f"      and shown to administrators on {page}",
            flush=True,
        )
    else:
        print(
            "warning: mail: EMONEV_SMTP_URL is not set: no e-mail is sent; notices wait until it is set",
            file=sys.stderr,
            flush=True,
        )


def _serve_log_config() -> dict[str, Any]:
    """uvicorn's logging, plus the service's own loggers (``emonev.*``: jobs, e-mail) at INFO on stderr.
    Without them only warnings of the job thread showed, and development's "e-mail not sent" messages (the
    mail written to the log instead of sent) showed nowhere. uvicorn applies it in every worker process."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["emonev"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings()
    _seed_demo_data(_browser_url(args.host, args.port))
    say_where_mail_goes(settings, _browser_url(args.host, args.port))
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        log_config=_serve_log_config(),
        timeout_keep_alive=settings.keep_alive_timeout_seconds,
        forwarded_allow_ips=args.forwarded_allow_ips,
        timeout_worker_healthcheck=args.worker_startup_timeout or settings.worker_startup_timeout_seconds,
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from app.jobs.worker import run_queued, run_worker_async

    settings = _settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    say_where_mail_goes(settings, None)
    if settings.database_url.startswith("sqlite"):
        if not args.once:
            raise CliError(
                "on SQLite jobs run inside `emonev serve`; workers on other machines need PostgreSQL "
                "(`emonev worker --once` runs what is queued now and stops)"
            )
        from app.db.session import engine_for_long_work, make_sessionmaker

        ran = run_queued(make_sessionmaker(engine_for_long_work(settings)), settings)
        print(f"ran {ran} jobs")
        return 0
    if args.concurrency:
        settings = settings.model_copy(update={"worker_concurrency": args.concurrency})
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_worker_async(settings, once=args.once, name=args.name))
    return 0


_CLI_FIELDS = {
    "email": "--email",
    "name": "--name",
    "password": "--password",
    "commission_id": "--commission",
    "body_id": "--body-id",
}


def _new_password(args: argparse.Namespace) -> str:
    if args.password is not None:
        password: str = args.password
        return password
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise CliError("the two passwords differ")
    return first


def cmd_users_create(args: argparse.Namespace) -> int:
    from sqlalchemy import select
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from app.accounts.principal import SYSTEM, Role
    from app.accounts.service import create_account
    from app.db.models import Commission
    from app.db.session import engine_for_long_work, make_sessionmaker
    from app.errors import EmonevError

    password = _new_password(args)
    settings = _settings()
    try:
        with make_sessionmaker(engine_for_long_work(settings)).begin() as session:
            commission_id = None
            if args.commission is not None:
                commission_id = session.scalar(
                    select(Commission.id).where(Commission.code == args.commission)
                )
                if commission_id is None:
                    raise CliError(f"--commission: no commission with code {args.commission!r}")
            account = create_account(
                session=session,
                by=SYSTEM,
                email=args.email,
                name=args.name,
                role=Role(args.role),
                password=password,
                commission_id=commission_id,
                body_id=args.body_id,
            )
            created = f"created {account.role} {account.email} (id {account.id})"
    except EmonevError as exc:
        problems = "; ".join(f"{_CLI_FIELDS.get(e.field, e.field)}: {e.message}" for e in exc.errors)
        raise CliError(problems or exc.detail) from exc
    except (OperationalError, ProgrammingError) as exc:
        reason = str(exc.orig).strip().splitlines()[0]
        raise CliError(f"cannot use the database ({reason}); has `emonev db upgrade` been run?") from exc
    print(created)
    return 0


def _export(args: argparse.Namespace, suffix: str, description: str, write: Callable[..., str]) -> int:
    """Write an export of a round's publication to ``--out``: into a temporary file beside it, renamed
    when complete (a reader never sees half a file), with progress on stderr (a bar on a terminal, plain
    lines in a log)."""
    import os
    import tempfile

    from sqlalchemy.exc import OperationalError, ProgrammingError

    from app.accounts.principal import SYSTEM
    from app.db.session import engine_for_long_work, make_sessionmaker
    from app.errors import EmonevError
    from app.terminal_progress import terminal_progress

    out: Path = args.out
    if not out.parent.is_dir():
        raise CliError(f"--out: the directory {out.parent} does not exist")
    handle, name = tempfile.mkstemp(prefix=".emonev-", suffix=suffix, dir=out.parent)
    os.close(handle)
    partial = Path(name)
    settings = _settings()
    try:
        with (
            make_sessionmaker(engine_for_long_work(settings)).begin() as session,
            terminal_progress(description) as progress,
        ):
            write(
                session=session,
                round_id=args.round,
                revision=args.revision,
                by=SYSTEM,
                target=partial,
                progress=progress,
            )
        partial.replace(out)
    except EmonevError as exc:
        raise CliError(exc.detail) from exc
    except (OperationalError, ProgrammingError) as exc:
        reason = str(exc.orig).strip().splitlines()[0]
        raise CliError(f"cannot use the database ({reason}); has `emonev db upgrade` been run?") from exc
    finally:
        partial.unlink(missing_ok=True)
    print(f"wrote {out}")
    return 0


def cmd_bodies_import(args: argparse.Namespace) -> int:
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from app.accounts.principal import SYSTEM
    from app.bodies.jobs import import_file
    from app.db.models import Commission
    from app.db.session import engine_for_long_work, make_sessionmaker
    from app.errors import EmonevError
    from app.exports.workbook_safety import UploadLimits
    from app.terminal_progress import terminal_progress

    path: Path = args.file
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise CliError(f"{path}: file not found") from exc
    except OSError as exc:
        raise CliError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    settings = _settings()
    try:
        with make_sessionmaker(engine_for_long_work(settings)).begin() as session:
            commission_id = session.scalar(select(Commission.id).where(Commission.code == args.commission))
            if commission_id is None:
                raise CliError(f"--commission: no commission with code {args.commission!r}")
            with terminal_progress(f"import {path.name}") as progress:
                report = import_file(
                    session=session,
                    commission_id=commission_id,
                    data=data,
                    name=path.name,
                    dry_run=args.dry_run,
                    by=SYSTEM,
                    # The command line reads files of any size it is given; the workbook checks still hold.
                    limits=UploadLimits(max_bytes=max(len(data), settings.upload_max_bytes)),
                    progress=progress,
                )
            if report.problems:
                for problem in report.problems:
                    print(f"row {problem.row}, {problem.column}: {problem.message}")
                raise CliError(
                    f"{path}: {len(report.problems)} problem(s) in the file (listed above); nothing was "
                    "imported"
                )
            created = len(report.created)
    except EmonevError as exc:
        raise CliError(f"{path}: {exc.detail}") from exc
    except SQLAlchemyError as exc:
        raise CliError(f"{_database_problem(exc)}; has `emonev db upgrade` been run?") from exc
    if args.dry_run:
        print(f"{path}: {report.rows} rows, all valid; nothing written (dry run)")
    else:
        print(f"{path}: imported {created} bodies")
    return 0


def cmd_export_recap(args: argparse.Namespace) -> int:
    from app.exports.service import recap

    return _export(args, ".xlsx", f"recap of round {args.round}", recap)


def cmd_export_result_sheets(args: argparse.Namespace) -> int:
    from app.exports.service import result_sheets_zip

    return _export(args, ".zip", f"result sheets of round {args.round}", result_sheets_zip)


def _skip_ok_hours(text: str) -> float:
    try:
        hours = float(text)
    except ValueError:
        hours = -1
    if not 0 <= hours <= 720:
        raise argparse.ArgumentTypeError(f"expected a number of hours from 0 to 720, got {text!r}")
    return hours


def cmd_links_sweep(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from app.accounts.principal import SYSTEM
    from app.db.session import engine_for_long_work, make_sessionmaker
    from app.errors import EmonevError
    from app.terminal_progress import terminal_progress
    from app.verification.sweeps import make_checker, sweep_round

    settings = _settings()
    skip = settings.link_sweep_skip_ok_hours if args.skip_ok_hours is None else args.skip_ok_hours
    try:
        with terminal_progress(f"round {args.round}: links checked") as report:
            counts = sweep_round(
                sessions=make_sessionmaker(engine_for_long_work(settings)),
                round_id=args.round,
                by=SYSTEM,
                checker=make_checker(settings),
                skip_ok_hours=skip,
                progress=report,
            )
    except EmonevError as exc:
        raise CliError(exc.detail) from exc
    except (OperationalError, ProgrammingError) as exc:
        raise _database_problem(exc) from exc
    print(
        f"{counts.submissions} submissions, {counts.links} links: {counts.checked} checked "
        f"({counts.ok} ok, {counts.broken} broken, {counts.blocked} blocked, {counts.error} error), "
        f"{counts.skipped} skipped (OK within {skip:g} h), {counts.unchecked} unchecked (past the limit)"
    )
    return 0


def _database_problem(exc: Exception) -> CliError:
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    return CliError(f"cannot use the database ({reason})")


def cmd_backup(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from app.backups.service import backup
    from app.db.base import utcnow
    from app.errors import EmonevError

    settings = _settings()
    try:
        report = backup(
            database_url=settings.database_url,
            evidence_dir=settings.evidence_dir,
            output=args.output,
            now=utcnow(),
        )
    except EmonevError as exc:
        raise CliError(exc.detail) from exc
    except SQLAlchemyError as exc:
        raise _database_problem(exc) from exc
    except OSError as exc:  # a file or directory it could not read or write
        raise CliError(f"{exc.filename or ''}: {exc.strerror or exc}") from exc
    print(
        f"wrote {report.path}: the {report.database} database at revision {report.schema_revision} and "
        f"{report.evidence_files} evidence files, {report.size} bytes"
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from app.backups.service import restore
    from app.errors import EmonevError

    settings = _settings()
    try:
        report = restore(
            database_url=settings.database_url, evidence_dir=settings.evidence_dir, archive=args.input
        )
    except EmonevError as exc:
        raise CliError(exc.detail) from exc
    except SQLAlchemyError as exc:
        raise _database_problem(exc) from exc
    except OSError as exc:  # a file or directory it could not read or write
        raise CliError(f"{exc.filename or ''}: {exc.strerror or exc}") from exc
    print(
        f"restored the {report.database} database (revision {report.schema_revision}, backed up "
        f"{report.created_at}) and {report.evidence_files} evidence files"
    )
    if not report.at_head:
        print("the database is at an older revision than this version: run `emonev db upgrade` next")
    return 0


def _positive_seconds(text: str) -> int:
    try:
        seconds = int(text)
    except ValueError:
        seconds = 0
    if seconds < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of seconds (1 or more), got {text!r}")
    return seconds


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emonev", description="E-Monev SAQ scoring service")
    sub = parser.add_subparsers(dest="command", required=True)

    templates = sub.add_parser("templates", help="SAQ template files").add_subparsers(
        dest="action", required=True
    )
    p = templates.add_parser("validate", help="validate template files; exit 1 listing every problem")
    p.add_argument("paths", nargs="+", type=Path)
    p.set_defaults(func=cmd_templates_validate)
    p = templates.add_parser("list", help="list the template files in the questionnaires directory")
    p.add_argument("--dir", type=Path)
    p.set_defaults(func=cmd_templates_list)
    p = templates.add_parser("import", help="import template files into the database (default: all bundled)")
    p.add_argument("paths", nargs="*", type=Path)
    p.set_defaults(func=cmd_templates_import)

    p = sub.add_parser("score", help="score an answers file against a template file; prints JSON")
    p.add_argument("--template", required=True, type=Path)
    p.add_argument("--answers", required=True, type=Path)
    p.set_defaults(func=cmd_score)

    db = sub.add_parser("db", help="database").add_subparsers(dest="action", required=True)
    p = db.add_parser("upgrade", help="apply every migration")
    p.set_defaults(func=cmd_db_upgrade)

    users = sub.add_parser("users", help="accounts").add_subparsers(dest="action", required=True)
    p = users.add_parser(
        "create",
        help="create an account (the first system administrator, say); the password is asked for twice "
        "unless --password is given",
    )
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True)
    p.add_argument(
        "--role",
        required=True,
        choices=["system_admin", "commission_admin", "verifier", "panelist", "operator"],
    )
    p.add_argument("--commission", metavar="CODE", help="the commission's code (every role but system_admin)")
    p.add_argument("--body-id", type=int, help="the public body of an operator")
    p.add_argument("--password", help="at least 10 characters; omit it to be prompted")
    p.set_defaults(func=cmd_users_create)

    p = sub.add_parser(
        "worker",
        help="run jobs (exports, link sweeps, imports) from the queue until stopped; start any number, on "
        "any number of machines (PostgreSQL)",
    )
    p.add_argument(
        "--concurrency", type=int, metavar="N", help="jobs run at once (EMONEV_WORKER_CONCURRENCY)"
    )
    p.add_argument("--name", help="the worker's name in the logs (default: worker)")
    p.add_argument("--once", action="store_true", help="run what is queued now, then stop")
    p.set_defaults(func=cmd_worker)

    export = sub.add_parser("export", help="Excel exports").add_subparsers(dest="action", required=True)
    p = export.add_parser("recap", help="write a round's recap workbook (its latest publication by default)")
    p.add_argument("--round", required=True, type=int, metavar="ID", help="the round's id")
    p.add_argument("--revision", type=int, metavar="N", help="a published revision (default: the latest)")
    p.add_argument("--out", required=True, type=Path, metavar="FILE", help="the .xlsx file to write")
    p.set_defaults(func=cmd_export_recap)
    p = export.add_parser(
        "result-sheets",
        help="write a ZIP with every body's result sheet of a round (its latest publication by default)",
    )
    p.add_argument("--round", required=True, type=int, metavar="ID", help="the round's id")
    p.add_argument("--revision", type=int, metavar="N", help="a published revision (default: the latest)")
    p.add_argument("--out", required=True, type=Path, metavar="FILE", help="the .zip file to write")
    p.set_defaults(func=cmd_export_result_sheets)

    bodies = sub.add_parser("bodies", help="public bodies").add_subparsers(dest="action", required=True)
    p = bodies.add_parser(
        "import",
        help="register bodies from an .xlsx workbook or a CSV, all or nothing (the rules of the API's "
        "import); exit 2 listing every problem",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="the .xlsx workbook or the CSV file")
    p.add_argument("--commission", required=True, metavar="CODE", help="the commission's code")
    p.add_argument("--dry-run", action="store_true", help="only check the file; write nothing")
    p.set_defaults(func=cmd_bodies_import)

    links = sub.add_parser("links", help="evidence links").add_subparsers(dest="action", required=True)
    p = links.add_parser(
        "sweep",
        help="check every evidence link of every submission of a round now and record the results",
    )
    p.add_argument("--round", required=True, type=int, metavar="ID", help="the round's id")
    p.add_argument(
        "--skip-ok-hours",
        type=_skip_ok_hours,
        metavar="H",
        help="do not fetch again links checked OK within H hours (default: "
        "EMONEV_LINK_SWEEP_SKIP_OK_HOURS, 12; 0 fetches every link)",
    )
    p.set_defaults(func=cmd_links_sweep)

    p = sub.add_parser(
        "backup",
        help="write one archive with the database, the evidence files and a manifest of their checksums",
    )
    p.add_argument(
        "--output", required=True, type=Path, metavar="FILE", help="the archive to write (.tar or .tar.gz)"
    )
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser(
        "restore",
        help="restore an archive of `emonev backup` into an empty database and evidence directory, "
        "after checking every checksum",
    )
    p.add_argument("--input", required=True, type=Path, metavar="FILE", help="the archive to restore")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("serve", help="run the HTTP service with uvicorn")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument(
        "--worker-startup-timeout",
        type=_positive_seconds,
        metavar="SECONDS",
        help="how long a worker process may take to start before it is restarted "
        "(default: EMONEV_WORKER_STARTUP_TIMEOUT_SECONDS, 60)",
    )
    p.add_argument(
        "--forwarded-allow-ips",
        default=None,
        metavar="ADDRESSES",
        help="proxies (comma-separated addresses or networks, * for any) whose X-Forwarded-For names the "
        "client; the public pages' request limits count that client (default: 127.0.0.1, or uvicorn's "
        "FORWARDED_ALLOW_IPS)",
    )
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        from app.db.session import dispose_engines

        dispose_engines()


if __name__ == "__main__":
    sys.exit(main())
