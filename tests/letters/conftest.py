from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import Pages


@pytest.fixture
def pages(client: TestClient) -> Pages:
    return Pages(client)
