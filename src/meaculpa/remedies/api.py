"""JSON API of the remedies domain."""

from fastapi import APIRouter

router = APIRouter(tags=["remedies"])
