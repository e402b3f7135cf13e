"""How closely a transformer bundle's int8 models follow fp32, per quantisation setting, on unlabelled posts.

Fidelity to fp32 needs no labels, so a quantisation setting chosen by it cannot be fitted to a test set. For
each transformer model of ``--bundle`` (ensemble members included) the fp32 network is exported to ONNX and
quantised statically twice from the same calibration posts (512 training posts, seeded, as
``scripts/models/requantise_transformer.py`` draws them): every MatMul and Gather quantised, and with the
feed-forward output MatMuls kept in float (``transformer.v1``'s default). Both are scored on
``--posts`` unlabelled customer posts (twcs + IBM, never an evaluation post), against fp32, with throughput:

    python scripts/experiments/exp_quantisation_fidelity.py --bundle models/transformer-v7 --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from pipeline.data.datasets import load_id_labels
from pipeline.models.bundle import ModelBundle
from pipeline.models.transformer import TransformerClassifier
from pipeline.training.pseudo_labels import unlabelled_pool
from pipeline.training.train import training_texts

REPO = Path(__file__).resolve().parents[2]


def _session(path: Path, threads: int) -> object:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--config-dir", type=Path, default=REPO / "configs", help="where the config's paths start")
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--rows", type=int, default=512, help="calibration posts")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    bundle = ModelBundle.load(args.bundle)
    evaluation = load_id_labels(REPO / "data" / "labels" / "twcs-intent.jsonl", args.data_dir)
    pool, _ = unlabelled_pool(args.data_dir, [evaluation])
    rng = np.random.default_rng(args.seed + 1)
    posts = bundle.normaliser.normalise_many([pool[i][2] for i in rng.choice(len(pool), args.posts, replace=False)])
    print("| task | int8 setting | labels equal to fp32 | mean abs logit change | size (MB) | posts/s |")
    print("|---|---|---:|---:|---:|---:|")
    for task, classifier in bundle.classifiers.items():
        texts = training_texts(bundle, task, args.data_dir, args.config_dir)
        calibration = np.random.default_rng(args.seed).choice(len(texts), min(args.rows, len(texts)), replace=False)
        for member in [c for c in classifier.components() if isinstance(c, TransformerClassifier)]:
            member._configure_tokenizer()
            member.quantisation = "static"
            member.quantisation_sample_ = member._encode([texts[i] for i in sorted(calibration)])
            ids = member._encode(posts)
            with tempfile.TemporaryDirectory() as tmp:
                fp32_path = member.export_onnx(Path(tmp) / "fp32.onnx", quantise=False)
                models = {"fp32": fp32_path}
                for name, keep_float in (("every MatMul quantised", False), ("feed-forward outputs float", True)):
                    member.quantise_ffn_output = not keep_float
                    models[name] = member.export_onnx(Path(tmp) / f"{len(models)}.onnx", quantise=True)
                reference = None
                for name, path in models.items():
                    session = _session(path, args.threads)
                    member._onnx_logits(session, ids[:100])  # warm-up
                    started = time.perf_counter()
                    logits = member._onnx_logits(session, ids)
                    speed = len(ids) / (time.perf_counter() - started)
                    if reference is None:
                        reference = logits
                    agreement = float(np.mean(logits.argmax(axis=1) == reference.argmax(axis=1)))
                    change = float(np.abs(logits - reference).mean())
                    size = path.stat().st_size / 1e6
                    row = f"| {task} | {name} | {agreement:.3f} | {change:.3f} | {size:.1f} | {speed:.0f} |"
                    print(row, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
