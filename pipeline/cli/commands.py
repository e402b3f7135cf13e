"""The ``voc`` commands that run the pipeline (predict, score, rank, train, evaluate): a thin typer layer.

The shared ``app``, options and error handling are in :mod:`pipeline.cli.common`; the retraining commands
in :mod:`pipeline.cli.retrain`.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from pipeline.cli.common import (
    BatchSizeOption,
    MaxCharsOption,
    ModelOption,
    QuietOption,
    TextFieldOption,
    app,
    apply_max_chars,
    handle_errors,
)
from pipeline.errors import InputError


class _Progress:
    """A one-line progress display on stderr when it is a terminal (rate and ETA), silent otherwise."""

    def __init__(self, total: int | None, quiet: bool) -> None:
        self.total = total
        self.enabled = not quiet and sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, summary: Any) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.2:
            return
        self.last = now
        rate = summary.posts_per_second
        if self.total:
            done = min(summary.rows_read / self.total, 1.0)
            eta = (self.total - summary.rows_read) / rate if rate else 0.0
            bar = "#" * int(done * 30)
            line = f"\r[{bar:<30}] {summary.rows_read:,}/{self.total:,} {rate:,.0f} posts/s ETA {eta:,.0f}s"
        else:
            line = f"\r{summary.rows_read:,} posts {rate:,.0f} posts/s"
        sys.stderr.write(line)
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


MixByOption = Annotated[
    Optional[str],
    typer.Option(
        "--mix-by",
        help="Input column that groups posts for the class-mix estimate (default: 'brand' where rows have it, "
        "else the whole feed).",
    ),
]
AdaptLabelsOption = Annotated[
    Optional[list[str]],
    typer.Option(
        "--adapt-labels",
        help="Adjust this task's labels and scores to each group's estimated mix (repeatable: intent, "
        "sentiment); the model's own are kept as <task>_unadapted. Off by default: docs/adaptation.md.",
    ),
]
NoMixOption = Annotated[
    bool, typer.Option("--no-mix", help="Do not estimate the class mix of the feed (no OUTPUT.mix.json).")
]
DbOption = Annotated[
    Optional[str],
    typer.Option(
        "--db",
        help="Also write to this database: a DuckDB file (voc.duckdb) or postgresql://user:pass@host/db "
        "(schema in docs/scaling.md; a rerun of the job replaces its rows).",
    ),
]


def _to_database(db: str | None, write: Callable[[str], str], quiet: bool) -> None:
    """Run ``write(db)`` when ``--db`` was given, and say what it wrote."""
    if db:
        message = write(db)
        if not quiet:
            typer.echo(message, err=True)


def _print_mix(summary: Any, quiet: bool) -> None:
    """Each group's estimated intent mix with its 95% interval, and the mix the model was calibrated on."""
    if quiet or not summary.mix:
        return
    from pipeline.scoring.adaptation import format_mix_table

    typer.echo(format_mix_table(summary.mix))
    typer.echo(f"class mixes of every task -> {summary.mix_path}", err=True)


def _print_summary(summary: Any, quiet: bool) -> None:
    if quiet:
        return
    rejected = f", {summary.rejected:,} rejected -> {summary.rejected_path}" if summary.rejected else ", 0 rejected"
    truncated = f", {summary.truncated:,} truncated" if summary.truncated else ""
    typer.echo(
        f"read {summary.rows_read:,} rows: {summary.scored:,} scored{rejected}{truncated}; "
        f"{summary.seconds:.2f} s, {summary.posts_per_second:,.0f} posts/s -> {summary.output}",
        err=True,
    )


