"""The verifier's pages: assigned bodies, the verification screen, objections to answer."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
