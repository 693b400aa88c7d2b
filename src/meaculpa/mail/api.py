"""JSON API of the mail domain."""

from fastapi import APIRouter

router = APIRouter(tags=["mail"])
