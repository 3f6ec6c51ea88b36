"""The CPU demo: a maximum-likelihood baseline and AMI on real dialogue.

``make demo`` (or ``python -m ami.demo``) runs, in ``work/demo``:

1. data: context -> response pairs from the chitchat_dataset package,
   sentencepiece and fairseq-preprocess (``ami-prepare-chitchat``);
2. pretraining: maximum likelihood of the forward and backward networks;
3. baseline: more maximum-likelihood updates from the pretrained checkpoint;
4. AMI from the same checkpoint: noise pretraining, then the adversarial game
   with as many forward-network updates as the baseline got (and as many
   backward-network updates);
5. generation of the test responses with fairseq-generate (beam search);
6. evaluation: BLEU, Distinct-n, Entropy-4, length and the mutual-information
   lower bound, with paired bootstrap intervals, printed as a table and
   written to ``work/demo/report.md`` and ``report.json``.

The sizes are chosen for 2 CPU cores and about 15 minutes; see docs/demo.md
for what such a budget can and cannot show. Every step logs its progress,
and a finished step is skipped when the demo is run again.
"""

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

logger = logging.getLogger("ami.demo")

REPO = Path(__file__).resolve().parents[1]
PLUGINS = REPO / "fairseq_plugins"
BIN = Path(sys.executable).parent
PROGRESS = re.compile(r"\| (train_inner|valid|train) \||stage \w+ begins|Translated|Error|error:")

MODEL_ARGS = [
    "--arch", "ami_transformer_tiny", "--share-all-embeddings", "--dropout", "0.1",
    "--label-smoothing", "0.1",
]


