"""JSON API of the commitments domain."""

from fastapi import APIRouter

router = APIRouter(tags=["commitments"])
