"""AMI training with 2 CPU processes (gloo on loopback) keeps the ranks identical."""

import os
import socket
import subprocess
import sys

import torch

from tests.conftest import REPO, TINY_TRAIN_ARGS


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_ranks_end_with_identical_parameters(tiny_corpus, tmp_path):
    port = free_port()
    common = [
        str(tiny_corpus / "bin"), "--save-dir", str(tmp_path), *TINY_TRAIN_ARGS,
        "--pretrain-updates", "2", "--noise-pretrain-updates", "1", "--max-update", "7",
        "--adversarial-direction", "both",
        "--distributed-world-size", "2", "--distributed-init-method", f"tcp://127.0.0.1:{port}",
        "--distributed-backend", "gloo", "--distributed-no-spawn", "--ddp-backend", "legacy_ddp",
    ]
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    ranks = [
        subprocess.Popen(
            [sys.executable, str(REPO / "tests" / "distributed_worker.py"), *common, "--distributed-rank", str(rank)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        for rank in (0, 1)
    ]
    outputs = [process.communicate(timeout=300)[0] for process in ranks]
    for rank, (process, output) in enumerate(zip(ranks, outputs)):
        assert process.returncode == 0, f"rank {rank} failed:\n{output[-4000:]}"

    first = torch.load(tmp_path / "rank0.pt")
    second = torch.load(tmp_path / "rank1.pt")
    assert first.keys() == second.keys()
    different = [name for name in first if not torch.equal(first[name], second[name])]
    assert different == [], f"parameters that differ between ranks: {different[:5]}"
