#!/usr/bin/env python3
"""Render ``report.html`` in headless Chromium; fail on a JavaScript error, a network request or a blank page.

Usage: ``python scripts/checks/check_report_browser.py REPORT.html [--screenshot PNG] [--chromium PATH]``

Chromium (Debian package ``chromium``: ``apt-get install -y chromium``) runs twice with a fresh
profile and no network services:

1. ``--dump-dom --enable-logging=stderr``: the DOM after scripts ran, and the console log. The report's
   inline script sets ``data-rendered`` on ``<html>`` (the number of sections) and ``data-js-error`` on
   any uncaught error; the check requires the first, forbids the second, and requires visible text (not a
   blank page). An ``Uncaught`` error or a failed resource load in the console fails too;
2. ``--screenshot``: a PNG of the page (default: next to the report), which must not be one flat colour.

Exit status 0 when every check passes, 1 otherwise (the reasons are printed), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
]
_ERROR_PATTERNS = re.compile(
    r"Uncaught|SyntaxError|ReferenceError|TypeError|net::ERR_|Failed to load resource", re.IGNORECASE
)


def find_chromium(explicit: str | None) -> str | None:
    candidates = (
        [explicit]
        if explicit
        else ["/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
    )
    for c in candidates:
        if c and (Path(c).exists() or shutil.which(c)):
            return c if Path(c).exists() else shutil.which(c)
    return None


def run_chromium(chromium: str, extra: list[str], url: str, timeout: int = 90) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="voc-chromium-") as profile:
        cmd = [chromium, *FLAGS, f"--user-data-dir={profile}", *extra, url]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def visible_text(dom: str) -> str:
    body = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", dom)
    body = re.sub(r"(?s)<[^>]+>", " ", body)
    return re.sub(r"\s+", " ", body).strip()


def png_is_flat(path: Path) -> bool:
    """True when the PNG's pixel data is a single repeated value (a blank page)."""
    data = path.read_bytes()
    if not data.startswith(b"\x89PNG"):
        return True
    pos, idat = 8, b""
    width = height = 0
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height = int.from_bytes(chunk[:4], "big"), int.from_bytes(chunk[4:8], "big")
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    if width == 0 or height == 0:
        return True
    stride = len(raw) // height
    rows = {raw[i * stride + 1 : (i + 1) * stride] for i in range(0, height, max(1, height // 50))}
    # A blank page has identical rows made of one repeated pixel.
    return len(rows) == 1 and len(set(next(iter(rows)))) <= 4


def check(report: Path, screenshot: Path | None, chromium: str, window: str = "1280,4000") -> list[str]:
    problems: list[str] = []
    url = report.resolve().as_uri()
    text = report.read_text(encoding="utf-8", errors="replace")
    for m in re.finditer(r"""(?:src|href)\s*=\s*["']?\s*(https?:|//)""", text, re.IGNORECASE):
        problems.append(f"external resource reference at offset {m.start()}")

    # One run gives both the DOM after scripts (stdout) and the console log (stderr).
    dom_run = run_chromium(
        chromium, ["--enable-logging=stderr", "--v=0", "--dump-dom", "--virtual-time-budget=5000"], url
    )
    dom = dom_run.stdout
    if dom_run.returncode != 0 or not dom.strip():
        problems.append(f"chromium --dump-dom failed (exit {dom_run.returncode}): {dom_run.stderr.strip()[-300:]}")
    else:
        err = re.search(r'data-js-error="([^"]*)"', dom)
        if err:
            problems.append(f"JavaScript error: {err.group(1)}")
        if not re.search(r'data-rendered="[1-9]', dom):
            problems.append("the page's script did not mark it rendered (no data-rendered on <html>)")
        words = visible_text(dom)
        if len(words) < 200:
            problems.append(f"blank or nearly blank page ({len(words)} characters of visible text)")
    for line in dom_run.stderr.splitlines():
        if ("CONSOLE" in line or "console" in line or "net::ERR_" in line) and _ERROR_PATTERNS.search(line):
            problems.append(f"console: {line.strip()[:300]}")

    if screenshot is None:
        return problems
    shot_run = run_chromium(
        chromium, [f"--screenshot={screenshot.resolve()}", f"--window-size={window}", "--virtual-time-budget=5000"], url
    )
    if not screenshot.exists() or screenshot.stat().st_size == 0:
        problems.append(f"no screenshot written (exit {shot_run.returncode}): {shot_run.stderr.strip()[-300:]}")
    elif png_is_flat(screenshot):
        problems.append("the screenshot is one flat colour (blank page)")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--screenshot", type=Path, default=None, help="PNG path (default: REPORT.png)")
    parser.add_argument("--chromium", default=None, help="browser binary (default: /usr/bin/chromium)")
    parser.add_argument("--window-size", default="1280,4000", help="width,height of the screenshot")
    parser.add_argument("--no-screenshot", action="store_true", help="skip the screenshot (faster)")
    args = parser.parse_args(argv)
    if not args.report.is_file():
        print(f"error: report not found: {args.report}", file=sys.stderr)
        return 2
    chromium = find_chromium(args.chromium)
    if chromium is None:
        print(
            "error: chromium not found; install it with: apt-get update && apt-get install -y chromium", file=sys.stderr
        )
        return 2
    screenshot = None if args.no_screenshot else (args.screenshot or args.report.with_suffix(".png"))
    problems = check(args.report, screenshot, chromium, args.window_size)
    if problems:
        for p in problems:
            print(f"FAIL: {p}")
        return 1
    shot = f"; screenshot {screenshot}" if screenshot else ""
    print(f"OK: {args.report} rendered in {chromium} with no JavaScript error{shot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
