"""The service's duties (delivering e-mail, delivering webhooks) are jobs of their own kind (``duty_kind``):
never asked for, each saying which duty in both languages, and read by the system administrator only."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.principal import Principal, Role
from app.db.models import Job
from app.errors import Conflict
from app.jobs.service import request_job
from app.mail import delivery as mail
from app.webhooks import delivery as webhooks
from tests.factories import World

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
