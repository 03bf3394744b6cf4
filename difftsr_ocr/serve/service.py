"""The work behind each endpoint, for one replica: one pipeline, its restorer fed by the pool.

Nothing here knows Ray or HTTP: :mod:`difftsr_ocr.serve.app` turns requests into calls
of :class:`RestoreService`, :mod:`difftsr_ocr.serve.deployment` gives it Ray Serve's pool.
Decoding, detection, recognition, gating and encoding run in request threads, so the
event loop stays free to gather the next pool while pages are being worked on.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import io
import json
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from difftsr_ocr.config import config_to_dict
from difftsr_ocr.errors import ConfigError, InputImageError
from difftsr_ocr.pipeline import PageResult, Pipeline, PreparedPage, crop_seed
from difftsr_ocr.restore.base import RestoredCrop
from difftsr_ocr.serve.pooling import CropBatch, PooledRestorer, PoolStats, restore_pooled

__all__ = ["PAGE_MEDIA_TYPES", "RestoreService", "ServiceSettings"]

# What a page may be sent as, and the file suffix the loader recognises it by.
PAGE_MEDIA_TYPES = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/tiff": ".tif",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "application/pdf": ".pdf",
}


@dataclasses.dataclass(frozen=True)
class ServiceSettings:
    """How one replica serves: pooling, limits, and how many requests it works on at once."""

    max_batch_size: int = 16
    batch_wait_ms: float = 20.0
    max_body_bytes: int = 64 << 20
    max_crops: int = 256
    pdf_dpi: float = 200.0
    concurrent_requests: int = 32

    def __post_init__(self) -> None:
        checks = {
            "max_batch_size": self.max_batch_size >= 1,
            "batch_wait_ms": self.batch_wait_ms >= 0,
            "max_body_bytes": self.max_body_bytes >= 1,
            "max_crops": self.max_crops >= 1,
            "pdf_dpi": self.pdf_dpi > 0,
            "concurrent_requests": self.concurrent_requests >= 1,
        }
        wrong = [name for name, ok in checks.items() if not ok]
        if wrong:
            raise ConfigError(f"service setting {wrong[0]} = {getattr(self, wrong[0])} is out of range")


class RestoreService:
    """One replica's pipeline behind async calls; ``pool`` restores a :class:`CropBatch` with others'."""

    def __init__(
        self,
        pipeline: Pipeline,
        pool: Callable[[CropBatch], Awaitable[list[RestoredCrop]]],
        settings: ServiceSettings,
    ) -> None:
        self.settings = settings
        self.stats = PoolStats()
        self.restorer = pipeline.restorer
        self.pooled = PooledRestorer(pipeline.restorer, pool) if pipeline.restorer is not None else None
        self.pipeline = Pipeline(
            pipeline.detector, pipeline.recognizer, self.pooled, pipeline.config, pipeline.upscaler
        )
        self.pool = pool
        # Request threads block while their crops wait in the pool, so the restorer gets a
        # thread of its own: sharing one executor could leave it none.
        self.request_threads = ThreadPoolExecutor(settings.concurrent_requests, thread_name_prefix="difftsr-request")
        self.restorer_thread = ThreadPoolExecutor(1, thread_name_prefix="difftsr-restorer")

    async def restore_batches(self, batches: Sequence[CropBatch]) -> list[list[RestoredCrop]]:
        """The pool's work: every batch's crops in one call of the real restorer."""
        return await restore_pooled(self.restorer, batches, self.restorer_thread, self.stats)

    async def _in_thread(self, work: Callable[[], Any]) -> Any:
        loop = asyncio.get_running_loop()
        if self.pooled is not None:
            self.pooled.loop = loop
        return await loop.run_in_executor(self.request_threads, work)

    async def restore_page(self, body: bytes, media_type: str, name: str, page: int) -> dict[str, Any]:
        """The same JSON as the command line writes (``result``), and the restored page as base64 PNG."""
        return await self._in_thread(lambda: self._page_answer(body, media_type, name, page))

    async def review_page(self, body: bytes, media_type: str, name: str, page: int) -> dict[str, Any]:
        """What the web page shows: a before/after preview, one card per line, and the text."""
        return await self._in_thread(lambda: self._review_answer(body, media_type, name, page))

    async def restore_crops(self, payload: object) -> dict[str, Any]:
        """Line crops (base64 PNG/JPEG in JSON) restored with the other requests' crops."""
        crops, seeds = await self._in_thread(lambda: self._decode_crops(payload))
        if self.pooled is None:
            results = [RestoredCrop(None, skipped="the service runs without a restorer") for _ in crops]
        else:
            results = await self.pool(CropBatch(crops, seeds))
        return await self._in_thread(lambda: {"crops": [_crop_answer(result) for result in results]})

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "restorer": self.restorer.name if self.restorer is not None else "none"}

    def about(self) -> dict[str, Any]:
        """The pipeline config and the provenance every result of this replica carries."""
        from difftsr_ocr.provenance import run_provenance

        return {
            "config": config_to_dict(self.pipeline.config),
            "provenance": run_provenance(self.pipeline),
            "service": dataclasses.asdict(self.settings),
        }

    # --- in request threads -----------------------------------------------------------

    def _run_page(self, body: bytes, media_type: str, name: str, page: int) -> tuple[PreparedPage, PageResult]:
        page_image = _decode_page(body, media_type, name, page, self.pipeline.config.max_image_pixels, self.settings)
        prepared = self.pipeline.prepare(page_image)
        self.pipeline.restore([prepared])
        return prepared, self.pipeline.finish(prepared)

    def _page_answer(self, body: bytes, media_type: str, name: str, page: int) -> dict[str, Any]:
        from difftsr_ocr.export.json import document_to_json
        from difftsr_ocr.outputs import results_document
        from difftsr_ocr.provenance import run_provenance

        _, result = self._run_page(body, media_type, name, page)
        document = results_document(name, [result.page], run_provenance(self.pipeline))
        return {
            "result": json.loads(document_to_json(document)),
            "image": base64.b64encode(_png(result.image)).decode("ascii"),
            "media_type": "image/png",
        }

    def _review_answer(self, body: bytes, media_type: str, name: str, page: int) -> dict[str, Any]:
        from difftsr_ocr.export.preview import ReportItem, before_after_preview
        from difftsr_ocr.export.report import line_card, png_data_uri

        prepared, result = self._run_page(body, media_type, name, page)
        cards = [
            line_card(ReportItem(line, work.crop, work.restored_crop, 0, number), f"Line {number + 1}")
            for number, (line, work) in enumerate(zip(result.page.lines, prepared.lines, strict=True))
        ]
        return {
            "name": name,
            "preview": png_data_uri(before_after_preview(result.original.pixels, result.image, result.page)),
            "cards": "\n".join(cards),
            "lines": len(result.page.lines),
            "counts": result.page.counts(),
            "text": result.page.text,
        }

    def _decode_crops(self, payload: object) -> tuple[list[np.ndarray], list[int]]:
        if not isinstance(payload, dict) or not isinstance(payload.get("crops"), list):
            raise InputImageError('send {"crops": [base64 PNG or JPEG, ...], "seeds": [int, ...] (optional)}')
        encoded = payload["crops"]
        if len(encoded) > self.settings.max_crops:
            raise InputImageError(f"{len(encoded)} crops in one request; the service takes {self.settings.max_crops}")
        seeds = payload.get("seeds")
        if seeds is None:
            seeds = [crop_seed(self.pipeline.config.seed, 0, number, 0) for number in range(len(encoded))]
        if not isinstance(seeds, list) or len(seeds) != len(encoded) or not all(type(s) is int for s in seeds):
            raise InputImageError("seeds must be a list of integers, one per crop")
        limit = self.pipeline.config.max_image_pixels
        return [_decode_crop(item, number, limit) for number, item in enumerate(encoded)], seeds


