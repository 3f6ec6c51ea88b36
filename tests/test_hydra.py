"""AMI options work from YAML with fairseq-hydra-train."""

import re

from tests.conftest import PLUGINS, REPO, run_tool


def test_hydra_config_trains_every_stage(tiny_corpus, tmp_path):
    result = run_tool(
        "fairseq-hydra-train", "--config-dir", REPO / "examples" / "hydra", "--config-name", "ami_chitchat",
        f"common.user_dir={PLUGINS}", f"task.data={tiny_corpus / 'bin'}",
        f"checkpoint.save_dir={tmp_path / 'ckpt'}", f"hydra.run.dir={tmp_path / 'hydra'}",
        "model._name=ami_transformer_test", "task.pretrain_updates=2", "task.noise_pretrain_updates=1",
        "optimization.max_update=5", "criterion.num_samples=2", "dataset.max_tokens=600",
        "dataset.max_valid_steps=1",
    )
    log = result.stdout + result.stderr
    assert re.findall(r"stage (\w+) begins", log) == ["pretrain", "noise_pretrain", "adversarial"]
    assert (tmp_path / "ckpt" / "checkpoint_last.pt").exists()
