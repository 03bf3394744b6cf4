"""Seeded synthetic pages: degraded images whose lines, polygons and damage are known exactly.

Benchmarks need pages where the right answer is not a matter of opinion, and tests
need them to be identical on every run. Every page here is a pure function of its
seed: the text, the layout, the colours and the degradation are all drawn from
``numpy.random.default_rng``, and the fonts come from Debian packages, so a number
measured on one machine can be reproduced byte for byte on another.

Polygons use the pixel-edge convention of :mod:`difftsr_ocr.geometry`: the page spans
``[0, W] x [0, H]`` and pixel ``(i, j)`` covers ``[j, j + 1] x [i, i + 1]``.

Framework-free on purpose (numpy, OpenCV, Pillow, shapely; never torch), so detection
and geometry tests can use it without a deep learning stack.

Modules: :mod:`.render` draws lines and knows their truth polygons, :mod:`.degradation`
damages a page, :mod:`.document` and :mod:`.scene` plan the two layout families (with
:mod:`.placement` and :mod:`.phrases` shared between them), and :mod:`.pages` puts a
seeded page together and caches it.
"""

__all__: list[str] = []
