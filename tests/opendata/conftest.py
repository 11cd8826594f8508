"""A round published through the API for the open-data tests (tests/results/gated.py, with region codes):

body                        region          verified  presentasi  final  band               rank
world.body (A)              31.71.01.1001   90.00     80          87.00  menuju-informatif  1
world.other_body (B)        31.71           85.00     90          86.50  menuju-informatif  2
Kelurahan Cempaka           32              80.00     -           56.00  kurang-informatif  3
Kelurahan Dahlia            -               (invited, never submitted: tidak mengikuti)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.opendata.service import FILES, address
from tests.factories import World
from tests.results.gated import Gated, gated_season


@dataclass
class Opened:
    world: World
    gated: Gated

    def url(self, name: str, revision: int | None = 1) -> str:
        """``revision`` None: the ``terbaru`` address."""
        return address(
            commission_code=self.world.commission.code,
            round_id=self.world.round.id,
            revision=revision,
            name=name,
        )

    def publish(self, client: TestClient, reason: str) -> int:
        response = client.post(
            f"/api/v1/rounds/{self.world.round.id}/publish",
            json={"reason": reason},
            headers=self.world.token(self.world.admin),
        )
        assert response.status_code == 201, response.text
        revision: int = response.json()["revision"]
        return revision

    def download(self, client: TestClient, folder: Path, revision: int = 1) -> Path:
        """Every file of the revision, saved side by side as a data officer would."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            response = client.get(self.url(name, revision))
            assert response.status_code == 200, response.text
            (folder / name).write_bytes(response.content)
        return folder


@pytest.fixture
def opened(client: TestClient, world: World) -> Opened:
    gated = gated_season(world)
    world.body.region_code = "31.71.01.1001"
    world.other_body.region_code = "31.71"
    gated.failed.region_code = "32"
    world.session.flush()
    found = Opened(world, gated)
    found.publish(client, "Keputusan Rapat Pleno Nomor 7/2025")
    return found
