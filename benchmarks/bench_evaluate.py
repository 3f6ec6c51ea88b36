"""Time ami-evaluate's metrics on many hypothesis lines against sacrebleu alone.

    python benchmarks/bench_evaluate.py [--lines 100000] [--workers 1]

Text: messages of the Chit Chat Challenge corpus (the chitchat-dataset
package, messages joined as in its MessageDataset, newlines replaced by
spaces), drawn with replacement with a fixed seed. References are random
messages. Each hypothesis copies its reference with probability 0.3 and is
another random message otherwise, so BLEU and ROUGE are neither 0 nor 100.
``--source synthetic`` uses random sentences over a Zipf-distributed
vocabulary instead, for environments without chitchat-dataset.

Word vectors for the embedding metric are random 300-dimensional vectors for
every hypothesis and reference token, held in memory: no real vectors are
available offline and their values do not change the running time.

Printed: the machine and the time of sacrebleu's ``BLEU().corpus_score``
(13a tokenizer). Then the time of each ami metric and of the default
dialogue and summarization metric sets, with each set's ratio to
sacrebleu. Then the time of the ``ami-evaluate`` command on files, with
all metrics except the embedding and model-based ones. With
``--reference-implementations``, also BLEU and ROUGE computed by the
packages' own code. Model-based metrics are not included. Times are
wall-clock seconds, the fastest of ``--repeat`` runs. Other load on the
machine inflates them.
"""

import argparse
import logging
import os
import platform
import random
import subprocess
import sys
import tempfile
import time

import numpy as np
import sacrebleu
from sacrebleu.metrics import BLEU

from ami.evaluate import DEFAULT_METRICS, EvaluationSettings, compare_systems, compute_metrics
from ami.rouge import stem


def chitchat_messages():
    from chitchat_dataset import MessageDataset

    messages = [" ".join(message.split()) for message in MessageDataset()]
    return [message for message in messages if message]


def synthetic_messages(count, rng):
    vocabulary = [f"word{i}" for i in range(20000)] + [".", ",", "?", "!", "i", "you", "the", "a"]
    weights = 1.0 / np.arange(1, len(vocabulary) + 1)
    weights /= weights.sum()
    numpy_rng = np.random.default_rng(rng.randrange(1 << 30))
    lengths = numpy_rng.integers(1, 30, size=count)
    return [" ".join(numpy_rng.choice(vocabulary, size=length, p=weights)) for length in lengths]


def make_lines(source, lines, seed):
    rng = random.Random(seed)
    pool = chitchat_messages() if source == "chitchat" else synthetic_messages(20000, rng)
    refs = [rng.choice(pool) for _ in range(lines)]
    hyps = [ref if rng.random() < 0.3 else rng.choice(pool) for ref in refs]
    return hyps, refs, len(pool)


def random_vectors(texts, dim, seed):
    rng = np.random.default_rng(seed)
    vocabulary = sorted({token for group in texts for text in group for token in text.split()})
    matrix = rng.standard_normal((len(vocabulary), dim))
    return dict(zip(vocabulary, matrix))


