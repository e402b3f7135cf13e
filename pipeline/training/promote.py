"""Champion and challenger: compare two bundles on the same held-out data, promote safely, roll back.

* :func:`compare_bundles` scores both bundles on the same labelled sets and returns the comparison that
  ``voc train`` writes into a new bundle as ``comparison.json``;
* :func:`promote` installs a challenger at the current bundle's path only if it is not worse on the
  configured metric (``task/metric`` of the pooled held-out evaluation), unless forced;
* :func:`rollback` restores the bundle that the last promotion (or training run) replaced.

The replaced bundle is kept in ``<current>.history/<UTC time>/`` (an ``index.json`` there lists the entries,
newest last; the oldest beyond ``keep`` are pruned). Swaps are atomic: the new bundle is copied and verified
beside the current one, then the two directories are exchanged with one ``renameat2(RENAME_EXCHANGE)`` call
where the kernel supports it (else two renames, undone on failure); a lock file serialises promotions.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.data.datasets import LabelledTexts, concat
from pipeline.data.io import sha256_file, write_json_atomic
from pipeline.errors import InputError, VocError
from pipeline.models.bundle import ModelBundle
from pipeline.training.evaluate import bootstrap_interval, classification_metrics

COMPARISON_FILE = "comparison.json"
DEFAULT_METRIC = "intent/macro_f1"
LOWER_IS_BETTER = frozenset({"ece", "log_loss"})
KNOWN_METRICS = frozenset({"accuracy", "macro_f1", "macro_recall", "weighted_f1", "ece", "log_loss"})


class PromotionRefused(VocError):
    """The challenger is worse than the current bundle (or cannot be shown not to be) and --force was not given."""


def parse_metric(metric: str) -> tuple[str, str]:
    """``"intent/macro_f1"`` -> ``("intent", "macro_f1")``, checked."""
    task, _, name = metric.partition("/")
    if task not in ("intent", "sentiment") or name not in KNOWN_METRICS:
        raise InputError(
            f"unknown metric {metric!r}: use TASK/METRIC with TASK intent or sentiment and METRIC one of "
            f"{', '.join(sorted(KNOWN_METRICS))}"
        )
    return task, name


def bundle_fingerprint(directory: str | Path) -> str:
    """SHA-256 of a bundle's metadata.json, which itself lists the hash of every file of the bundle."""
    path = Path(directory) / "metadata.json"
    try:
        return sha256_file(path)
    except FileNotFoundError:
        raise InputError(f"{directory} is not a model bundle (no metadata.json)") from None


def history_dir(current: str | Path) -> Path:
    current = Path(current)
    return current.with_name(f"{current.name}.history")


# -- comparison ---------------------------------------------------------------------------------------------


def _proba(bundle: ModelBundle, task: str, texts: Sequence[str]) -> np.ndarray:
    classifier = bundle.classifiers[task]
    proba: np.ndarray = classifier.predict_proba(bundle.normaliser.normalise_many(texts))
    return proba


