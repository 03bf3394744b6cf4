"""The service's one web page: drop an image, see the page with its lines and each line's card.

No build step and no external assets: the style and the script are inline, the images
come back as data URIs. The line cards are the ``report`` format's
(:func:`difftsr_ocr.export.report.line_card`), rendered by the service, so the page and
the report file show a line the same way.
"""

from __future__ import annotations

import functools
from html import escape

from difftsr_ocr.export.report import CARD_STYLE
from difftsr_ocr.serve.service import PAGE_MEDIA_TYPES
from difftsr_ocr.version import SOFTWARE_NAME, software_version

__all__ = ["web_page"]

_PAGE_STYLE = """
body { font-family: sans-serif; margin: 1.5em; max-width: 80em; }
#drop { display: block; margin: 1em 0; border: 3px dashed #888; border-radius: 0.5em; padding: 2em; text-align: center; color: #444; }
#drop.over { border-color: #009e73; background: #eefaf5; }
#status.error { color: #b00020; }
#preview { max-width: 100%; border: 1px solid #ccc; }
#text { white-space: pre-wrap; background: #f6f6f6; padding: 0.6em; }
"""

# Posts the dropped file as its own body to the review endpoint; the answer carries the
# preview and the cards as HTML the service rendered.
_SCRIPT = """
const drop = document.getElementById("drop");
const picker = document.getElementById("file");
const statusLine = document.getElementById("status");
const result = document.getElementById("result");

function say(text, isError) {
  statusLine.textContent = text;
  statusLine.className = isError ? "error" : "";
}

async function send(file) {
  say("Restoring " + file.name + " ...", false);
  result.hidden = true;
  let response;
  try {
    response = await fetch("v1/review?name=" + encodeURIComponent(file.name), {
      method: "POST",
      headers: {"Content-Type": file.type || "application/octet-stream"},
      body: file,
    });
  } catch (error) {
    say("The service did not answer: " + error.message, true);
    return;
  }
  let answer;
  try {
    answer = await response.json();
  } catch (error) {
    say("The service answered " + response.status + " without a result", true);
    return;
  }
  if (!response.ok) {
    say(answer.error, true);
    return;
  }
  document.getElementById("preview").src = answer.preview;
  document.getElementById("text").textContent = answer.text;
  document.getElementById("lines").innerHTML = answer.cards;
  const counts = answer.counts;
  say(answer.name + ": " + answer.lines + " line(s), " + counts.restored + " restored, " +
      counts.kept_original + " kept original, " + counts.flagged + " flagged", false);
  result.hidden = false;
}

drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  if (event.dataTransfer.files.length) send(event.dataTransfer.files[0]);
});
picker.addEventListener("change", () => { if (picker.files.length) send(picker.files[0]); });
"""


@functools.cache
def web_page() -> str:
    """The whole page as one HTML document."""
    title = f"{SOFTWARE_NAME} {software_version(not_installed='source')}"
    accepted = ",".join(PAGE_MEDIA_TYPES)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{escape(title)}</title>
<style>{_PAGE_STYLE}{CARD_STYLE}</style>
</head>
<body>
<h1>{escape(title)}</h1>
<label id="drop">Drop a page image or PDF here, or <input id="file" type="file" accept="{accepted}"></label>
<p id="status" role="status"></p>
<div id="result" hidden>
<h2>The page: original and restored, lines outlined by the trust gate's decision</h2>
<img id="preview" alt="original and restored page">
<h2>Text</h2>
<div id="text"></div>
<h2>Lines</h2>
<div id="lines"></div>
</div>
<script>{_SCRIPT}</script>
</body>
</html>
"""