def run_logged(command, log_path: Path, description: str):
    """Run ``command``, write all its output to ``log_path`` and echo its progress lines.

    Echoed lines start with the log file's name, which identifies the run when two run in parallel.
    """
    logger.info("%s: started (full log: %s)", description, log_path)
    start = time.perf_counter()
    # One intra-op thread per process: on 2 cores a 2-thread fairseq-train of
    # this size ran 6 times slower than a 1-thread one (docs/benchmarks.md), and
    # the baseline and AMI runs use one core each in parallel.
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with open(log_path, "w", encoding="utf-8", buffering=1) as log, subprocess.Popen(
        [str(part) for part in command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env=env,
    ) as process:
        for line in process.stdout:
            log.write(line)
            if PROGRESS.search(line):
                logger.info("  [%s] %s", log_path.stem, line.rstrip()[:220])
        returncode = process.wait()
    if returncode != 0:
        raise RuntimeError(f"{description} failed with exit code {returncode}; see {log_path}")
    logger.info("%s: done in %.0f s", description, time.perf_counter() - start)


def run_parallel(jobs):
    """Run ``(command, log_path, description)`` jobs at the same time; raise if any fails."""
    errors = []

    def run(job):
        try:
            run_logged(*job)
        except RuntimeError as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError("; ".join(str(error) for error in errors))


def train_command(args, data_dir, save_dir, tensorboard_dir, extra):
    return [
        BIN / "fairseq-train", data_dir, "--user-dir", PLUGINS, "--task", "ami", "--criterion", "ami",
        *MODEL_ARGS,
        "--optimizer", "ami_adam", "--lr-scheduler", "pass_through",
        "--forward-lr", args.lr, "--backward-lr", args.lr, "--noise-lr", args.noise_lr,
        "--forward-warmup-updates", args.warmup, "--backward-warmup-updates", args.warmup,
        "--max-tokens", args.max_tokens, "--cpu", "--seed", args.seed,
        "--save-dir", save_dir, "--tensorboard-logdir", tensorboard_dir,
        "--log-format", "simple", "--log-interval", args.log_interval,
        "--no-epoch-checkpoints", "--validate-interval-updates", 10 ** 9,
        "--max-valid-steps", 20, "--num-workers", 0,
        *extra,
    ]


def step_done(marker: Path) -> bool:
    if marker.exists():
        logger.info("%s exists: skipping this step (delete it to redo the step)", marker)
        return True
    return False


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m ami.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--work-dir", default="work/demo", help="output directory (default: work/demo)")
    parser.add_argument("--pretrain-updates", type=int, default=900, help="maximum-likelihood pretraining updates")
    parser.add_argument("--updates", type=int, default=150,
                        help="forward-network updates of the baseline and of AMI after pretraining")
    parser.add_argument("--noise-pretrain-updates", type=int, default=20, help="AMI noise-pretraining updates")
    parser.add_argument("--direction", default="forward", choices=["forward", "reverse", "both"], help="AMI game direction")
    parser.add_argument("--num-samples", type=int, default=3, help="latent noise draws per example")
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of both networks")
    parser.add_argument("--finetune-lr", type=float, default=1e-3, help="constant learning rate after pretraining")
    parser.add_argument("--noise-lr", type=float, default=1e-3, help="learning rate of the noise networks")
    parser.add_argument("--warmup", type=int, default=100, help="warmup updates of the pretraining")
    parser.add_argument("--max-tokens", type=int, default=1500, help="target tokens per batch")
    parser.add_argument("--eval-pairs", type=int, default=1000, help="valid and test pairs kept from the corpus")
    parser.add_argument("--beam", type=int, default=5, help="beam size of generation")
    parser.add_argument("--no-repeat-ngram-size", type=int, default=3,
                        help="generation never repeats an n-gram of this size (0 disables)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-interval", type=int, default=25, help="updates between training log lines and TensorBoard points")
    args = parser.parse_args(argv)
    logging.basicConfig(
        format="%(asctime)s | %(levelname)s | %(name)s | %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S", level=logging.INFO, stream=sys.stdout,
    )
    for option, value in (("--pretrain-updates", args.pretrain_updates), ("--updates", args.updates)):
        if value < 1:
            parser.error(f"{option} must be at least 1, got {value}")

    work = Path(args.work_dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data"
    tensorboard = work / "tensorboard"
    total_start = time.perf_counter()

    # 1. Data.
    run_logged(
        [BIN / "ami-prepare-chitchat", "--out", data, "--max-eval-pairs", args.eval_pairs],
        work / "prepare.log", "step 1/6 data preparation",
    )
    bin_dir = data / "bin"

    # 2. Pretraining of both networks.
    pretrain = work / "pretrain"
    if not step_done(pretrain / "checkpoint_last.pt"):
        run_logged(
            train_command(args, bin_dir, pretrain, tensorboard / "pretrain", [
                "--pretrain-updates", args.pretrain_updates, "--max-update", args.pretrain_updates,
            ]),
            work / "pretrain.log", f"step 2/6 pretraining ({args.pretrain_updates} updates)",
        )
    start_checkpoint = pretrain / "checkpoint_last.pt"
    # The continuation runs restart the learning-rate schedule with a constant
    # rate near the one pretraining ended with; no warmup is needed.
    continue_args = ["--finetune-from-model", start_checkpoint, "--forward-warmup-updates", 0,
                     "--backward-warmup-updates", 0, "--lr-schedule", "fixed",
                     "--forward-lr", args.finetune_lr, "--backward-lr", args.finetune_lr]
    # Both systems get the same number of forward-network updates. AMI alternates
    # forward and backward updates, so it runs twice as many updates in all,
    # after its noise pretraining.
    ami_updates = args.noise_pretrain_updates + 2 * args.updates

    # 3 and 4, in parallel on one core each: the baseline continues maximum
    # likelihood; AMI runs noise pretraining, then the adversarial game.
    systems = {"mle": work / "mle", "ami": work / "ami"}
    jobs = []
    if not step_done(systems["mle"] / "checkpoint_last.pt"):
        jobs.append((
            train_command(args, bin_dir, systems["mle"], tensorboard / "mle",
                          continue_args + ["--pretrain-updates", args.updates, "--max-update", args.updates]),
            work / "mle.log", f"step 3/6 baseline: {args.updates} more maximum-likelihood updates",
        ))
    if not step_done(systems["ami"] / "checkpoint_last.pt"):
        jobs.append((
            train_command(args, bin_dir, systems["ami"], tensorboard / "ami", continue_args + [
                "--max-update", ami_updates,
                "--pretrain-updates", 0, "--noise-pretrain-updates", args.noise_pretrain_updates,
                "--adversarial-direction", args.direction, "--num-samples", args.num_samples,
            ]),
            work / "ami.log",
            f"step 4/6 AMI: {args.noise_pretrain_updates} noise-pretraining and "
            f"{2 * args.updates} adversarial updates ({args.updates} of each network)",
        ))
    run_parallel(jobs)

    # 5. Generation, both systems in parallel.
    jobs = []
    for name, save_dir in systems.items():
        log_path = work / f"generate-{name}.log"
        if step_done(log_path):
            continue
        jobs.append((
            [BIN / "fairseq-generate", bin_dir, "--user-dir", PLUGINS, "--task", "ami",
             "--path", save_dir / "checkpoint_last.pt", "--gen-subset", "test", "--cpu",
             "--beam", args.beam, "--batch-size", 64, "--max-len-b", 40,
             "--no-repeat-ngram-size", args.no_repeat_ngram_size,
             "--post-process", "sentencepiece"],
            log_path.with_suffix(".tmp"), f"step 5/6 generating test responses with the {name} model",
        ))
    run_parallel(jobs)
    for name in systems:
        tmp = (work / f"generate-{name}.log").with_suffix(".tmp")
        if tmp.exists():
            tmp.replace(work / f"generate-{name}.log")

    # 6. Evaluation.
    from ami.demo_report import write_report

    report = write_report(work, data, systems, start_checkpoint, args)
    logger.info("step 6/6 evaluation: done")
    print()
    print(report)
    print()
    logger.info("total time %.1f min", (time.perf_counter() - total_start) / 60)
    logger.info("report: %s and %s", work / "report.md", work / "report.json")
    logger.info("TensorBoard curves: %s --logdir %s", BIN / "tensorboard", tensorboard)


if __name__ == "__main__":
    main()
