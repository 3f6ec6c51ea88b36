"""Shared fixtures: a tiny real dialogue corpus and helpers to run fairseq for real."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
PLUGINS = str(REPO / "fairseq_plugins")
BIN = Path(sys.executable).parent

# A few minutes of CPU in total: 1+1-layer, 32-wide networks, small batches.
TINY_TRAIN_ARGS = [
    "--user-dir", PLUGINS, "--task", "ami", "--criterion", "ami",
    "--arch", "ami_transformer_test", "--share-all-embeddings",
    "--optimizer", "ami_adam", "--lr-scheduler", "pass_through",
    "--forward-lr", "1e-3", "--backward-lr", "1e-3", "--noise-lr", "1e-3",
    "--forward-warmup-updates", "2", "--backward-warmup-updates", "2",
    "--max-tokens", "600", "--num-samples", "3", "--cpu", "--seed", "1",
    "--log-format", "simple", "--log-interval", "1", "--no-epoch-checkpoints",
    "--max-valid-steps", "2", "--num-workers", "0",
]


def run_tool(tool, *args, check=True, timeout=600):
    """Run a console script from this environment; fail with its output if it fails."""
    # One thread per process: 2-thread runs of these tiny models are much slower on 2 cores.
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    result = subprocess.run(
        [str(BIN / tool), *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"{tool} exited with {result.returncode}\n--- stdout (tail) ---\n{result.stdout[-3000:]}"
            f"\n--- stderr (tail) ---\n{result.stderr[-5000:]}"
        )
    return result


def fairseq_train(data_dir, save_dir, *extra, check=True):
    return run_tool("fairseq-train", data_dir, "--save-dir", save_dir, *TINY_TRAIN_ARGS, *extra, check=check)


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    """Real chitchat pairs: 1,500 train, 60 valid, 60 test, sentencepiece vocabulary of 300.

    60 is not a multiple of 8, so a run that drops a partial batch is caught.
    """
    out = tmp_path_factory.mktemp("chitchat")
    run_tool(
        "ami-prepare-chitchat", "--out", out, "--max-train-pairs", 1500,
        "--max-eval-pairs", 60, "--vocab-size", 300, "--max-words", 12,
    )
    return out
