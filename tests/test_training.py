"""Real fairseq-train / fairseq-generate runs of the AMI plugins on a tiny corpus."""

import re

import torch

from tests.conftest import fairseq_train, run_tool, PLUGINS


def stage_starts(log):
    return re.findall(r"update (\d+): stage (\w+) begins", log)


def test_one_run_goes_through_every_stage(tiny_corpus, tmp_path):
    result = fairseq_train(
        tiny_corpus / "bin", tmp_path / "ckpt",
        "--pretrain-updates", 3, "--noise-pretrain-updates", 2, "--max-update", 9,
    )
    log = result.stdout + result.stderr
    assert stage_starts(log) == [("0", "pretrain"), ("3", "noise_pretrain"), ("5", "adversarial")]
    for name in ("forward_nll", "backward_nll", "reward", "noise_loss", "generator_pg_loss",
                 "judge_synthetic_loss", "mi_lower_bound"):
        assert re.search(rf"\b{name}[ =]-?\d", log), f"{name} was not logged"
    assert (tmp_path / "ckpt" / "checkpoint_last.pt").exists()


def test_resume_continues_stage_and_update_count(tiny_corpus, tmp_path):
    save = tmp_path / "ckpt"
    common = ("--pretrain-updates", 3, "--noise-pretrain-updates", 2)
    fairseq_train(tiny_corpus / "bin", save, *common, "--max-update", 4)
    result = fairseq_train(tiny_corpus / "bin", save, *common, "--max-update", 7)
    log = result.stdout + result.stderr
    assert re.search(r"Loaded checkpoint .*checkpoint_last\.pt \(epoch \d+ @ 4 updates\)", log)
    assert stage_starts(log) == [("4", "noise_pretrain"), ("5", "adversarial")]
    state = torch.load(save / "checkpoint_last.pt", weights_only=False)
    assert state["optimizer_history"][-1]["num_updates"] == 7


def test_generate_returns_every_test_line(tiny_corpus, tmp_path):
    save = tmp_path / "ckpt"
    fairseq_train(tiny_corpus / "bin", save, "--pretrain-updates", 2, "--max-update", 4)
    result = run_tool(
        "fairseq-generate", tiny_corpus / "bin", "--user-dir", PLUGINS, "--task", "ami",
        "--path", save / "checkpoint_last.pt", "--gen-subset", "test", "--beam", 2,
        "--batch-size", 16, "--max-len-b", 10, "--cpu",
    )
    ids = {int(m) for m in re.findall(r"^H-(\d+)\t", result.stdout, flags=re.M)}
    test_lines = len((tiny_corpus / "raw" / "test.src").read_text().splitlines())
    assert ids == set(range(test_lines))

    interactive = run_tool(
        "fairseq-interactive", tiny_corpus / "bin", "--user-dir", PLUGINS, "--task", "ami",
        "--path", save / "checkpoint_last.pt", "--source-lang", "src", "--target-lang", "tgt",
        "--bpe", "sentencepiece", "--sentencepiece-model", tiny_corpus / "spm" / "sentencepiece.model",
        "--input", tiny_corpus / "raw" / "valid.src", "--beam", 2, "--max-len-b", 10, "--cpu",
    )
    valid_lines = len((tiny_corpus / "raw" / "valid.src").read_text().splitlines())
    assert len(re.findall(r"^H-\d+\t", interactive.stdout, flags=re.M)) == valid_lines


def test_lstm_reverse_game_with_greedy_samples(tiny_corpus, tmp_path):
    result = fairseq_train(
        tiny_corpus / "bin", tmp_path / "ckpt",
        "--arch", "ami_lstm_test", "--adversarial-direction", "both",
        "--synthetic-decoding", "greedy", "--synthetic-max-len-b", 6,
        "--pretrain-updates", 1, "--noise-pretrain-updates", 1, "--max-update", 5,
    )
    log = result.stdout + result.stderr
    assert re.search(r"\breverse_reward[ =]-?\d", log)
    assert re.search(r"\breward[ =]-?\d", log)


def test_token_sampling_ablation_runs(tiny_corpus, tmp_path):
    result = fairseq_train(
        tiny_corpus / "bin", tmp_path / "ckpt", "--synthetic-decoding", "sample",
        "--synthetic-max-len-b", 6, "--max-update", 3,
    )
    assert "reward" in result.stdout + result.stderr
