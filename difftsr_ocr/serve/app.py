"""The HTTP API: a small Starlette app in front of a :class:`~difftsr_ocr.serve.service.RestoreService`.

=======================  ==========================================================
``GET /``                the web page: drop an image, see its lines restored
``GET /v1/health``       ``{"status": "ok", "restorer": ...}``
``GET /v1/config``       the pipeline config, the provenance results carry, the service settings
``GET /v1/stats``        restorer calls and how many requests / crops each pooled
``POST /v1/restore/page`` an image or PDF body (``?page=N``, ``?name=``): the command line's JSON
                         as ``result`` and the restored page as base64 PNG ``image``
``POST /v1/restore/crops`` ``{"crops": [base64 PNG, ...], "seeds": [...]}``: restored crops
``POST /v1/review``      what the web page shows of an image or PDF page
=======================  ==========================================================

Every refusal is a status code with ``{"error": "one line"}``: 413 for a body over the
limit (checked against Content-Length before reading, and while reading), 415 for a
content type the endpoint does not take, 422 for a body that is not a readable image,
400 for other mistakes (a client that stops sending, a bad query).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from difftsr_ocr.errors import DifftsrError, InputImageError, printable
from difftsr_ocr.serve.page import web_page
from difftsr_ocr.serve.service import PAGE_MEDIA_TYPES, RestoreService

__all__ = ["build_app"]

logger = logging.getLogger(__name__)

# How many refusal reasons /v1/stats keeps, newest last.
_REASONS_KEPT = 20


class _Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    expected = None
    if declared is not None:
        try:
            expected = int(declared)
        except ValueError:
            raise _Refusal(400, f"Content-Length {declared[:40]!r} is not a number") from None
        if expected > limit:
            raise _Refusal(413, f"the body is {expected:,} bytes; this service takes at most {limit:,}")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _Refusal(413, f"the body is over {limit:,} bytes, the most this service takes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise _Refusal(400, f"the client disconnected after sending {size:,} bytes of the body") from None
    if expected is not None and size != expected:
        raise _Refusal(400, f"the body ended after {size:,} of the {expected:,} bytes Content-Length announced")
    return b"".join(chunks)


def _page_number(request: Request) -> int:
    text = request.query_params.get("page", "1")
    if not text.isdigit() or int(text) < 1:
        raise _Refusal(400, f"page={text[:20]!r}: give a page number from 1")
    return int(text)


def build_app(service: RestoreService) -> Starlette:
    """The ASGI app of one replica."""
    limit = service.settings.max_body_bytes
    refusals: dict[str, int] = {}
    recent_refusals: list[str] = []

    def endpoint(handler: Callable[[Request], Awaitable[Any]]) -> Callable[[Request], Awaitable[Response]]:
        async def answer(request: Request) -> Response:
            try:
                result = await handler(request)
            except asyncio.CancelledError:
                # Serve cancels a request whose client went away: no one reads an answer,
                # but the refusal is counted and logged like any other.
                _refuse(400, "the client disconnected before the request was complete")
                raise
            except _Refusal as refusal:
                return _refuse(refusal.status, str(refusal))
            except InputImageError as error:
                return _refuse(422, str(error))
            except DifftsrError as error:
                return _refuse(400, str(error))
            except Exception as error:  # one request's failure must not take the replica down
                logger.exception("unexpected error on %s", request.url.path)
                return _refuse(500, f"unexpected {type(error).__name__}: {error}")
            return result if isinstance(result, Response) else JSONResponse(result)

        return answer

    bodies_arriving = 0

    async def read_body(request: Request) -> bytes:
        # Counted while a body streams in: a slow or stalled upload shows in /v1/stats.
        nonlocal bodies_arriving
        bodies_arriving += 1
        try:
            return await _read_body(request, limit)
        finally:
            bodies_arriving -= 1

    def _refuse(status: int, message: str) -> JSONResponse:
        line = printable(message)
        refusals[str(status)] = refusals.get(str(status), 0) + 1
        recent_refusals.append(f"{status}: {line}")
        del recent_refusals[:-_REASONS_KEPT]
        logger.info("refused %d: %s", status, line)
        return JSONResponse({"error": line}, status_code=status)

    async def page_body(request: Request) -> tuple[bytes, str, str, int]:
        media_type = _media_type(request)
        if media_type not in PAGE_MEDIA_TYPES:
            shown = media_type or "no Content-Type"
            raise _Refusal(415, f"{shown[:60]} is not taken here; send one of {', '.join(PAGE_MEDIA_TYPES)}")
        page = _page_number(request)
        name = request.query_params.get("name", "upload")[:200] or "upload"
        return await read_body(request), media_type, name, page

    async def restore_page(request: Request) -> Any:
        return await service.restore_page(*await page_body(request))

    async def review(request: Request) -> Any:
        return await service.review_page(*await page_body(request))

    async def restore_crops(request: Request) -> Any:
        if _media_type(request) != "application/json":
            raise _Refusal(415, 'send the crops as application/json: {"crops": [base64 PNG, ...]}')
        body = await read_body(request)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:
            raise _Refusal(400, f"the body is not JSON ({error})") from None
        return await service.restore_crops(payload)

    async def health(request: Request) -> Any:
        return service.health()

    async def about(request: Request) -> Any:
        return service.about()

    async def stats(request: Request) -> Any:
        return {
            **service.stats.to_dict(),
            "bodies_arriving": bodies_arriving,
            "refused": dict(refusals),
            "recent_refusals": list(recent_refusals),
        }

    async def page(request: Request) -> Any:
        return HTMLResponse(web_page())

    routes = [
        Route("/", endpoint(page), methods=["GET"]),
        Route("/v1/health", endpoint(health), methods=["GET"]),
        Route("/v1/config", endpoint(about), methods=["GET"]),
        Route("/v1/stats", endpoint(stats), methods=["GET"]),
        Route("/v1/restore/page", endpoint(restore_page), methods=["POST"]),
        Route("/v1/restore/crops", endpoint(restore_crops), methods=["POST"]),
        Route("/v1/review", endpoint(review), methods=["POST"]),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": f"no endpoint {printable(request.url.path)[:100]}; see GET /"}, status_code=404)

    async def wrong_method(request: Request, exc: Exception) -> Response:
        return JSONResponse(
            {"error": f"{request.method} is not taken by {printable(request.url.path)[:100]}"}, status_code=405
        )

    return Starlette(routes=routes, exception_handlers={404: not_found, 405: wrong_method})
