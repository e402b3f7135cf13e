"""``report.html``: one self-contained page for a quality manager (no network, no CDN, no external files).

Charts are hand-written inline SVG; styles are inline CSS; a few lines of inline JavaScript only record
that the page rendered (and any script error) for the headless-browser check. Every string that comes from
the data (topic labels, keywords, post texts, brand names) goes through :func:`html.escape`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pipeline import INTENT_LABELS, SENTIMENT_LABELS

INTENT_COLOURS = {
    "complaint": "#c8414b",
    "question": "#e3a33b",
    "favour-seeking": "#2f7f93",
    "praise": "#5a9e6f",
    "other": "#a3acb6",
}
SENTIMENT_COLOURS = {"negative": "#c8414b", "neutral": "#c4cad1", "positive": "#5a9e6f"}
SOURCE_COLOURS = {"taxonomy": "#2d5d9f", "discovered": "#8a4fb0"}
LINE_COLOURS = ("#2d5d9f", "#c8414b", "#5a9e6f", "#e3a33b", "#8a4fb0", "#2f7f93", "#7a5c3e", "#d4669b")
_FALLBACK = "#9aa3ad"

# How discovery chose its number of topics (RankConfig.k_selection), as the report's method note says it.
_K_RULES = {
    "stability": "clustering stability over random halves",
    "silhouette": "silhouette, one-standard-error rule",
}


def esc(value: Any) -> str:
    """HTML-escape any value for text and attribute contexts."""
    return html.escape(str(value), quote=True)


def _pp(x: float, signed: bool = True) -> str:
    return f"{x * 100:+.2f}" if signed else f"{x * 100:.2f}"


def _pct(x: float) -> str:
    return f"{x * 100:.0f}%"


def _date(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime("%d %b %Y")
    except (TypeError, ValueError):
        return str(iso)


def _short_date(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime("%d %b")
    except (TypeError, ValueError):
        return str(iso)


def _truncate(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]."""
    if hi <= lo:
        hi = lo + 1e-3
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    v = start
    while v <= hi + step * 0.5:
        ticks.append(round(v, 10))
        v += step
    return ticks


# ---------------------------------------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------------------------------------


