"""HTTP plumbing: problem+json error handlers and the request-size limit."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meaculpa.core.exceptions import PayloadTooLarge, ProblemError

PROBLEM_JSON = "application/problem+json"


def problem_response(problem: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(
        problem, status_code=problem["status"], media_type=PROBLEM_JSON, headers=headers
    )


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        where, rest = parts[0], parts[1:]
        return ".".join(rest) if where == "body" and rest else ".".join([where, *rest])
    return ".".join(parts)


def install_error_handlers(app: FastAPI, html_error: Any = None) -> None:
    """Errors become problem+json on the API; pages get an HTML page through ``html_error``."""

    def wants_html(request: Request) -> bool:
        return html_error is not None and not request.url.path.startswith("/api/")

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> Response:
        if wants_html(request):
            return await html_error(request, exc.status, exc.title, exc.detail)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem_response(exc.to_problem(request.url.path), headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            problem = ProblemError("the request body is not valid JSON").to_problem(
                request.url.path
            )
            problem["type"] = "https://meaculpa.dev/problems/malformed-json"
            problem["title"] = "Malformed JSON"
            return problem_response(problem)
        fields = [
            {
                "field": _field_name(tuple(e.get("loc", ()))),
                "message": str(e.get("msg", "")),
                "type": e.get("type"),
            }
            for e in errors
        ]
        detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
        problem = {
            "type": "https://meaculpa.dev/problems/validation",
            "title": "Unprocessable content",
            "status": 422,
            "detail": detail,
            "instance": request.url.path,
            "errors": json.loads(json.dumps(fields, default=str)),
        }
        if wants_html(request):
            return await html_error(request, 422, "Unprocessable content", detail)
        return problem_response(problem)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Method not allowed", 401: "Unauthorized"}
        title = titles.get(exc.status_code, "Error")
        detail = str(exc.detail) if exc.detail else title
        if wants_html(request):
            return await html_error(request, exc.status_code, title, detail)
        return problem_response(
            {
                "type": "about:blank",
                "title": title,
                "status": exc.status_code,
                "detail": detail,
                "instance": request.url.path,
            },
            headers=getattr(exc, "headers", None),
        )


class BodySizeLimit:
    """Refuse request bodies above ``max_bytes`` with 413, declared or streamed.

    Paths in ``own_limits`` enforce a limit of their own (raw e-mail with attachments).
    """

    def __init__(self, app: ASGIApp, max_bytes: int, own_limits: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.own_limits = own_limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.own_limits:
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0 or declared > self.max_bytes:
                    await self._refuse(scope, send)
                    return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise PayloadTooLarge(f"request bodies are limited to {self.max_bytes} bytes")
            return message

        await self.app(scope, limited, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        problem = PayloadTooLarge(
            f"request bodies are limited to {self.max_bytes} bytes"
        ).to_problem(scope.get("path"))
        body = json.dumps(problem).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