def timed(function, repeat=1):
    """Return (fastest wall-clock seconds of ``repeat`` runs, result of the last run).

    ami's Porter stem cache is cleared before each run, so that no run
    reuses the stems of the one before.
    """
    best = float("inf")
    for _ in range(repeat):
        stem.cache_clear()
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def machine_description():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            models = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
        if models:
            cpu = models[0]
    except OSError:
        pass
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, numpy {np.__version__}, "
        f"sacrebleu {sacrebleu.__version__}, OMP_NUM_THREADS={threads}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=100000, help="hypothesis lines (default: 100000)")
    parser.add_argument("--source", choices=("chitchat", "synthetic"), default="chitchat")
    parser.add_argument("--workers", type=int, default=1, help="processes for BLEU and ROUGE (default: 1)")
    parser.add_argument("--bootstrap", type=int, default=0, help="also time a two-system paired bootstrap with N resamples")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; the fastest is printed (default: 3)")
    parser.add_argument(
        "--reference-implementations",
        action="store_true",
        help="also time BLEU statistics with sacrebleu's code and ROUGE with rouge-score's (one run each)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(levelname)s | %(name)s | %(message)s", level=logging.ERROR)

    print(f"machine: {machine_description()}")
    hyps, refs, pool_size = make_lines(args.source, args.lines, args.seed)
    tokens = sum(len(hyp.split()) for hyp in hyps)
    print(f"{args.lines} hypothesis lines from {args.source} ({pool_size} distinct messages), {tokens} whitespace tokens")
    print(f"each time is the fastest of {args.repeat} runs")

    # sacrebleu first, before the word vectors fill memory with objects
    # that Python's garbage collector would walk during its run.
    sacrebleu_seconds, score = timed(lambda: BLEU().corpus_score(hyps, [refs]), args.repeat)
    print(f"sacrebleu BLEU().corpus_score: {sacrebleu_seconds:.2f} s (BLEU {score.score:.2f})")
    vectors = random_vectors([hyps, refs], 300, args.seed)

    base = dict(word_vectors=vectors, workers=args.workers)
    groups = [("bleu", "bleu-n"), ("distinct",), ("entropy",), ("length",), ("rouge",), ("embedding",)]
    print("\n| ami metric | seconds |\n|---|---:|")
    for group in groups:
        seconds, _ = timed(
            lambda: compute_metrics(hyps, refs, settings=EvaluationSettings(metrics=group, **base)), args.repeat
        )
        print(f"| {' + '.join(group)} | {seconds:.2f} |")

    all_metrics = ("bleu", "bleu-n", "distinct", "entropy", "rouge", "embedding", "length")
    sets = [
        ("dialogue default: " + ",".join(DEFAULT_METRICS["dialogue"]), DEFAULT_METRICS["dialogue"]),
        ("summarization default: " + ",".join(DEFAULT_METRICS["summarization"]), DEFAULT_METRICS["summarization"]),
        ("all: " + ",".join(all_metrics), all_metrics),
    ]
    print("\n| ami metric set | seconds | ratio to sacrebleu |\n|---|---:|---:|")
    for label, names in sets:
        seconds, _ = timed(
            lambda: compute_metrics(hyps, refs, settings=EvaluationSettings(metrics=names, **base)), args.repeat
        )
        print(f"| {label} | {seconds:.2f} | {seconds / sacrebleu_seconds:.2f}x |")

    # The command line end to end: interpreter start-up, imports, reading the
    # files, all metrics that need no word vectors or checkpoint, JSON output.
    with tempfile.TemporaryDirectory() as directory:
        hyp_file, ref_file = os.path.join(directory, "hyp.txt"), os.path.join(directory, "ref.txt")
        for path, lines in ((hyp_file, hyps), (ref_file, refs)):
            with open(path, "w", encoding="utf-8") as handle:
                handle.write("\n".join(lines) + "\n")
        names = "bleu,bleu-n,distinct,entropy,rouge,length"
        command = [
            sys.executable, "-m", "ami.evaluate", "--hyp", hyp_file, "--ref", ref_file,
            "--metrics", names, "--json", os.path.join(directory, "scores.json"),
        ]
        seconds, finished = timed(lambda: subprocess.run(command, capture_output=True, text=True), args.repeat)
        if finished.returncode != 0:
            raise RuntimeError(f"ami-evaluate failed with exit status {finished.returncode}:\n{finished.stderr}")
    print(f"\n| command line | seconds | ratio to sacrebleu |\n|---|---:|---:|")
    print(f"| ami-evaluate --metrics {names} --json | {seconds:.2f} | {seconds / sacrebleu_seconds:.2f}x |")

    if args.reference_implementations:
        print("\n| implementation | seconds |\n|---|---:|")
        for label, options in (
            ("bleu + bleu-n, sacrebleu's code", dict(metrics=("bleu", "bleu-n"), bleu_implementation="sacrebleu")),
            ("rouge, rouge-score's code", dict(metrics=("rouge",), rouge_implementation="rouge-score")),
        ):
            seconds, _ = timed(lambda: compute_metrics(hyps, refs, settings=EvaluationSettings(**options, **base)))
            print(f"| {label} | {seconds:.2f} |")

    if args.bootstrap:
        other = list(refs)
        settings = EvaluationSettings(metrics=DEFAULT_METRICS["dialogue"], workers=args.workers)
        seconds, _ = timed(
            lambda: compare_systems({"a": hyps, "b": other}, refs, settings=settings, num_resamples=args.bootstrap)
        )
        print(f"\ntwo systems, dialogue defaults, paired bootstrap with {args.bootstrap} resamples: {seconds:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
