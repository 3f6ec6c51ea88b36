"""Training speed of AMI against maximum likelihood, on the same batches, in one process.

Runs three kinds of update through fairseq's Trainer:
  - mle: maximum likelihood of the forward network alone (a plain seq2seq update);
  - ami K=1 and ami K=5: adversarial-stage updates, alternating forward- and
    backward-network updates as the default schedule does, with K latent
    noise draws per example;
and prints updates/s, target tokens/s and peak resident memory of each, with
the measured AMI/MLE time ratio next to the ratio of their arithmetic.

Arithmetic, in forward-pass equivalents of one seq2seq network on the batch
(a backward pass counted as two forward passes):
  mle update:          3      (forward + backward pass)
  ami forward update:  3 + 4K (MLE 3; K noisy decoder passes with gradient 3K;
                              K judge passes without gradient K)
  ami backward update: 3 + 4K (MLE 3; K generator passes without gradient K;
                              K judge passes with gradient 3K)
so the expected AMI/MLE ratio is (3 + 4K) / 3. The encoder pass shared by
the K samples makes the real ratio somewhat lower.

Usage:
  python benchmarks/bench_training.py DATA_BIN [--arch ami_transformer_tiny]
      [--max-tokens 1500] [--updates 30] [--device cpu|cuda] [--fp16|--bf16]
"""

import argparse
import os
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def peak_rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_rss():
    # Writing 5 to clear_refs resets the peak resident set size (Linux >= 4.0).
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def build(data, arch, max_tokens, device, precision, num_samples):
    from fairseq import options, tasks
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf
    from fairseq.trainer import Trainer

    argv = [
        str(data), "--user-dir", str(REPO / "fairseq_plugins"), "--task", "ami", "--criterion", "ami",
        "--arch", arch, "--share-all-embeddings", "--optimizer", "ami_adam",
        "--lr-scheduler", "pass_through", "--lr-schedule", "fixed",
        "--forward-warmup-updates", "0", "--backward-warmup-updates", "0",
        "--max-tokens", str(max_tokens), "--num-samples", str(num_samples), "--seed", "1",
        "--pretrain-updates", "0", "--save-dir", "/tmp/ami-bench-unused",
        "--reward-baseline", "sample_mean" if num_samples > 1 else "none",
    ]
    if device == "cpu":
        argv.append("--cpu")
    if precision == "fp16":
        argv += ["--fp16", "--fp16-no-flatten-grads"]
    elif precision == "bf16":
        argv += ["--bf16", "--fp16-no-flatten-grads"]
    parser = options.get_training_parser()
    args = options.parse_args_and_arch(parser, argv)
    cfg = convert_namespace_to_omegaconf(args)
    task = tasks.setup_task(cfg.task)
    task.load_dataset("train")
    model = task.build_model(cfg.model)
    criterion = task.build_criterion(cfg.criterion)
    return Trainer(cfg, task, model, criterion), task


class ForwardOnlyMLE:
    """Patch the task so every update is forward-network maximum likelihood only."""

    def __init__(self, task):
        self.task = task

    def __enter__(self):
        from ami import game

        def train_step(sample, model, criterion, optimizer, update_num, ignore_grad=False):
            model.train()
            networks = criterion._networks(model)
            loss, _, _ = game.maximum_likelihood(networks.forward, sample, criterion.settings.label_smoothing)
            optimizer.backward(loss)
            return loss, 1, {"ntokens": sample["ntokens"], "nsentences": sample["target"].size(0), "sample_size": 1}

        def optimizer_step(optimizer, model, update_num):
            optimizer.step(groups={"forward"})

        self.saved = (self.task.train_step, self.task.optimizer_step)
        self.task.train_step, self.task.optimizer_step = train_step, optimizer_step
        return self

    def __exit__(self, *exc):
        self.task.train_step, self.task.optimizer_step = self.saved


def time_updates(trainer, batches, first_update, device):
    trainer.set_num_updates(first_update)
    for batch in batches[:2]:  # warm-up, not timed
        trainer.train_step([batch])
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    else:
        reset_peak_rss()
    start = time.perf_counter()
    tokens = 0
    for batch in batches[2:]:
        trainer.train_step([batch])
        tokens += batch["ntokens"]
    if device == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2 ** 20
    else:
        peak = peak_rss_mb()
    elapsed = time.perf_counter() - start
    updates = len(batches) - 2
    return {"updates/s": updates / elapsed, "tokens/s": tokens / elapsed, "s/update": elapsed / updates, "peak MB": peak}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", help="binarized data directory (e.g. work/demo/data/bin)")
    parser.add_argument("--arch", default="ami_transformer_tiny")
    parser.add_argument("--max-tokens", type=int, default=1500)
    parser.add_argument("--updates", type=int, default=30, help="timed updates per configuration")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=["cpu", "cuda"])
    parser.add_argument("--precision", default="fp32", choices=["fp32", "fp16", "bf16"])
    args = parser.parse_args()

    results = {}
    for label, num_samples in (("mle", 5), ("ami K=1", 1), ("ami K=5", 5)):
        trainer, task = build(args.data, args.arch, args.max_tokens, args.device, args.precision, num_samples)
        iterator = task.get_batch_iterator(task.dataset("train"), max_tokens=args.max_tokens, seed=1)
        batches = []
        for batch in iterator.next_epoch_itr(shuffle=True):
            batches.append(batch)
            if len(batches) == args.updates + 2:
                break
        if label == "mle":
            with ForwardOnlyMLE(task):
                results[label] = time_updates(trainer, batches, 0, args.device)
        else:
            results[label] = time_updates(trainer, batches, 0, args.device)

    device_name = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"arch {args.arch}, max tokens {args.max_tokens}, {args.updates} timed updates, {device_name}, "
          f"{args.precision}, torch {torch.__version__}")
    print(f"{'update':<10} {'updates/s':>10} {'tokens/s':>10} {'peak MB':>9} {'time ratio':>11} {'arithmetic':>11}")
    base = results["mle"]["s/update"]
    for label, row in results.items():
        k = 0 if label == "mle" else int(label.split("=")[1])
        arithmetic = 1.0 if k == 0 else (3 + 4 * k) / 3
        print(f"{label:<10} {row['updates/s']:>10.2f} {row['tokens/s']:>10.0f} {row['peak MB']:>9.0f} "
              f"{row['s/update'] / base:>11.2f} {arithmetic:>11.2f}")


if __name__ == "__main__":
    main()