@app.command()
def predict(
    texts: Annotated[
        Optional[list[str]], typer.Argument(help="Texts to label (or use --input, or pipe lines on stdin).")
    ] = None,
    input_path: Annotated[
        Optional[str], typer.Option("--input", "-i", help="JSONL/CSV/Parquet file, directory or glob.")
    ] = None,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Where to write predictions (.jsonl or .parquet).")
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="For texts: 'text' (one line each) or 'json'.")
    ] = "text",
    model: ModelOption = None,
    text_field: TextFieldOption = "text",
    batch_size: BatchSizeOption = 5000,
    quiet: QuietOption = False,
    max_chars: MaxCharsOption = None,
    mix_by: MixByOption = None,
    no_mix: NoMixOption = False,
    adapt_labels: AdaptLabelsOption = None,
) -> None:
    """Label posts with intent and sentiment and their probabilities."""
    with handle_errors():
        apply_max_chars(max_chars)
        if output_format not in ("text", "json"):
            raise InputError(f"unknown --format {output_format!r}: use 'text' or 'json'")
        if input_path is not None:
            if texts:
                raise InputError("give texts or --input, not both")
            if output is None:
                raise InputError("--input needs --output FILE (.jsonl or .parquet)")
            from pipeline.scoring.job import score_posts

            summary = score_posts(
                input_path,
                output,
                model=model,
                with_topics=False,
                carry_columns=False,
                batch_size=batch_size,
                text_field=text_field,
                estimate_mix=not no_mix,
                mix_by=mix_by,
                adapt_labels=adapt_labels or (),
            )
            _print_summary(summary, quiet)
            _print_mix(summary, quiet)
            return
        if adapt_labels:
            raise InputError("--adapt-labels is for --input files: a mix is estimated over a feed")
        if not texts:
            if sys.stdin.isatty():
                raise InputError("give texts to label, --input FILE, or pipe texts on stdin (one per line)")
            texts = [line.rstrip("\n") for line in sys.stdin if line.strip()]
        blank = [str(i + 1) for i, text in enumerate(texts) if not text.strip()]
        if blank:  # as in files, where an empty text is a rejected row: there is nothing to label
            raise InputError(f"text {', '.join(blank)} is empty: nothing to label")
        from pipeline.models.coldstart import predict_texts
        from pipeline.models.predict import format_line

        # A few texts take the cold-start path (no numpy, scipy or spaCy to import); many take the batch path.
        predictions = predict_texts(texts, model)
        for text, prediction in zip(texts, predictions):
            if output_format == "json":
                typer.echo(json.dumps({**prediction, "text": text}, ensure_ascii=False))
            else:
                typer.echo(format_line(text, prediction))


@app.command()
def score(
    input_path: Annotated[str, typer.Option("--input", "-i", help="JSONL/CSV/Parquet file, directory or glob.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file: .parquet or .jsonl.")],
    taxonomy: Annotated[
        Optional[Path], typer.Option("--taxonomy", "-t", help="Taxonomy YAML (default: the bundle's).")
    ] = None,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Worker processes.")] = 1,
    engine: Annotated[str, typer.Option("--engine", help="'local' (this machine) or 'ray'.")] = "local",
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted job from its shards in OUTPUT.parts/.")
    ] = False,
    model: ModelOption = None,
    text_field: TextFieldOption = "text",
    batch_size: BatchSizeOption = 5000,
    quiet: QuietOption = False,
    max_chars: MaxCharsOption = None,
    mix_by: MixByOption = None,
    no_mix: NoMixOption = False,
    adapt_labels: AdaptLabelsOption = None,
    db: DbOption = None,
) -> None:
    """Score posts in batch: intent, sentiment and topic for every row, columns carried through."""
    with handle_errors():
        apply_max_chars(max_chars)
        if engine not in ("local", "ray"):
            raise InputError(f"unknown --engine {engine!r}: use 'local' or 'ray'")
        log: Callable[[str], None] = (lambda _: None) if quiet else (lambda m: typer.echo(m, err=True))
        if engine == "ray":
            if resume:
                raise InputError("--resume is for --engine local; Ray retries failed tasks itself")
            from pipeline.scoring.ray_engine import score_posts_ray

            summary = score_posts_ray(
                input_path,
                output,
                model=model,
                taxonomy=taxonomy,
                workers=workers,
                batch_size=batch_size,
                text_field=text_field,
                log=log,
                estimate_mix=not no_mix,
                mix_by=mix_by,
                adapt_labels=adapt_labels or (),
            )
            _print_summary(summary, quiet)
            _print_mix(summary, quiet)
            _to_database(db, lambda url: _store_scored(url, output, input_path), quiet)
            return
        from pipeline.data.io import count_rows, input_files
        from pipeline.scoring.job import score_posts

        inputs = input_files(input_path)  # once: the progress bar counts what the job reads
        progress = _Progress(count_rows(inputs) if not quiet and sys.stderr.isatty() else None, quiet)
        try:
            summary = score_posts(
                inputs,
                output,
                model=model,
                taxonomy=taxonomy,
                workers=workers,
                batch_size=batch_size,
                text_field=text_field,
                on_progress=progress,
                resume=resume,
                log=log,
                estimate_mix=not no_mix,
                mix_by=mix_by,
                adapt_labels=adapt_labels or (),
            )
        finally:
            progress.close()
        _print_summary(summary, quiet)
        _print_mix(summary, quiet)
        _to_database(db, lambda url: _store_scored(url, output, input_path), quiet)


