"""Pages of the followups domain."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
