"""JSON API of the followups domain."""

from fastapi import APIRouter

router = APIRouter(tags=["followups"])
