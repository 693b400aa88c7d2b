"""Pages of the mail domain."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
