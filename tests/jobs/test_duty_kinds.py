"""The service's duties (delivering e-mail, delivering webhooks) are jobs of their own kind (``duty_kind``):
never asked for, each saying which duty in both languages, and read by the system administrator only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.accounts.principal import Principal, Role
from app.db.base import utcnow
from app.db.models import Job
from app.errors import Conflict
from app.jobs.service import request_job
from app.jobs.worker import prune_duty_jobs
from app.mail import delivery as mail
from app.webhooks import delivery as webhooks
from tests.factories import World, make_job

pytestmark = pytest.mark.db

DUTIES = [
    (mail.KIND, mail.queue_delivery, "Pengiriman surel", "e-mail delivery"),
    (webhooks.KIND, webhooks.queue_delivery, "Pengiriman webhook", "webhook delivery"),
]


@pytest.mark.parametrize(("kind", "queue", "title", "english"), DUTIES)
def test_a_duty_is_never_asked_for_and_says_which(
    session: Session, world: World, kind: str, queue: Callable[[Session], None], title: str, english: str
) -> None:
    admin = Principal(role=Role.commission_admin, label="admin", commission_id=world.commission.id)
    with pytest.raises(Conflict) as refused:
        request_job(session=session, kind_name=kind, params={}, by=admin, round_id=world.round.id)
    assert refused.value.detail == f"{english} is a duty of the service itself, not asked for"
    assert refused.value.indonesian == f"{title} dijalankan oleh layanan sendiri dan tidak dapat diminta."


@pytest.mark.parametrize(("kind", "queue", "title", "english"), DUTIES)
def test_a_duty_job_is_read_by_the_system_administrator_only(
    session: Session,
    world: World,
    client: TestClient,
    kind: str,
    queue: Callable[[Session], None],
    title: str,
    english: str,
) -> None:
    queue(session)
    session.commit()
    job_id = session.scalars(select(Job.id).where(Job.kind == kind)).one()

    assert client.get(f"/api/v1/jobs/{job_id}", headers=world.token(world.admin)).status_code == 404
    shown = client.get(f"/api/v1/jobs/{job_id}", headers=world.token(world.system_admin))
    assert shown.status_code == 200, shown.text
    assert (shown.json()["kind"], shown.json()["title"]) == (kind, title)


def test_ended_duty_jobs_go_after_thirty_days_and_asked_for_jobs_stay(
    session: Session, session_factory: sessionmaker[Session], world: World
) -> None:
    now = utcnow()

    def job(kind: str, status: str, days_ago: float, commission_id: int | None = None) -> int:
        row = make_job(
            session,
            world.round,
            world.admin,
            kind=kind,
            status=status,
            commission_id=commission_id,
            finished_at=None if status in ("queued", "running") else now - timedelta(days=days_ago),
        )
        return row.id

    old = [job(mail.KIND, "done", 31), job(webhooks.KIND, "failed", 40), job(mail.KIND, "cancelled", 90)]
    kept = [
        job(mail.KIND, "done", 29),  # recent
        job(mail.KIND, "running", 0),  # still running, however long
        job("recap", "done", 400, commission_id=world.commission.id),  # asked for: kept with its state
    ]
    session.commit()

    assert prune_duty_jobs(session_factory, now, batch=2) == len(old)
    assert set(session.scalars(select(Job.id))) == set(kept)
    assert prune_duty_jobs(session_factory, now) == 0
