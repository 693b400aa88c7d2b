"""Pages of the playbooks domain."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