def ci_chart(topics: Sequence[dict[str, Any]], width: int = 860) -> str:
    """Horizontal dot-and-whisker chart of score and confidence interval per topic."""
    if not topics:
        return '<p class="muted">No topic reaches the minimum support.</p>'
    row_h, label_w, pad_r, top, bottom = 26, 300, 24, 14, 34
    height = top + bottom + row_h * len(topics)
    lo = min(0.0, *(t["ci_low"] for t in topics))
    hi = max(0.0, *(t["ci_high"] for t in topics))
    ticks = _nice_ticks(lo, hi)
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
    plot_w = width - label_w - pad_r

    def x(v: float) -> float:
        return label_w + (v - lo) / (hi - lo) * plot_w

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Topic scores with confidence intervals">'
    ]
    for tv in ticks:
        xv = x(tv)
        parts.append(
            f'<line x1="{xv:.1f}" y1="{top - 4}" x2="{xv:.1f}" y2="{height - bottom}" '
            f'class="{"zero" if abs(tv) < 1e-12 else "grid"}"/>'
        )
        parts.append(
            f'<text x="{xv:.1f}" y="{height - bottom + 16}" class="tick" text-anchor="middle">{tv * 100:+.1f}</text>'
        )
    parts.append(
        f'<text x="{label_w + plot_w / 2:.1f}" y="{height - 4}" class="axis" text-anchor="middle">'
        "impact on the problem rate (percentage points)</text>"
    )
    for i, t in enumerate(topics):
        y = top + i * row_h + row_h / 2
        colour = SOURCE_COLOURS.get(t.get("source", ""), _FALLBACK)
        if i % 2 == 0:
            parts.append(f'<rect x="0" y="{y - row_h / 2:.1f}" width="{width}" height="{row_h}" class="band"/>')
        label = f"{t['rank']}. {_truncate(str(t['label']), 38)}"
        parts.append(f'<text x="{label_w - 10}" y="{y + 4:.1f}" class="label" text-anchor="end">{esc(label)}</text>')
        x0, x1, xs = x(t["ci_low"]), x(t["ci_high"]), x(t["score"])
        tip = (
            f"{t['label']}: {_pp(t['score'])} pp, CI [{_pp(t['ci_low'])}, {_pp(t['ci_high'])}], "
            f"{t['n_posts']} posts, {t['n_complaints']} complaints"
        )
        parts.append(
            f"<g><title>{esc(tip)}</title>"
            f'<line x1="{x0:.1f}" y1="{y:.1f}" x2="{x1:.1f}" y2="{y:.1f}" stroke="{colour}" '
            f'stroke-width="2"/>'
            f'<line x1="{x0:.1f}" y1="{y - 5:.1f}" x2="{x0:.1f}" y2="{y + 5:.1f}" stroke="{colour}" '
            f'stroke-width="2"/>'
            f'<line x1="{x1:.1f}" y1="{y - 5:.1f}" x2="{x1:.1f}" y2="{y + 5:.1f}" stroke="{colour}" '
            f'stroke-width="2"/>'
            f'<circle cx="{xs:.1f}" cy="{y:.1f}" r="5.5" fill="{colour}" stroke="#fff" '
            f'stroke-width="1.5"/></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def sparkline(values: Sequence[float], width: int = 110, height: int = 26, colour: str = "#2d5d9f") -> str:
    """A small line of the topic's problem posts per window, latest point marked."""
    if len(values) < 2:
        return '<span class="muted">–</span>'
    vmax = max(max(values), 1e-9)
    step = (width - 6) / (len(values) - 1)
    pts = [(3 + i * step, height - 3 - (v / vmax) * (height - 6)) for i, v in enumerate(values)]
    path = " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)
    area = f"3,{height - 3} {path} {pts[-1][0]:.1f},{height - 3}"
    lx, ly = pts[-1]
    tip = "problem posts per window: " + ", ".join(f"{v:g}" for v in values)
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f"<title>{esc(tip)}</title>"
        f'<polygon points="{area}" fill="{colour}" opacity="0.12"/>'
        f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.6"/>'
        f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="2.6" fill="{colour}"/></svg>'
    )


