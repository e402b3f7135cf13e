"""report.html: self-contained, escaped, and (when Chromium is installed) renders without errors."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from pipeline.ranking.rank import RankConfig, rank_posts, write_ranking
from pipeline.ranking.report import render_report
from tests.test_rank import base_records

REPO = Path(__file__).resolve().parents[1]
CHECK_REPORT_BROWSER = REPO / "scripts" / "checks" / "check_report_browser.py"
EVIL = "<script>alert('x')</script> & <img src=x onerror=alert(1)>"


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in {
            "meta",
            "br",
            "img",
            "input",
            "link",
            "hr",
            "line",
            "circle",
            "rect",
            "polyline",
            "polygon",
            "path",
        }:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in {"line", "circle", "rect", "polyline", "polygon", "path"} and (
            not self.stack or self.stack[-1] != tag
        ):
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
            return
        self.stack.pop()


def _records() -> list[dict[str, Any]]:
    recs = base_records()
    for i, r in enumerate(recs):
        r["brand"] = "Alpha & Co" if i % 2 else "Beta <b>"
    recs[0]["text"] = EVIL
    recs[0]["topic_score"] = 1.0
    return recs


def _report() -> tuple[str, dict[str, Any]]:
    recs = _records()
    result = rank_posts(recs, RankConfig(discover=False, n_bootstrap=100), by_brand=True)
    return render_report(result, recs), result


def test_report_is_self_contained_html() -> None:
    page, result = _report()
    assert page.startswith("<!DOCTYPE html>")
    parser = _Collector()
    parser.feed(page)
    parser.close()
    assert parser.errors == []
    assert parser.stack == []
    for tag, attrs in parser.tags:
        for name in ("src", "href", "xlink:href", "action", "data"):
            value = attrs.get(name) or ""
            assert not re.match(r"\s*(https?:)?//", value), f"<{tag} {name}={value}> loads a resource"
        assert tag not in {"link", "iframe", "object", "embed", "img"}
    assert "http://" not in page and "https://" not in page
    assert "@import" not in page and "url(" not in page
    for t in result["topics"]:
        assert t["label"] in page
    assert "<svg" in page


def test_report_escapes_post_text_and_names() -> None:
    page, _ = _report()
    assert EVIL not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert page.count("<script>") == 1  # the report's own inline script only
    assert "<img" not in page
    assert "Beta &lt;b&gt;" in page and "Alpha &amp; Co" in page


def test_report_without_dates_or_records() -> None:
    recs = base_records()
    for r in recs:
        r["created_at"] = None
    result = rank_posts(recs, RankConfig(discover=False, n_bootstrap=50))
    page = render_report(result, [])
    assert "Not enough dated posts" in page
    assert "post p" in page  # example ids still shown


def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    def check(report: Path) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, str(CHECK_REPORT_BROWSER), str(report), "--no-screenshot"]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    recs = _records()
    result = rank_posts(recs, RankConfig(discover=False, n_bootstrap=50), by_brand=True)
    paths = write_ranking(result, tmp_path, recs)
    rendered = check(paths["html"])
    if "chromium not found" in rendered.stderr:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr  # no problem found
    broken = tmp_path / "broken.html"
    broken.write_text(
        paths["html"].read_text(encoding="utf-8").replace("</body>", "<script>undefinedFunction();</script></body>"),
        encoding="utf-8",
    )
    failed = check(broken)
    assert any("JavaScript error" in line for line in failed.stdout.splitlines() if line.startswith("FAIL: "))
