"""``voc promote``, ``voc suggest`` and ``voc label-issues``: the retraining commands (registered on the app).

A thin typer layer: the work is in :mod:`pipeline.training.promote`, :mod:`pipeline.training.active` and
:mod:`pipeline.training.label_issues`, which never import typer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli.common import ModelOption, TextFieldOption, app, fail, handle_errors
from pipeline.errors import InputError

PROMOTION_REFUSED_EXIT = 3


@app.command()
def promote(
    current: Annotated[Path, typer.Option("--current", help="Directory of the bundle in use (replaced in place).")],
    challenger: Annotated[
        Optional[Path], typer.Option("--challenger", help="Directory of the newly trained bundle.")
    ] = None,
    metric: Annotated[
        Optional[str],
        typer.Option("--metric", help="TASK/METRIC deciding the promotion (default: the config's, intent/macro_f1)."),
    ] = None,
    min_delta: Annotated[
        Optional[float], typer.Option("--min-delta", help="How much worse the challenger may be and still win.")
    ] = None,
    data: Annotated[
        Optional[str],
        typer.Option("--data", help="Compare both bundles on this labelled file now (else comparison.json)."),
    ] = None,
    decide_by: Annotated[
        Optional[str],
        typer.Option(
            "--decide-by",
            help="point: refuse a challenger worse on the held-out rows; interval: only one whose whole bootstrap "
            "interval of the difference is worse (default: the config's, point).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Promote even if worse or not comparable.")] = False,
    rollback: Annotated[
        bool, typer.Option("--rollback", help="Restore the bundle that the last promotion replaced.")
    ] = False,
    keep: Annotated[
        Optional[int], typer.Option("--keep", min=1, help="Previous bundles kept for rollback (default 5).")
    ] = None,
) -> None:
    """Replace the current bundle by a challenger only if it is not worse (exit 3 when refused); or roll back."""
    from pipeline.training.promote import PromotionRefused
    from pipeline.training.promote import promote as promote_bundle
    from pipeline.training.promote import rollback as rollback_bundle

    with handle_errors():
        try:
            if rollback:
                if challenger is not None:
                    raise InputError("--rollback takes only --current")
                result = rollback_bundle(current)
            else:
                if challenger is None:
                    raise InputError("give --challenger DIR (or --rollback)")
                result = promote_bundle(
                    challenger,
                    current,
                    metric=metric,
                    min_delta=min_delta,
                    force=force,
                    data=data,
                    keep=keep,
                    decide_by=decide_by,
                )
        except PromotionRefused as exc:
            raise fail(f"error: {' '.join(str(exc).split())}", PROMOTION_REFUSED_EXIT) from None
        typer.echo(json.dumps(result, indent=2))


@app.command()
def suggest(
    input_path: Annotated[str, typer.Option("--input", "-i", help="Unlabelled posts: JSONL/CSV/Parquet, dir or glob.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Posts to label: .jsonl, .csv or .parquet.")],
    n: Annotated[int, typer.Option("--n", "-n", min=1, help="How many posts to pick.")] = 200,
    model: ModelOption = None,
    task: Annotated[str, typer.Option("--task", help="Task whose labels are wanted: intent or sentiment.")] = "intent",
    strategy: Annotated[
        str, typer.Option("--strategy", help="Uncertainty: margin, entropy or least_confident.")
    ] = "margin",
    diversity: Annotated[
        float, typer.Option("--diversity", min=0.0, help="Weight of the similarity penalty (0 = none).")
    ] = 0.5,
    rarity_power: Annotated[
        float, typer.Option("--rarity-power", min=0.0, help="Favour predicted-rare classes (0 = not at all).")
    ] = 0.5,
    duplicate_threshold: Annotated[
        float, typer.Option("--duplicate-threshold", help="Skip posts this similar (cosine) to a picked one.")
    ] = 0.9,
    text_field: TextFieldOption = "text",
) -> None:
    """Pick the posts whose labels would help most: uncertain, diverse, likely rare; written ready to annotate."""
    with handle_errors():
        from pipeline.training.active import suggest as suggest_posts

        summary = suggest_posts(
            input_path,
            output,
            n,
            model=model,
            task=task,
            text_field=text_field,
            strategy=strategy,
            diversity=diversity,
            rarity_power=rarity_power,
            duplicate_threshold=duplicate_threshold,
        )
        typer.echo(json.dumps(summary, indent=2))


@app.command("label-issues")
def label_issues(
    data: Annotated[
        Optional[str],
        typer.Option("--data", "-d", help="Labelled JSONL/CSV/Parquet file (or hf-disk:DIR) with text and the task."),
    ] = None,
    dataset: Annotated[Optional[str], typer.Option("--dataset", help="Or a named dataset, e.g. brand-intent.")] = None,
    data_dir: Annotated[
        Optional[Path], typer.Option("--data-dir", help="Shared datasets folder for --dataset.")
    ] = None,
    task: Annotated[str, typer.Option("--task", help="intent or sentiment.")] = "intent",
    folds: Annotated[int, typer.Option("--folds", min=2, help="Cross-validation folds.")] = 5,
    config: Annotated[
        Optional[Path], typer.Option("--config", "-c", help="Training config: classifier, params, labels, seed.")
    ] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="All issues as .jsonl or .csv.")] = None,
    top: Annotated[int, typer.Option("--top", min=0, help="Issues printed.")] = 20,
    output_format: Annotated[str, typer.Option("--format", "-f", help="'text' (a table) or 'json'.")] = "text",
) -> None:
    """Find likely mislabelled rows (confident learning on out-of-fold probabilities), ranked, with a suggestion."""
    with handle_errors():
        if output_format not in ("text", "json"):
            raise InputError(f"unknown --format {output_format!r}: use 'text' or 'json'")
        from pipeline.training.label_issues import run_label_issues

        report = run_label_issues(
            data=data, dataset=dataset, data_dir=data_dir, task=task, folds=folds, config=config, output=output
        )
        shown = report.pop("top")[:top]
        if output_format == "json":
            typer.echo(json.dumps({**report, "top": shown}, indent=2, ensure_ascii=False))
            return
        typer.echo(
            f"{report['issues']} likely label issues in {report['rows']} rows of {report['data']} "
            f"({report['task']}, {report['folds']}-fold out-of-fold accuracy {report['out_of_fold_accuracy']:.3f})"
        )
        typer.echo(f"{'rank':>4}  {'id':<20} {'given':<15} {'p':>5}  {'suggested':<15} {'p':>5}  text")
        for issue in shown:
            text = " ".join(str(issue["text"]).split())
            text = text if len(text) <= 70 else text[:69] + "…"
            typer.echo(
                f"{issue['rank']:>4}  {issue['id']:<20} {issue['given_label']:<15} "
                f"{issue['given_label_probability']:>5.2f}  {issue['suggested_label']:<15} "
                f"{issue['suggested_label_probability']:>5.2f}  {text}"
            )
        if output is not None:
            typer.echo(f"wrote {output}", err=True)