def _store_scored(url: str, output: Path, input_path: str) -> str:
    from pipeline.ranking.sinks import store_scored

    return f"database: {store_scored(url, output, input_path):,} posts of {output} in {url}"


@app.command()
def rank(
    input_path: Annotated[str, typer.Option("--input", "-i", help="Scored posts from `voc score`.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Directory for ranking.json, ranking.csv, report.html.")
    ],
    taxonomy: Annotated[
        Optional[Path], typer.Option("--taxonomy", "-t", help="Taxonomy YAML (labels for topic ids).")
    ] = None,
    by: Annotated[
        Optional[str], typer.Option("--by", help="Also rank within each value of this field ('brand').")
    ] = None,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="Ranking parameters (YAML).")] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Topics shown in the printed summary.")] = 10,
    time_field: Annotated[
        str, typer.Option("--time-field", help="The posts' timestamp field (growth, emergence, trends).")
    ] = "created_at",
    brand_field: Annotated[str, typer.Option("--brand-field", help="The posts' brand field (--by brand).")] = "brand",
    engine: Annotated[
        str, typer.Option("--engine", help="'local' (DuckDB on this machine) or 'ray' (Parquet shards on Ray).")
    ] = "local",
    workers: Annotated[
        Optional[int], typer.Option("--workers", "-w", min=1, help="--engine ray: shards aggregated at a time.")
    ] = None,
    db: DbOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the summary.")] = False,
) -> None:
    """Rank the topics a quality programme should fix first, with evidence and confidence intervals."""
    with handle_errors():
        if by not in (None, "brand"):
            raise InputError(f"unknown --by {by!r}: only 'brand' is supported")
        from pipeline.ranking.rank import load_rank_config
        from pipeline.ranking.run import rank_file

        result, paths = rank_file(
            input_path,
            output,
            config=load_rank_config(config),
            taxonomy=taxonomy,
            by_brand=by == "brand",
            time_field=time_field,
            brand_field=brand_field,
            engine=engine,
            workers=workers,
        )
        _to_database(db, lambda url: _store_ranking(url, output, result), quiet)
        if not quiet:
            from pipeline.ranking.rank import summary_markdown

            typer.echo(summary_markdown(result, top=top))
            typer.echo(f"\nwrote {', '.join(str(p) for p in paths.values())}", err=True)


def _store_ranking(url: str, output: Path, result: dict[str, Any]) -> str:
    from pipeline.ranking.sinks import job_key, write_ranking

    write_ranking(url, job_key(output), result)
    return f"database: the ranking of {output} in {url}"


