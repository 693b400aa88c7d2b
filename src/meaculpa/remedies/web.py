"""Pages of the remedies domain."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