def paired_bootstrap_interval(
    labels: Sequence[str],
    new: tuple[np.ndarray, Sequence[str]],
    old: tuple[np.ndarray, Sequence[str]],
    metric: str,
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of the improvement (challenger minus champion; positive = better) on ``metric``.

    Both bundles are scored on the *same* resampled rows each time, so what the rows have in common cancels:
    a difference of one post in 577 is seen for what it is. ``new`` and ``old`` are ``(probabilities, classes)``.
    """
    gold = np.asarray(labels, dtype=object)
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0

    def improvement(rows: np.ndarray) -> float:
        sample = gold[rows].tolist()
        a = classification_metrics(sample, new[0][rows], new[1])["overall"][metric]
        b = classification_metrics(sample, old[0][rows], old[1])["overall"][metric]
        return sign * float(a - b)

    return bootstrap_interval(len(gold), improvement, resamples=resamples, confidence=confidence, seed=seed)


def compare_bundles(
    challenger: ModelBundle,
    champion: ModelBundle,
    heldout: Mapping[str, Mapping[str, LabelledTexts]],
    *,
    metric: str = DEFAULT_METRIC,
    min_delta: float = 0.0,
    champion_path: str | Path | None = None,
    bootstrap: int = 1000,
    confidence: float = 0.95,
    decide_by: str = "point",
) -> dict[str, Any]:
    """Evaluate both bundles on the same held-out sets (per task) and decide on ``metric``.

    Per task, every set is reported separately and pooled (all its sets together); the decision uses the
    pooled value of ``metric``, with a paired bootstrap interval of the difference (``bootstrap`` resamples;
    0: none) and ``decide_by`` (see :func:`decide`). Returns a JSON-ready dict with ``decision.not_worse``.
    """
    task, name = parse_metric(metric)
    where = champion_path or champion.path
    result: dict[str, Any] = {
        "metric": metric,
        "higher_is_better": name not in LOWER_IS_BETTER,
        "min_delta": min_delta,
        "champion": {
            "path": str(where or ""),
            "fingerprint": bundle_fingerprint(where) if where is not None else None,
            "config_hash": champion.metadata.get("config_hash"),
        },
        "challenger": {"config_hash": challenger.metadata.get("config_hash")},
        "tasks": {},
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    interval: tuple[float, float] | None = None
    for task_name, sets in heldout.items():
        if task_name not in challenger.classifiers or task_name not in champion.classifiers or not sets:
            continue
        report: dict[str, Any] = {"sets": {}}
        for set_name, data in sets.items():
            report["sets"][set_name], _ = _compare_on(challenger, champion, task_name, data)
        pooled = concat(*sets.values(), name="pooled") if len(sets) > 1 else next(iter(sets.values()))
        report["pooled"], scored = _compare_on(challenger, champion, task_name, pooled)
        result["tasks"][task_name] = report
        if task_name == task and bootstrap > 0 and len(pooled):
            interval = paired_bootstrap_interval(
                pooled.labels,
                scored["challenger"],
                scored["champion"],
                name,
                resamples=bootstrap,
                confidence=confidence,
            )
    if task not in result["tasks"]:
        result["decision"] = {
            "comparable": False,
            "not_worse": None,
            "reason": f"no held-out {task} data that both bundles can label (set evaluate_on or holdout)",
        }
        return result
    pooled = result["tasks"][task]["pooled"]
    new, old = float(pooled["challenger"][name]), float(pooled["champion"][name])
    result["decision"] = decide(
        name, new, old, int(pooled["n"]), min_delta, interval=interval, confidence=confidence, decide_by=decide_by
    )
    return result


def _compare_on(
    challenger: ModelBundle, champion: ModelBundle, task: str, data: LabelledTexts
) -> tuple[dict[str, Any], dict[str, tuple[np.ndarray, list[str]]]]:
    """Both bundles' metrics on ``data``, and their ``(probabilities, classes)`` by role."""
    out: dict[str, Any] = {"n": len(data)}
    scored: dict[str, tuple[np.ndarray, list[str]]] = {}
    for role, bundle in (("challenger", challenger), ("champion", champion)):
        classes = list(bundle.classifiers[task].classes_)
        scored[role] = (_proba(bundle, task, data.texts), classes)
        out[role] = classification_metrics(data.labels, scored[role][0], classes)["overall"]
    return out, scored


def compare_on_file(
    challenger: ModelBundle,
    champion: ModelBundle,
    data: str,
    *,
    metric: str,
    min_delta: float = 0.0,
    champion_path: Path | None = None,
    bootstrap: int = 1000,
    confidence: float = 0.95,
    decide_by: str = "point",
) -> dict[str, Any]:
    """:func:`compare_bundles` on one labelled file (``--data``) for every task labelled in it."""
    from pipeline.data.sources import load_labelled

    task, _ = parse_metric(metric)
    heldout: dict[str, dict[str, LabelledTexts]] = {}
    for name in ("intent", "sentiment"):
        try:
            heldout[name] = {data: load_labelled(data, name)}
        except InputError:
            if name == task:
                raise
    return compare_bundles(
        challenger,
        champion,
        heldout,
        metric=metric,
        min_delta=min_delta,
        champion_path=champion_path,
        bootstrap=bootstrap,
        confidence=confidence,
        decide_by=decide_by,
    )


# -- atomic directory swaps -----------------------------------------------------------------------------------


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths with renameat2(RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    done: bool = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0
    return done


def _swap_in(new: Path, current: Path, retired: Path) -> None:
    """Make ``new`` the ``current`` directory and move the old one to ``retired`` (atomically where possible)."""
    retired.parent.mkdir(parents=True, exist_ok=True)
    if _exchange(new, current):
        os.replace(new, retired)  # ``new`` now holds the old bundle
        return
    os.replace(current, retired)
    try:
        os.replace(new, current)
    except OSError:
        os.replace(retired, current)
        raise


@contextlib.contextmanager
def _locked(current: Path) -> Iterator[None]:
    lock_path = current.with_name(f".{current.name}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        try:
            import fcntl

            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise InputError(f"another promotion of {current} is in progress ({lock_path} is locked)") from None
        except ImportError:  # not POSIX: no lock
            pass
        yield


def _read_index(history: Path) -> list[dict[str, Any]]:
    index = history / "index.json"
    if not index.exists():
        return []
    try:
        entries = json.loads(index.read_text(encoding="utf-8"))
    except ValueError:
        raise InputError(f"{index} is not valid JSON; fix or remove it") from None
    return [e for e in entries if isinstance(e, dict) and (history / str(e.get("name", ""))).is_dir()]


def _timestamp() -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"


def install_bundle(
    source: Path, current: Path, *, reason: str, keep: int = 5, move: bool = False, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Put the bundle at ``source`` at ``current``, keeping the replaced one in the history.

    ``source`` is copied (or moved with ``move=True``) to a staging folder beside ``current``, verified, then
    swapped in. Returns the history entry of the replaced bundle (or ``{}`` when there was none).
    """
    staging = current.with_name(f".{current.name}.incoming-{os.getpid()}-{time.monotonic_ns()}")
    try:
        if move:
            os.replace(source, staging)
        else:
            shutil.copytree(source, staging)
        ModelBundle.load(staging)  # refuse a damaged bundle before it replaces anything
        if not current.exists():
            current.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging, current)
            return {}
        history = history_dir(current)
        entries = _read_index(history)
        name = _timestamp()
        entry = {
            "name": name,
            "kind": "previous",
            "fingerprint": bundle_fingerprint(current),
            "replaced_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "reason": reason,
            **(extra or {}),
        }
        _swap_in(staging, current, history / name)
        entries.append(entry)
        previous = [e for e in entries if e.get("kind") == "previous"]
        for old in previous[: max(0, len(previous) - keep)]:
            shutil.rmtree(history / old["name"], ignore_errors=True)
            entries.remove(old)
        write_json_atomic(history / "index.json", entries)
        return entry
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


# -- commands ---------------------------------------------------------------------------------------------


def promote(
    challenger: str | Path,
    current: str | Path,
    *,
    metric: str | None = None,
    min_delta: float | None = None,
    force: bool = False,
    data: str | None = None,
    keep: int | None = None,
    decide_by: str | None = None,
) -> dict[str, Any]:
    """Replace ``current`` by ``challenger`` if it is not worse; the replaced bundle goes to the history.

    ``metric``, ``min_delta``, ``keep`` and ``decide_by`` default to the challenger's ``promotion`` config.

    The evidence is the challenger's ``comparison.json`` (written by ``voc train --champion``), which must have
    been made against the bundle now at ``current`` (same fingerprint), or a fresh comparison on ``data``.
    Raises :class:`PromotionRefused` when the challenger is worse or there is no valid comparison and not
    ``force``.
    """
    challenger, current = Path(challenger), Path(current)
    if challenger.resolve() == current.resolve():
        raise InputError("--challenger and --current are the same directory")
    new = ModelBundle.load(challenger)
    promotion = (new.config or {}).get("promotion") or {}
    metric = metric or promotion.get("metric") or DEFAULT_METRIC
    parse_metric(metric)
    min_delta = float(min_delta if min_delta is not None else promotion.get("min_delta", 0.0))
    keep = int(keep if keep is not None else promotion.get("keep", 5))
    decide_by = decide_by or str(promotion.get("decide_by", "point"))
    if decide_by not in ("point", "interval"):
        raise InputError(f"--decide-by must be point or interval, not {decide_by!r}")
    result: dict[str, Any] = {"challenger": str(challenger), "current": str(current), "metric": metric}
    with _locked(current):
        comparison: dict[str, Any] | None = None
        if current.exists():
            old = ModelBundle.load(current)
            if data is not None:
                comparison = compare_on_file(
                    new,
                    old,
                    data,
                    metric=metric,
                    min_delta=min_delta,
                    champion_path=current,
                    bootstrap=int(promotion.get("bootstrap", 1000)),
                    confidence=float(promotion.get("confidence", 0.95)),
                    decide_by=decide_by,
                )
            else:
                comparison = _stored_comparison(challenger, current, metric, min_delta, decide_by)
            decision = comparison.get("decision", {}) if comparison else {}
            result["comparison"] = decision or None
            if not force:
                if comparison is None or not decision.get("comparable"):
                    why = (comparison or {}).get("decision", {}).get("reason") or (
                        f"{challenger}/{COMPARISON_FILE} was not made against the bundle now at {current}"
                    )
                    raise PromotionRefused(
                        f"cannot show that {challenger} is not worse than {current}: {why}; "
                        "retrain with --champion CURRENT, pass --data HELD_OUT_FILE, or --force"
                    )
                if not decision["not_worse"]:
                    raise PromotionRefused(
                        f"not promoted: {challenger} is worse than {current} on {metric} "
                        f"({decision['challenger']:.4f} vs {decision['champion']:.4f}, n={decision['n']}"
                        f"{interval_note(decision)}); use --force to promote anyway"
                    )
        entry = install_bundle(
            challenger,
            current,
            reason="promote --force" if force else "promote",
            keep=keep,
            extra={"replaced_by": bundle_fingerprint(challenger), "decision": (comparison or {}).get("decision")},
        )
    previous = str(history_dir(current) / entry["name"]) if entry else None
    result.update({"promoted": True, "forced": force, "previous": previous})
    return result


def _stored_comparison(
    challenger: Path, current: Path, metric: str, min_delta: float, decide_by: str = "point"
) -> dict[str, Any] | None:
    path = challenger / COMPARISON_FILE
    if not path.exists():
        return None
    try:
        comparison: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise InputError(f"{path} is not valid JSON") from None
    if comparison.get("champion", {}).get("fingerprint") != bundle_fingerprint(current):
        return None
    stored_rule = (comparison.get("decision") or {}).get("decided_by", "point")
    if comparison.get("metric") != metric or comparison.get("min_delta") != min_delta or stored_rule != decide_by:
        # Re-decide on the stored numbers for another metric, tolerance or rule.
        task, name = parse_metric(metric)
        pooled = comparison.get("tasks", {}).get(task, {}).get("pooled")
        if pooled is None:
            comparison["decision"] = {"comparable": False, "reason": f"{path} has no {task} evaluation"}
            return comparison
        new, old = float(pooled["challenger"][name]), float(pooled["champion"][name])
        # The stored interval is for the stored metric: another metric is decided on its point values.
        stored = comparison.get("decision") or {}
        interval = stored.get("interval") if comparison.get("metric") == metric else None
        comparison["decision"] = decide(
            name,
            new,
            old,
            int(pooled["n"]),
            min_delta,
            interval=tuple(interval) if interval else None,
            confidence=float(stored.get("confidence", 0.95)),
            decide_by=decide_by,
        )
    return comparison


def rollback(current: str | Path) -> dict[str, Any]:
    """Restore the bundle that the latest promotion or training run replaced at ``current``.

    The bundle rolled back from is kept in the history too (kind ``rolled-back``); rolling back again goes
    one step further into the past.
    """
    current = Path(current)
    history = history_dir(current)
    with _locked(current):
        entries = _read_index(history)
        previous = [e for e in entries if e.get("kind") == "previous"]
        if not previous:
            raise InputError(f"nothing to roll back to: {history} holds no previous bundle")
        entry = previous[-1]
        restored = history / entry["name"]
        ModelBundle.load(restored)
        name = _timestamp() + "-rolled-back"
        displaced = {
            "name": name,
            "kind": "rolled-back",
            "fingerprint": bundle_fingerprint(current) if current.exists() else None,
            "replaced_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "reason": "rollback",
        }
        rolled_back: str | None = None
        if current.exists():
            _swap_in(restored, current, history / name)
            entries.append(displaced)
            rolled_back = str(history / name)
        else:
            os.replace(restored, current)
        entries.remove(entry)
        write_json_atomic(history / "index.json", entries)
    return {"current": str(current), "restored": entry, "rolled_back": rolled_back}


def interval_note(decision: Mapping[str, Any]) -> str:
    """``", difference -0.0009, 95% CI [-0.0121, +0.0104]: within noise"`` when the decision has an interval."""
    interval = decision.get("interval")
    if not interval:
        return ""
    share = round(100 * float(decision.get("confidence", 0.95)))
    return (
        f", difference {decision['improvement']:+.4f}, {share}% CI [{interval[0]:+.4f}, {interval[1]:+.4f}]: "
        f"{decision.get('verdict')}"
    )


def decide(
    metric: str,
    new: float,
    old: float,
    n: int,
    min_delta: float,
    *,
    interval: tuple[float, float] | None = None,
    confidence: float = 0.95,
    decide_by: str = "point",
) -> dict[str, Any]:
    """Whether the challenger is not worse than the champion on ``metric`` (within ``min_delta``).

    ``decide_by="point"`` compares the two values; ``"interval"`` refuses only a challenger whose whole
    interval of the improvement lies below ``-min_delta`` (clearly worse, not just worse on these rows), and
    falls back to the point rule when there is no interval. ``verdict`` reads the interval either way.
    """
    if decide_by not in ("point", "interval"):
        raise ValueError(f"decide_by must be 'point' or 'interval', not {decide_by!r}")
    delta = new - old if metric not in LOWER_IS_BETTER else old - new  # positive = challenger better
    decision: dict[str, Any] = {
        "comparable": True,
        "challenger": new,
        "champion": old,
        "improvement": round(delta, 6),
        "n": n,
    }
    by_interval = decide_by == "interval" and interval is not None
    if interval is not None:
        low, high = interval
        verdict = "better" if low > 0 else "worse" if high < 0 else "within noise"
        decision.update({"interval": [low, high], "confidence": confidence, "verdict": verdict})
    decision["decided_by"] = "interval" if by_interval else "point"
    decision["not_worse"] = bool(interval[1] >= -min_delta) if by_interval and interval else bool(delta >= -min_delta)
    return decision