@app.command()
def topics(
    taxonomy: Annotated[Path, typer.Option("--taxonomy", "-t", help="Taxonomy YAML to check.")],
    input_path: Annotated[
        Optional[str],
        typer.Option(
            "--input", "-i", help="Also assign a sample of these posts (JSONL/CSV/Parquet), as voc score does."
        ),
    ] = None,
    sample: Annotated[int, typer.Option("--sample", min=1, help="--input: how many posts, the first ones.")] = 2000,
    model: ModelOption = None,
    text_field: TextFieldOption = "text",
) -> None:
    """Check a taxonomy before a batch job: the seeds each topic is matched by, what would assign it better, and
    with --input how a sample of posts is assigned."""
    with handle_errors():
        from pipeline.topics.assign import TopicAssigner
        from pipeline.topics.check import check_taxonomy
        from pipeline.topics.taxonomy import load_taxonomy

        assigner = TopicAssigner(load_taxonomy(taxonomy))
        if input_path is not None:
            from pipeline.data.io import input_files

            inputs = input_files(input_path)  # a wrong path fails before anything is printed
        checks, enough = check_taxonomy(assigner), assigner.implicit_seeds_below
        thin = sum(c.written_seeds < enough for c in checks)
        typer.echo(f"{taxonomy}: {len(checks)} topics, {thin} with fewer than {enough} written seeds (docs/topics.md)")
        typer.echo("| topic | label | seeds in use | examples | notes |\n|---|---|---|---:|---|")
        for c in checks:
            implicit = (
                ""
                if c.written_seeds >= enough
                else " (label and description words)"
                if c.written_seeds
                else " (from label and description)"
            )
            own = [s for s in c.seeds if s not in c.borrowed_seeds]
            library = (
                f" + {len(c.borrowed_seeds)} from the aspect library ({', '.join(c.borrowed_from)}): "
                + ", ".join(c.borrowed_seeds)
                if c.borrowed_from
                else ""
            )
            seeds = ", ".join(own) + implicit + library
            typer.echo(f"| `{c.name}` | {c.label} | {seeds} | {c.examples} | {'; '.join(c.notes)} |")
        if input_path is None:
            return
        from pipeline.scoring.preview import preview_topics
        from pipeline.topics.taxonomy import OTHER_ID

        preview = preview_topics(inputs, taxonomy, model=model, text_field=text_field, sample=sample)
        typer.echo(
            f"\n{preview.n_posts:,} posts of {input_path} (the first ones) as voc score assigns them; "
            f"no topic: {preview.no_topic_share:.1%}"
            + (f"; {preview.n_rejected:,} unusable rows skipped" if preview.n_rejected else "")
        )
        typer.echo("| topic | posts | share | best-scoring post |\n|---|---:|---:|---|")
        order = [c.name for c in checks] + sorted(set(preview.counts) - {c.name for c in checks} - {OTHER_ID})
        for name in [*order, OTHER_ID]:
            n = preview.counts.get(name, 0)
            best = preview.examples.get(name, [])
            shown = " ".join(best[0][1].split())[:100] if best else ""
            typer.echo(f"| `{name}` | {n:,} | {n / preview.n_posts:.1%} | {shown} |")


@app.command()
def train(
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory of the new model bundle.")],
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="Training config (YAML or JSON).")] = None,
    data_dir: Annotated[
        Optional[Path],
        typer.Option("--data-dir", help="Shared datasets folder (else $VOC_DATA_DIR, else the config's data_dir)."),
    ] = None,
    champion: Annotated[
        Optional[Path],
        typer.Option("--champion", help="Bundle to compare with on the same held-out data (default: --output's)."),
    ] = None,
    compare: Annotated[
        bool, typer.Option("--compare/--no-compare", help="Compare with the champion and write comparison.json.")
    ] = True,
    reproduce: Annotated[
        Optional[Path], typer.Option("--reproduce", help="Retrain from the config stored in this bundle.")
    ] = None,
    mlflow: Annotated[
        bool, typer.Option("--mlflow", help="Also log the run to MLflow (needs voc-pipeline[mlflow]).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only print the final metrics.")] = False,
) -> None:
    """Train a model bundle from a config; compare it with the current one; keep the replaced one for rollback."""
    with handle_errors():
        from pipeline.training.workflow import run_training

        log: Callable[[str], None] = (lambda _: None) if quiet else (lambda m: typer.echo(m, err=True))
        summary = run_training(
            config_path=config,
            output=output,
            data_dir=data_dir,
            reproduce=reproduce,
            champion=champion,
            compare=compare,
            mlflow=mlflow,
            log=log,
        )
        typer.echo(json.dumps(summary, indent=2))


