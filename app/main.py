"""The FastAPI application: wiring only. Each domain brings its own router."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp

from app import api_docs
from app.accounts.routes import router as accounts_router
from app.bodies.routes import router as bodies_router
from app.body_timeout import BodyReadTimeoutMiddleware
from app.commissions.routes import router as commissions_router
from app.contract import document as contract_document
from app.db.session import Timeouts, get_engine, make_sessionmaker
from app.evidence.routes import router as evidence_router
from app.exports.routes import router as exports_router
from app.health import probe_engine
from app.health import router as health_router
from app.inputs import refuse_unstorable_input
from app.jobs import worker as job_worker
from app.jobs.routes import router as jobs_router
from app.letters.routes import router as letters_router
from app.mail.routes import router as mail_router
from app.opendata.routes import router as opendata_router
from app.problems import install_problem_handlers
from app.questionnaires.routes import router as questionnaires_router
from app.request_body import ReadBodyFirst, body_limit
from app.results.routes import router as results_router
from app.rounds.routes import router as rounds_router
from app.security_headers import SecurityHeadersMiddleware
from app.settings import Settings, get_settings
from app.stages.routes import router as stages_router
from app.submissions import queue as save_queue
from app.submissions.routes import router as submissions_router
from app.verification.routes import router as verification_router
from app.web.routes import install as install_web_pages
from app.webhooks.routes import router as webhooks_router

API_PREFIX = "/api/v1"


def freeze_startup_objects() -> None:
    """Take what the process has built by now (modules, routes, the engine), which lives as long as
    the process, out of the cyclic garbage collector's sight. A full collection then scans only what requests
    leave behind: about 0.1 ms instead of a 120-150 ms stall, every few thousand requests, of every request
    the process is serving (bench/README.md, "Saving answers")."""
    gc.collect()
    gc.freeze()


def operation_id(route: APIRoute) -> str:
    return route.name


class EmonevApp(FastAPI):
    """The app with its security headers added outermost, outside Starlette's own error handling, so that
    every response (a 500 included) carries them."""

    def openapi(self) -> dict[str, Any]:
        """FastAPI's document completed with every error answer and how each operation authenticates
        (app/contract/document.py); built once."""
        if self.openapi_schema is None:
            self.openapi_schema = contract_document.complete(self, super().openapi())
        return self.openapi_schema

    def build_middleware_stack(self) -> ASGIApp:
        settings: Settings = self.state.settings
        return SecurityHeadersMiddleware(
            super().build_middleware_stack(), production=settings.environment == "production"
        )


def create_app(
    settings: Settings | None = None, *, session_factory: sessionmaker[Session] | None = None
) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if session_factory is None:
            engine = get_engine(
                settings.database_url,
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_max_overflow,
                timeouts=Timeouts.for_requests(settings),
            )
            app.state.sessionmaker = make_sessionmaker(engine)
            probe = probe_engine(settings)
            app.state.readiness_sessions = make_sessionmaker(probe)
        # Jobs run in this process on SQLite (app/jobs/worker.py); tests run them by hand.
        runner = job_worker.start_in_server(settings) if session_factory is None else None
        if settings.environment != "test":  # tests start hundreds of apps in one process
            freeze_startup_objects()
        yield
        if runner is not None:
            runner.stop()
        if session_factory is None:
            probe.dispose()

    app = EmonevApp(
        title="E-Monev SAQ",
        version="0.1.0",
        description=(
            "Self-assessment questionnaires, scoring, verification and rankings for the Information "
            "Commissions' yearly E-Monev of public information disclosure (UU 14/2008). Errors are RFC 9457 "
            "problem+json; messages are in English."
        ),
        license_info={"name": "MIT", "identifier": "MIT"},
        servers=[{"url": settings.base_url, "description": "this deployment (EMONEV_BASE_URL)"}],
        # Operation ids are the route functions' names (unique in the app), so generated clients get
        # ``get_submission`` rather than ``get_submission_api_v1_submissions__submission_id__get``.
        generate_unique_id_function=operation_id,
        lifespan=lifespan,
        docs_url=None,  # app/api_docs.py serves /docs and /redoc without a CDN
        redoc_url=None,
        dependencies=[Depends(refuse_unstorable_input)],  # NUL, NaN: a 422 naming the field
    )
    app.state.settings = settings
    if session_factory is not None:
        app.state.sessionmaker = session_factory
        app.state.readiness_sessions = session_factory
    install_problem_handlers(app)
    # Bodies are read in full before anything opens a database session (app/request_body.py).
    app.add_middleware(ReadBodyFirst, limit=lambda: body_limit(settings))
    save_queue.install(app, settings.save_concurrency)

    app.add_middleware(BodyReadTimeoutMiddleware, seconds=settings.body_read_timeout_seconds)
    app.include_router(health_router)
    # Routers are matched in this order, route by route: the submissions' come first, since their GET and
    # PUT are most of the traffic (matching past the others cost about 0.1 ms a request).
    for router in (
        submissions_router,
        accounts_router,
        commissions_router,
        bodies_router,
        rounds_router,
        evidence_router,
        questionnaires_router,
        verification_router,
        stages_router,
        results_router,
        exports_router,
        jobs_router,
        letters_router,
        mail_router,
        webhooks_router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(opendata_router)  # /data/...: files, outside the API prefix
    api_docs.install(app, openapi_url=app.openapi_url or "/openapi.json")  # before the pages' /static
    install_web_pages(app)  # pages at /, outside the API prefix; HTML errors on page paths
    return app