def trend_chart(
    topics: Sequence[dict[str, Any]], windows: Sequence[dict[str, Any]], width: int = 860, height: int = 300
) -> str:
    """Lines of problem posts per window for the given topics, with a legend."""
    if len(windows) < 2 or not topics:
        return (
            '<p class="muted">Not enough dated posts for a trend: it needs posts spread over at least two windows.</p>'
        )
    left, right, top, bottom = 48, 240, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    vmax = max(1.0, *(max(t.get("trend", [0]) or [0]) for t in topics))
    ticks = _nice_ticks(0, vmax, 4)
    vmax = max(vmax, ticks[-1])
    n = len(windows)

    def x(i: int) -> float:
        return left + i * plot_w / (n - 1)

    def y(v: float) -> float:
        return top + plot_h - v / vmax * plot_h

    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="Topic trends">']
    for tv in ticks:
        parts.append(
            f'<line x1="{left}" y1="{y(tv):.1f}" x2="{left + plot_w}" y2="{y(tv):.1f}" class="grid"/>'
            f'<text x="{left - 8}" y="{y(tv) + 4:.1f}" class="tick" text-anchor="end">{tv:g}</text>'
        )
    label_every = max(1, math.ceil(n / 8))
    for i, w in enumerate(windows):
        if i % label_every == 0 or i == n - 1:
            parts.append(
                f'<text x="{x(i):.1f}" y="{top + plot_h + 18}" class="tick" text-anchor="middle">'
                f"{esc(_short_date(w['end']))}</text>"
            )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" class="axis" text-anchor="middle">end of window</text>'
    )
    for k, t in enumerate(topics):
        colour = LINE_COLOURS[k % len(LINE_COLOURS)]
        vals = list(t.get("trend", []))[-n:]
        vals = [0.0] * (n - len(vals)) + vals
        pts = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(vals))
        parts.append(
            f"<g><title>{esc(t['label'])}: {esc(', '.join(f'{v:g}' for v in vals))}</title>"
            f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2.2" '
            f'stroke-linejoin="round"/>'
            + "".join(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.8" fill="{colour}"/>' for i, v in enumerate(vals))
            + "</g>"
        )
        ly = top + 10 + k * 20
        parts.append(
            f'<rect x="{left + plot_w + 16}" y="{ly - 8}" width="12" height="12" rx="2" '
            f'fill="{colour}"/><text x="{left + plot_w + 34}" y="{ly + 2}" class="legend">'
            f"{esc(_truncate(str(t['label']), 30))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def stacked_bar(
    counts: dict[str, int], order: Sequence[str], colours: dict[str, str], width: int = 260, height: int = 16
) -> str:
    """A 100% stacked bar of category counts (tooltips give counts and shares)."""
    total = sum(counts.get(k, 0) for k in order) + sum(v for k, v in counts.items() if k not in order)
    if total <= 0:
        return '<span class="muted">–</span>'
    keys = list(order) + sorted(k for k in counts if k not in order)
    parts = [
        f'<svg class="bar" width="100%" height="{height}" viewBox="0 0 {width} {height}" preserveAspectRatio="none">'
    ]
    x0 = 0.0
    for k in keys:
        v = counts.get(k, 0)
        if v <= 0:
            continue
        w = v / total * width
        parts.append(
            f'<rect x="{x0:.2f}" y="0" width="{w:.2f}" height="{height}" '
            f'fill="{colours.get(k, _FALLBACK)}"><title>{esc(k)}: {v:,} ({v / total:.0%})</title></rect>'
        )
        x0 += w
    parts.append("</svg>")
    return "".join(parts)


def _legend(order: Sequence[str], colours: dict[str, str]) -> str:
    return (
        '<div class="legend-row">'
        + "".join(f'<span><i style="background:{colours[k]}"></i>{esc(k)}</span>' for k in order)
        + "</div>"
    )


# ---------------------------------------------------------------------------------------------------------
# Page
# ---------------------------------------------------------------------------------------------------------

_CSS = """
:root{--ink:#1d2733;--muted:#66717d;--line:#e3e7ec;--bg:#f5f7fa;--card:#fff;--accent:#2d5d9f}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 -apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif}
header{background:#1f3a5f;color:#fff;padding:28px 0 54px}
.wrap{max-width:1180px;margin:0 auto;padding:0 24px}
header h1{margin:0 0 4px;font-size:24px;font-weight:600}
header p{margin:0;color:#c9d6e6}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:20px 22px;margin:18px 0}
h2{font-size:17px;margin:0 0 4px}
.sub{color:var(--muted);margin:0 0 14px;font-size:13px}
.kpis{display:grid;grid-template-columns:repeat(5,1fr);gap:12px;margin-top:-34px}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;
box-shadow:0 1px 3px rgba(0,0,0,.05)}
.kpi b{display:block;font-size:24px;font-weight:600}
.kpi span{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
svg.chart{width:100%;height:auto;display:block}
svg text{font-family:inherit}
.grid{stroke:#e6e9ee;stroke-width:1}.zero{stroke:#7d8792;stroke-width:1.2}
.band{fill:#f7f9fb}.tick{font-size:11px;fill:#6b7682}.axis{font-size:12px;fill:#55606b}
.label{font-size:12.5px;fill:#1d2733}.legend{font-size:12px;fill:#1d2733}
table{width:100%;border-collapse:collapse}
th{font-size:11.5px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);text-align:left;
font-weight:600;border-bottom:2px solid var(--line);padding:7px 8px;white-space:nowrap}
td{border-bottom:1px solid var(--line);padding:7px 8px;vertical-align:middle}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr:hover td{background:#fafbfd}
.tid{display:block;color:var(--muted);font-size:11.5px;font-family:ui-monospace,Menlo,Consolas,monospace}
.badge{display:inline-block;font-size:10.5px;padding:1px 7px;border-radius:9px;color:#fff;
vertical-align:1px;margin-left:4px}
.up{color:#b8323d;font-weight:600}.down{color:#3f8a57;font-weight:600}.flat{color:var(--muted)}
.meter{display:inline-block;width:60px;height:7px;background:#edf0f3;border-radius:4px;overflow:hidden;
vertical-align:middle;margin-right:6px}.meter i{display:block;height:100%;background:#c8414b}
.muted{color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:12px}
.card{border:1px solid var(--line);border-left:4px solid #c8414b;border-radius:8px;padding:12px 14px}
.card h3{margin:0 0 4px;font-size:14px}.card p{margin:2px 0;color:var(--muted);font-size:12.5px}
.legend-row{display:flex;gap:12px;flex-wrap:wrap;font-size:11.5px;color:var(--muted);margin:4px 0 2px;
text-transform:none;letter-spacing:0;font-weight:400}
table.mix td:nth-child(3),table.mix td:nth-child(4){width:36%}
svg.bar{display:block;border-radius:3px}
.legend-row i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;
vertical-align:-1px}
details{border:1px solid var(--line);border-radius:8px;margin:8px 0;padding:0 14px}
details[open]{padding-bottom:10px}
summary{cursor:pointer;padding:10px 0;font-weight:600}
summary .muted{font-weight:400}
.kw{display:inline-block;background:#eef2f7;color:#2b4a70;border-radius:4px;padding:1px 7px;margin:2px 3px 2px 0;
font-size:12px}
blockquote{margin:8px 0;padding:8px 12px;background:#fafbfc;border-left:3px solid #c8414b;border-radius:4px}
blockquote .meta{display:block;color:var(--muted);font-size:11.5px;margin-top:3px}
.two{display:grid;grid-template-columns:1fr 1fr;gap:18px}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px;background:#f1f3f6;padding:1px 4px;
border-radius:3px}
footer{color:var(--muted);font-size:12px;padding:10px 0 30px}
@media (max-width:900px){.kpis{grid-template-columns:repeat(2,1fr)}.two{grid-template-columns:1fr}}
@media print{body{background:#fff}section{break-inside:avoid}}
"""

# Records that the page rendered, and any script error, for scripts/checks/check_report_browser.py.
_JS = """
window.addEventListener('error', function (e) {
  document.documentElement.setAttribute('data-js-error', String(e.message || 'error'));
});
document.addEventListener('DOMContentLoaded', function () {
  var n = document.querySelectorAll('section').length;
  document.documentElement.setAttribute('data-rendered', String(n));
});
"""


def _growth_cell(g: float) -> str:
    if g > 0.05:
        return f'<span class="up">▲ {g * 100:+.0f}%</span>'
    if g < -0.05:
        return f'<span class="down">▼ {g * 100:+.0f}%</span>'
    return f'<span class="flat">{g * 100:+.0f}%</span>'


def _badge(source: str) -> str:
    return f'<span class="badge" style="background:{SOURCE_COLOURS.get(source, _FALLBACK)}">{esc(source)}</span>'


def _ranking_table(topics: Sequence[dict[str, Any]], conf: float) -> str:
    rows = []
    for t in topics:
        neg = float(t.get("negative_share", 0.0))
        rows.append(
            "<tr>"
            f'<td class="num">{t["rank"]}</td>'
            f'<td>{esc(t["label"])}{_badge(str(t.get("source", "")))}<span class="tid">{esc(t["topic"])}</span></td>'
            f'<td class="num"><b>{_pp(t["score"])}</b></td>'
            f'<td class="num muted">[{_pp(t["ci_low"])}, {_pp(t["ci_high"])}]</td>'
            f'<td class="num">{t["n_posts"]:,}</td>'
            f'<td class="num">{t["n_complaints"]:,}</td>'
            f'<td class="num"><span class="meter"><i style="width:{neg * 100:.0f}%"></i></span>{_pct(neg)}</td>'
            f'<td class="num">{_growth_cell(float(t.get("growth", 0.0)))}</td>'
            f'<td class="num">{float(t.get("emergence", 0.0)):+.1f}</td>'
            f"<td>{sparkline(t.get('trend', []))}</td>"
            "</tr>"
        )
    head = (
        "<tr><th class='num'>#</th><th>Topic</th><th class='num'>Score (pp)</th>"
        f"<th class='num'>{conf:.0f}% CI</th><th class='num'>Posts</th><th class='num'>Complaints</th>"
        "<th class='num'>Negative</th><th class='num'>Growth</th><th class='num'>Emergence</th>"
        "<th>Trend</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def _mix_table(rows: Sequence[tuple[str, str, dict[str, int], dict[str, int], int]]) -> str:
    body = "".join(
        f"<tr><td>{name}{sub}</td><td class='num'>{n:,}</td>"
        f"<td>{stacked_bar(intents, INTENT_LABELS, INTENT_COLOURS)}</td>"
        f"<td>{stacked_bar(sents, SENTIMENT_LABELS, SENTIMENT_COLOURS)}</td></tr>"
        for name, sub, intents, sents, n in rows
    )
    return (
        "<table class='mix'><tr><th></th><th class='num'>Posts</th>"
        f"<th>Intent mix{_legend(INTENT_LABELS, INTENT_COLOURS)}</th>"
        f"<th>Sentiment mix{_legend(SENTIMENT_LABELS, SENTIMENT_COLOURS)}</th></tr>{body}</table>"
    )


def _estimated_mix_table(brand_mix: dict[str, Any]) -> str:
    """Each brand's complaint share three ways: labels, expected from probabilities, estimated mix (EM)."""
    rows = []
    for brand, m in sorted(brand_mix.items(), key=lambda kv: -int(kv[1].get("n_posts", 0))):
        n = int(m.get("n_posts", 0))
        if not n:
            continue
        labelled = int((m.get("intents") or {}).get("complaint", 0)) / n
        expected = (m.get("intents_expected") or {}).get("complaint", {}).get("expected")
        estimate = m.get("estimated_mix")
        est_cell = "<td class='muted'>not estimated</td>"
        if estimate:
            share = estimate["mix"]["complaint"]
            low, high = estimate["interval_95"]["complaint"]
            flag = (
                (" <strong title='far from the mix the model was calibrated on'>out of the model's experience</strong>")
                if m.get("far_from_training")
                else ""
            )
            est_cell = f"<td>{share * 100:.1f}% [{low * 100:.1f}, {high * 100:.1f}]{flag}</td>"
        expected_cell = f"{expected / n * 100:.1f}%" if isinstance(expected, (int, float)) else "–"
        rows.append(
            f"<tr><td>{esc(brand)}</td><td class='num'>{n:,}</td><td class='num'>{labelled * 100:.1f}%"
            f"</td><td class='num'>{expected_cell}</td>{est_cell}</tr>"
        )
    if not rows:
        return ""
    return (
        "<h2 style='margin-top:18px'>Complaint share per brand</h2><p class='sub'>From the labels; expected "
        "from the probabilities; and the brand's class mix estimated under label shift, with its 95% "
        "interval (<code>voc score</code>'s .mix.json).</p><table class='mix'><tr><th></th>"
        "<th class='num'>Posts</th><th class='num'>Labelled</th><th class='num'>Expected</th>"
        f"<th>Estimated mix</th></tr>{''.join(rows)}</table>"
    )


def _emerging(topics: Sequence[dict[str, Any]], windows: Sequence[dict[str, Any]]) -> str:
    if len(windows) < 2:
        return (
            '<p class="muted">Emergence needs dated posts over at least two windows; this input has '
            f"{len(windows)} window(s).</p>"
        )
    flagged = [t for t in topics if t.get("emerging")]
    note = ""
    shown = flagged
    if not flagged:
        shown = sorted((t for t in topics if t.get("emergence", 0) > 0), key=lambda t: -t["emergence"])[:4]
        note = (
            '<p class="sub">No topic passes the emergence threshold in the latest window; the topics '
            "rising most against their own baseline are shown.</p>"
        )
    if not shown:
        return '<p class="muted">No topic is rising against its baseline in the latest window.</p>'
    shown = sorted(shown, key=lambda t: -t["emergence"])[:8]
    cards = "".join(
        f'<div class="card"><h3>{esc(t["label"])}</h3>'
        f"<p>Emergence z = <b>{t['emergence']:+.1f}</b> · growth {_growth_cell(float(t['growth']))}</p>"
        f"<p>{(t.get('trend') or [0])[-1]:g} problem posts in the latest window · rank {t['rank']}</p>"
        f"<div>{sparkline(t.get('trend', []), width=220, height=34, colour='#c8414b')}</div></div>"
        for t in shown
    )
    return f'{note}<div class="cards">{cards}</div>'


def _evidence(topics: Sequence[dict[str, Any]], by_id: dict[str, dict[str, Any]]) -> str:
    blocks = []
    for i, t in enumerate(topics):
        kws = "".join(f'<span class="kw">{esc(k)}</span>' for k in t.get("keywords", []))
        quotes = []
        for pid in t.get("examples", []):
            rec = by_id.get(str(pid))
            if rec is None:
                quotes.append(f'<blockquote><span class="meta">post {esc(pid)}</span></blockquote>')
                continue
            meta = [f"id {pid}", str(rec.get("intent", "")), str(rec.get("sentiment", ""))]
            if rec.get("brand"):
                meta.append(str(rec["brand"]))
            if rec.get("created_at"):
                meta.append(_date(str(rec["created_at"])))
            quotes.append(
                f"<blockquote>{esc(_truncate(str(rec.get('text', '')), 600))}"
                f'<span class="meta">{esc(" · ".join(m for m in meta if m))}</span></blockquote>'
            )
        blocks.append(
            f"<details{' open' if i < 3 else ''}><summary>{t['rank']}. {esc(t['label'])} "
            f'<span class="muted">· {t["n_complaints"]:,} complaints of {t["n_posts"]:,} posts</span></summary>'
            f"<div>{kws}</div>{''.join(quotes) or '<p class=muted>No example posts.</p>'}</details>"
        )
    return "".join(blocks)


def render_report(result: dict[str, Any], records: list[dict[str, Any]]) -> str:
    """The whole report as one self-contained HTML string."""
    topics: list[dict[str, Any]] = list(result.get("topics", []))
    windows: list[dict[str, Any]] = list(result.get("windows", []))
    params: dict[str, Any] = dict(result.get("parameters", {}))
    conf = 100 * float(params.get("confidence", 0.95))
    needed = {str(p) for t in topics[:15] for p in t.get("examples", [])}
    for entries in (result.get("brands") or {}).values():
        needed.update(str(p) for t in entries[:5] for p in t.get("examples", []))
    by_id = {str(r.get("id")): r for r in records if str(r.get("id")) in needed}

    n_posts = int(result.get("n_posts", 0))
    emerging = [t for t in topics if t.get("emerging")]
    period = f"{_date(windows[0]['start'])} – {_date(windows[-1]['end'])}" if windows else "no dates in the input"
    kpis = [
        (f"{n_posts:,}", "posts analysed"),
        (_pct(float(result.get("problem_rate", 0.0))), "problem rate"),
        (f"{len(topics):,}", "topics ranked"),
        (f"{len(emerging):,}", "emerging topics"),
        (f"{int(result.get('n_other', 0)):,}", "posts without topic"),
    ]
    top = topics[:15]
    if params.get("score_formula", "resolved") == "removed":
        fall = "without the topic's posts"
        formula = "score(t) = r(all) − r(all without t) = share(t) × (r(t) − r(rest))"
    else:
        fall = "if the topic's problems were resolved"
        formula = "score(t) = r(all) − r(all with t's problems resolved) = p(t) / W"
    sections = []
    sections.append(
        "<section><h2>Problems to fix first</h2>"
        "<p class='sub'>Score: how many percentage points the overall problem rate (complaints, and negative "
        f"posts that are not requests or praise) would fall {esc(fall)}. Whiskers: "
        f"{conf:.0f}% bootstrap interval. Colour: "
        f"<b style='color:{SOURCE_COLOURS['taxonomy']}'>taxonomy topic</b>, "
        f"<b style='color:{SOURCE_COLOURS['discovered']}'>discovered topic</b>.</p>"
        f"{ci_chart(top)}</section>"
    )
    sections.append(
        "<section><h2>Ranking</h2><p class='sub'>All topics with at least "
        f"{esc(params.get('min_support', ''))} posts. Growth and trend: problem posts per "
        f"{esc(params.get('window_days', ''))}-day window; emergence: Poisson z-score of the latest window "
        f"against the topic's own baseline.</p>{_ranking_table(topics, conf)}</section>"
    )
    sections.append(f"<section><h2>Emerging topics</h2>{_emerging(topics, windows)}</section>")
    sections.append(
        "<section><h2>Trends</h2><p class='sub'>Problem posts per window for the top topics.</p>"
        f"{trend_chart(topics[:6], windows)}</section>"
    )
    mix_rows = [
        (
            esc(t["label"]),
            f'<span class="tid">{esc(t["topic"])}</span>',
            t.get("intents", {}),
            t.get("sentiments", {}),
            int(t["n_posts"]),
        )
        for t in top
    ]
    sections.append(
        "<section><h2>Intent and sentiment by topic</h2><p class='sub'>Only complaints and negative posts "
        "raise a topic's score; requests (favour-seeking) and praise do not.</p>"
        f"{_mix_table(mix_rows)}</section>"
    )
    brand_mix: dict[str, Any] = dict(result.get("brand_mix") or {})
    if brand_mix:
        rows = [
            (esc(b), "", m.get("intents", {}), m.get("sentiments", {}), int(m.get("n_posts", 0)))
            for b, m in sorted(brand_mix.items(), key=lambda kv: -int(kv[1].get("n_posts", 0)))
        ]
        brand_tops = ""
        for b, entries in sorted((result.get("brands") or {}).items()):
            items = "".join(
                f"<li>{esc(t['label'])} <span class='muted'>({_pp(t['score'])} pp, "
                f"{t['n_complaints']:,} complaints)</span></li>"
                for t in entries[:5]
            )
            brand_tops += (
                f'<div class="card" style="border-left-color:var(--accent)"><h3>{esc(b)}</h3>'
                f'<ol style="margin:4px 0 0 18px;padding:0">{items or "<li>none</li>"}</ol></div>'
            )
        sections.append(
            "<section><h2>Brands</h2><p class='sub'>What people write to each brand.</p>"
            f"{_mix_table(rows)}{_estimated_mix_table(brand_mix)}"
            + (
                f"<h2 style='margin-top:18px'>Top problems per brand</h2><div class='cards'>{brand_tops}</div>"
                if brand_tops
                else ""
            )
            + "</section>"
        )
    sections.append(
        "<section><h2>Evidence</h2><p class='sub'>Keywords and the most representative complaint posts of "
        f"each topic.</p>{_evidence(top, by_id)}</section>"
    )
    disc = result.get("discovery", {})
    param_items = ", ".join(f"<code>{esc(k)}={esc(v)}</code>" for k, v in sorted(params.items()))
    sections.append(
        f"<section><h2>Method</h2><p class='sub'>{esc(formula)}, where r is the (reach-weighted, when the "
        "input has reach) share of problem posts and W the weight of all posts; impact_removed in the JSON and "
        "CSV gives r(all) − r(all without t's posts) for comparison. "
        f"Discovered topics: {int(disc.get('n_topics', 0))} clusters of {int(disc.get('n_posts', 0)):,} "
        "complaints and questions that fit no taxonomy topic (k chosen by "
        f"{esc(_K_RULES.get(str(disc.get('k_selection')), 'the data'))}; "
        f"clustering space: {esc(disc.get('space') or 'none')}).</p>"
        f"<p class='sub'>{param_items}</p></section>"
    )

    kpi_html = "".join(f'<div class="kpi"><b>{esc(v)}</b><span>{esc(k)}</span></div>' for v, k in kpis)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Voice of the customer: problems to fix first</title>"
        f"<style>{_CSS}</style><script>{_JS}</script></head><body>"
        '<header><div class="wrap"><h1>Voice of the customer: problems to fix first</h1>'
        f"<p>{n_posts:,} posts · {esc(period)} · generated {esc(result.get('generated_at', ''))}</p>"
        "</div></header>"
        f'<main class="wrap"><div class="kpis">{kpi_html}</div>{"".join(sections)}</main>'
        '<footer class="wrap">voc-pipeline report · self-contained file, no external resources</footer>'
        "</body></html>\n"
    )