@app.command()
def evaluate(
    data: Annotated[
        Optional[str], typer.Option("--data", "-d", help="Labelled file with text and intent and/or sentiment columns.")
    ] = None,
    dataset: Annotated[
        Optional[str],
        typer.Option(
            "--dataset",
            help="Or a named shared dataset (semeval-2017-test...), or ids:FILE: labels by id, texts from --data-dir.",
        ),
    ] = None,
    data_dir: Annotated[
        Optional[Path], typer.Option("--data-dir", help="Shared datasets folder for --dataset.")
    ] = None,
    task: Annotated[
        Optional[str], typer.Option("--task", help="intent or sentiment (default: every labelled column).")
    ] = None,
    model: ModelOption = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory for the evaluation report.")] = Path(
        "reports/evaluate"
    ),
    text_field: TextFieldOption = "text",
    bootstrap: Annotated[
        int,
        typer.Option(
            "--bootstrap", min=0, help="Resamples for 95% intervals of accuracy, macro-F1, macro-recall (0: none)."
        ),
    ] = 1000,
    behaviour: Annotated[
        bool,
        typer.Option(
            "--behaviour",
            help="Run the behaviour suite (negation, contrast, questions, 'used to', intensity, vocabulary, fairness "
            "by identity group): failure rates per capability; alone, or with --data/--dataset as well.",
        ),
    ] = False,
) -> None:
    """Evaluate a bundle on labelled data: metrics as JSON on stdout (overall, per class, slices) and a report."""
    with handle_errors():
        from pipeline.training.evaluate import run_behaviour, run_evaluation

        if behaviour:
            found = run_behaviour(model=model, output=output)
            if data is None and dataset is None:
                typer.echo(json.dumps(found, indent=2))
                return
        report = run_evaluation(
            model=model,
            data=data,
            dataset=dataset,
            data_dir=data_dir,
            task=task,
            output=output,
            text_field=text_field,
            bootstrap=bootstrap,
        )
        if behaviour:
            report["behaviour"] = found["behaviour"]
        typer.echo(json.dumps(report, indent=2))


_PLAIN_PREDICT_OPTIONS = {"--model": "model", "-m": "model", "--format": "output_format", "-f": "output_format"}


def plain_predict_arguments(argv: list[str]) -> dict[str, Any] | None:
    """The arguments of ``voc predict`` called with texts and at most ``--model``/``-m`` and ``--format``/``-f``
    (the form people type at a terminal), or None for any other command line.

    typer coerces every parameter of a command through pydantic validators that it builds on each call (~0.1 s with
    the pydantic import: more than the rest of a one-post prediction on the cold-start path), so :func:`main` calls
    :func:`predict` directly for this form; anything else (other options, --help, a text that starts with ``-``)
    goes through typer as before. ``tests/test_coldstart.py`` checks that both give the same output."""
    if not argv or argv[0] != "predict":
        return None
    texts: list[str] = []
    options: dict[str, str] = {}
    i = 1
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-"):
            texts.append(arg)
            i += 1
            continue
        name, equals, value = arg.partition("=")
        if name not in _PLAIN_PREDICT_OPTIONS or (equals and not name.startswith("--")):
            return None
        if not equals:
            if i + 1 >= len(argv):
                return None
            value = argv[i + 1]
            i += 1
        i += 1
        key = _PLAIN_PREDICT_OPTIONS[name]
        if not value or value.startswith("-") or key in options:
            return None
        options[key] = value
    return {
        "texts": texts or None,
        "model": Path(options["model"]) if "model" in options else None,
        "output_format": options.get("output_format", "text"),
    }


def main() -> None:
    """Console entry point: usage errors become one `error:` line with exit 2, as the contract says."""
    try:
        plain = plain_predict_arguments(sys.argv[1:])
        if plain is not None:
            predict(**plain)
            sys.exit(0)
        result = app(standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("error: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        # Click's exceptions (typer vendors its own copy of click, so match by shape, not by class).
        if type(exc).__name__ == "NoArgsIsHelpError":  # `voc` alone: show the help
            ctx = getattr(exc, "ctx", None)
            typer.echo(ctx.get_help() if ctx is not None else exc)
            sys.exit(0)
        if not hasattr(exc, "format_message"):
            raise
        ctx = getattr(exc, "ctx", None)
        hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        typer.echo(f"error: {' '.join(exc.format_message().split())}{hint}", err=True)
        sys.exit(2)
    sys.exit(result if isinstance(result, int) else 0)
