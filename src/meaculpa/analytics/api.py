"""JSON API of the analytics domain."""

from fastapi import APIRouter

router = APIRouter(tags=["analytics"])
