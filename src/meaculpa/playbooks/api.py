"""JSON API of the playbooks domain."""

from fastapi import APIRouter

router = APIRouter(tags=["playbooks"])
