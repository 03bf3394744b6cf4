#!/bin/sh
# The system packages the test suite needs, installed when missing (Debian/Ubuntu, as root
# or through sudo): fonts to render test pages with known text (Latin and CJK), and
# Tesseract, which OCRmyPDF checks for with any OCR engine. The README's test command runs
# this first, so a fresh machine needs nothing else. Chromium runs the service's web page
# in the browser test (tests/serve/test_web_page.py).
set -eu
PACKAGES="fonts-dejavu-core fonts-wqy-zenhei tesseract-ocr tesseract-ocr-eng chromium"

missing=""
for package in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing="$missing $package"
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "system-packages: install these Debian packages (or your system's equivalents) first:$missing" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1; then
    as_root="sudo"
else
    echo "system-packages: run as root or install sudo; missing:$missing" >&2
    exit 1
fi
echo "system-packages: installing$missing" >&2
$as_root apt-get update -qq
# shellcheck disable=SC2086  # the package list is meant to split into words
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
