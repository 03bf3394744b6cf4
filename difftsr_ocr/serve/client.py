"""A client of the difftsr-ocr service, on the standard library only (``urllib``).

``restore_image(..., server=URL)`` and the OCRmyPDF plug-in's ``--difftsr-server`` use
it, so any number of processes share the models of one service instead of loading their
own. The service's refusals come back as the same one-line errors the pipeline raises
in-process: :class:`~difftsr_ocr.errors.InputImageError` for a page it cannot take,
:class:`~difftsr_ocr.errors.ServiceError` when it cannot be reached or fails.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from difftsr_ocr.errors import InputImageError, ServiceError, printable
from difftsr_ocr.restore.base import RestoredCrop
from difftsr_ocr.results import Document

__all__ = ["RemotePage", "ServiceClient"]

# Statuses that mean the request itself was wrong, not the service.
_INPUT_REFUSALS = (413, 415, 422)


@dataclasses.dataclass(frozen=True)
class RemotePage:
    """A page the service restored: its results (as the command line's JSON holds them) and the restored pixels."""

    document: Document
    image: np.ndarray


class ServiceClient:
    """Talks to one service at ``url`` (e.g. ``http://127.0.0.1:8000``); ``timeout`` is per request, in seconds."""

    def __init__(self, url: str, timeout: float = 600.0) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ServiceError(f"{url}: not a service address; give one like http://127.0.0.1:8000")
        self.url = url.rstrip("/")
        self.timeout = timeout

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/v1/health")

    def about(self) -> dict[str, Any]:
        """The service's pipeline config, the provenance its results carry, and its settings."""
        return self._call("GET", "/v1/config")

    def stats(self) -> dict[str, Any]:
        """How full its restorer calls were (of the replica that answers)."""
        return self._call("GET", "/v1/stats")

    def restore_page(self, data: bytes, media_type: str, name: str = "upload", page: int = 1) -> RemotePage:
        """Restore one page of an image or PDF file's bytes (``media_type`` e.g. ``image/png``)."""
        query = urllib.parse.urlencode({"name": name, "page": page})
        answer = self._call("POST", f"/v1/restore/page?{query}", data, media_type)
        from difftsr_ocr.export.json import document_from_json

        document = document_from_json(json.dumps(answer["result"]))
        return RemotePage(document=document, image=_decode_png(answer["image"]))

    def restore_crops(self, crops: Sequence[np.ndarray], seeds: Sequence[int] | None = None) -> list[RestoredCrop]:
        """Restore line crops (``H x W x 3`` uint8 RGB), pooled with other clients' crops."""
        payload = {
            "crops": [base64.b64encode(_encode_png(crop)).decode("ascii") for crop in crops],
            "seeds": list(seeds) if seeds is not None else None,
        }
        answer = self._call("POST", "/v1/restore/crops", json.dumps(payload).encode("utf-8"), "application/json")
        return [
            RestoredCrop(
                image=_decode_png(item["image"]) if item["image"] is not None else None,
                text=item["text"],
                confidence=item["confidence"],
                text_source=item["text_source"],
                skipped=item["skipped"],
            )
            for item in answer["crops"]
        ]

    def _call(self, method: str, path: str, body: bytes | None = None, media_type: str | None = None) -> Any:
        request = urllib.request.Request(self.url + path, data=body, method=method)
        if media_type is not None:
            request.add_header("Content-Type", media_type)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            reason = _reason(error)
            if error.code in _INPUT_REFUSALS:
                raise InputImageError(f"the service refused the input ({error.code}): {reason}") from None
            raise ServiceError(f"the service at {self.url} answered {error.code}: {reason}") from None
        except (urllib.error.URLError, OSError) as error:
            why = getattr(error, "reason", error)
            raise ServiceError(
                f"cannot reach the difftsr-ocr service at {self.url} ({why}); start it with python -m difftsr_ocr.serve"
            ) from None
        except ValueError:
            raise ServiceError(f"{self.url}{path} did not answer JSON; is it a difftsr-ocr service?") from None


def _reason(error: urllib.error.HTTPError) -> str:
    try:
        return printable(str(json.loads(error.read())["error"]))
    except (ValueError, KeyError, TypeError, OSError):
        return printable(str(error.reason))


def _encode_png(pixels: np.ndarray) -> bytes:
    array = np.ascontiguousarray(pixels)
    if array.dtype != np.uint8 or array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
        raise InputImageError(f"send H x W or H x W x 3 uint8 images, not {array.dtype} {array.shape}")
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(array, cv2.COLOR_RGB2BGR) if array.ndim == 3 else array)
    if not ok:
        raise InputImageError(f"could not encode a {array.shape} image as PNG")
    return encoded.tobytes()


def _decode_png(text: str) -> np.ndarray:
    decoded = cv2.imdecode(np.frombuffer(base64.b64decode(text), np.uint8), cv2.IMREAD_COLOR)
    if decoded is None:
        raise ServiceError("the service sent an image that does not decode")
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
