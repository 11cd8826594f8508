"""The commission's pages: rounds, set-up, extensions, participation, ranking, publication, downloads."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
