"""PNG figures for evaluation reports: reliability diagrams and confusion matrices (optional extra ``plots``).

Written by ``voc evaluate`` next to ``evaluation.json``: ``<task>-reliability.png`` (confidence vs accuracy
per bin, bars sized by the bin's share of posts, with the ECE) and ``<task>-confusion.png`` (row-normalised,
counts annotated). Without matplotlib, :func:`write_evaluation_plots` returns a note naming the extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

PLOTS_HINT = "pip install 'voc-pipeline[plots]'"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display; safe in worker processes
    import matplotlib.pyplot as plt

    return plt


def reliability_plot(result: dict[str, Any], title: str, path: Path) -> Path:
    plt = _pyplot()
    table = result.get("reliability", [])
    n = max(1, sum(row["n"] for row in table))
    fig, ax = plt.subplots(figsize=(4.8, 4.4), dpi=110)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect calibration")
    if table:
        centres = [(row["low"] + row["high"]) / 2 for row in table]
        widths = [row["high"] - row["low"] for row in table]
        ax.bar(centres, [row["accuracy"] for row in table], width=widths, alpha=0.35, edgecolor="C0", label="accuracy")
        ax.plot([row["confidence"] for row in table], [row["accuracy"] for row in table], marker="o", color="C0")
        for c, row in zip(centres, table):
            ax.text(c, 0.02, f"{100 * row['n'] / n:.0f}%", ha="center", fontsize=6, rotation=90)
    ece = result.get("overall", {}).get("ece")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (top label)", ylabel="accuracy")
    ax.set_title(f"{title}" + (f"  ECE={ece:.3f}" if ece is not None else ""), fontsize=9)
    ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def confusion_plot(result: dict[str, Any], title: str, path: Path) -> Path:
    plt = _pyplot()
    labels = result["confusion"]["labels"]
    matrix = result["confusion"]["matrix"]
    totals = [max(1, sum(row)) for row in matrix]
    shares = [[v / t for v in row] for row, t in zip(matrix, totals)]
    size = 1.2 + 0.75 * len(labels)
    fig, ax = plt.subplots(figsize=(size + 0.8, size), dpi=110)
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            colour = "white" if shares[i][j] > 0.6 else "black"
            ax.text(j, i, str(value), ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(len(labels)), labels, rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set(xlabel="predicted", ylabel="gold")
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of gold row")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_evaluation_plots(report: dict[str, Any], directory: Path) -> tuple[list[Path], str | None]:
    """One reliability and one confusion PNG per task of an evaluation report; (files, note if skipped)."""
    try:
        _pyplot()
    except ImportError:
        return [], f"plots skipped: matplotlib is not installed ({PLOTS_HINT})"
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for task, result in report.get("tasks", {}).items():
        files.append(reliability_plot(result, f"{task}: reliability", directory / f"{task}-reliability.png"))
        files.append(confusion_plot(result, f"{task}: confusion", directory / f"{task}-confusion.png"))
    return files, None