def _decode_page(body: bytes, media_type: str, name: str, page: int, max_pixels: int, settings: ServiceSettings) -> Any:
    """The ``page``-th page (1-based) of an uploaded image or PDF, checked as the command line checks files."""
    from difftsr_ocr.multipage import iter_pages, page_count

    if not body:
        raise InputImageError(f"{name}: the request body is empty; send the image or PDF itself")
    pdf = media_type == "application/pdf"
    with tempfile.TemporaryDirectory(prefix="difftsr_serve_") as folder:
        path = Path(folder) / f"upload{PAGE_MEDIA_TYPES[media_type]}"
        path.write_bytes(body)
        try:
            count = page_count(path, max_pixels)
            if not 1 <= page <= count:
                raise InputImageError(f"{name}: has {count} page(s); page {page} asked for")
            # Only the page asked for is decoded: a service asked for one page need not render a thousand.
            chosen = next(image for _, image in iter_pages(path, max_pixels, settings.pdf_dpi, wanted={page - 1}))
        except InputImageError as error:
            # The message names our temporary file; the client knows its upload by its own name.
            raise InputImageError(str(error).replace(str(path), name)) from None
    single = page == 1 if pdf else count == 1
    return dataclasses.replace(chosen, source=name if single else f"{name}#page={page}")


def _decode_crop(item: object, number: int, max_pixels: int) -> np.ndarray:
    if not isinstance(item, str):
        raise InputImageError(f"crop {number + 1}: expected a base64 string, got {type(item).__name__}")
    try:
        data = base64.b64decode(item, validate=True)
    except ValueError:
        raise InputImageError(f"crop {number + 1}: not valid base64") from None
    try:
        with Image.open(io.BytesIO(data)) as image:
            # Checked before decoding: the header alone says how large the pixels would be.
            if image.width * image.height > max_pixels:
                raise InputImageError(
                    f"crop {number + 1}: {image.width}x{image.height} px is over the {max_pixels:,} pixel limit"
                )
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise InputImageError(f"crop {number + 1}: not an image Pillow can read safely; send PNG or JPEG") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise InputImageError(f"crop {number + 1}: damaged or truncated image ({error})") from None


def _crop_answer(result: RestoredCrop) -> dict[str, Any]:
    return {
        "image": base64.b64encode(_png(result.image)).decode("ascii") if result.image is not None else None,
        "text": result.text,
        "confidence": result.confidence,
        "text_source": result.text_source,
        "skipped": result.skipped,
    }


def _png(pixels: np.ndarray) -> bytes:
    """RGB pixels as a quickly compressed PNG: lossless, so the client gets exactly the pipeline's pixels."""
    array = cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2BGR) if pixels.ndim == 3 else pixels
    ok, encoded = cv2.imencode(".png", array, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise InputImageError(f"could not encode a {pixels.shape} image as PNG")
    return encoded.tobytes()
