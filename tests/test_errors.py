"""Bad input raises an error that names the file or option and the fix."""

import shutil

import torch

from tests.conftest import PLUGINS, TINY_TRAIN_ARGS, fairseq_train, run_tool


def failure_text(result):
    assert result.returncode != 0, "the command was expected to fail"
    return result.stdout + result.stderr


def test_missing_data_directory(tmp_path):
    missing = tmp_path / "no-such-dir"
    text = failure_text(fairseq_train(missing, tmp_path / "ckpt", "--max-update", 1, check=False))
    assert f"data directory '{missing}' does not exist" in text


def test_mismatched_line_counts(tiny_corpus, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("train.src", "train.tgt", "valid.src", "valid.tgt"):
        shutil.copy(tiny_corpus / "spm" / name, raw / name)
    lines = (raw / "train.tgt").read_text().splitlines()
    (raw / "train.tgt").write_text("\n".join(lines[:-5]) + "\n")
    run_tool(
        "fairseq-preprocess", "--source-lang", "src", "--target-lang", "tgt",
        "--trainpref", raw / "train", "--validpref", raw / "valid", "--destdir", tmp_path / "bin",
        "--joined-dictionary", "--workers", 1,
    )
    text = failure_text(fairseq_train(tmp_path / "bin", tmp_path / "ckpt", "--max-update", 1, check=False))
    assert "train.src-tgt.src has 1500 examples but" in text
    assert "train.src-tgt.tgt has 1495" in text


def test_ami_criterion_without_ami_task(tiny_corpus, tmp_path):
    args = list(TINY_TRAIN_ARGS)
    args[args.index("--arch") + 1] = "transformer"
    args[args.index("--task") + 1] = "translation"
    result = run_tool(
        "fairseq-train", tiny_corpus / "bin", "--save-dir", tmp_path / "ckpt", *args,
        "--encoder-layers", 1, "--decoder-layers", 1, "--max-update", 1, check=False,
    )
    assert "--criterion ami needs --task ami" in failure_text(result)


def test_ami_arch_without_ami_task(tiny_corpus, tmp_path):
    result = run_tool(
        "fairseq-train", tiny_corpus / "bin", "--user-dir", PLUGINS, "--task", "translation",
        "--arch", "ami_transformer_test", "--cpu", "--max-tokens", 600, "--max-update", 1,
        "--save-dir", tmp_path,
        check=False,
    )
    assert "builds an AMI model, which needs --task ami" in failure_text(result)


def test_ami_task_with_plain_model(tiny_corpus, tmp_path):
    args = list(TINY_TRAIN_ARGS)
    args[args.index("--arch") + 1] = "transformer"
    result = run_tool(
        "fairseq-train", tiny_corpus / "bin", "--save-dir", tmp_path / "ckpt", *args,
        "--encoder-layers", 1, "--decoder-layers", 1, "--max-update", 1, check=False,
    )
    assert "--task ami needs an AMI model" in failure_text(result)


def test_checkpoint_without_backward_network(tiny_corpus, tmp_path):
    save = tmp_path / "ckpt"
    fairseq_train(tiny_corpus / "bin", save, "--max-update", 1)
    state = torch.load(save / "checkpoint_last.pt", weights_only=False)
    state["model"] = {k: v for k, v in state["model"].items() if not k.startswith("backward_network.")}
    torch.save(state, tmp_path / "forward_only.pt")
    result = run_tool(
        "fairseq-generate", tiny_corpus / "bin", "--user-dir", PLUGINS, "--task", "ami",
        "--path", tmp_path / "forward_only.pt", "--gen-subset", "test", "--cpu", check=False,
    )
    assert "the checkpoint has no backward network parameters" in failure_text(result)


def test_sample_mean_baseline_needs_two_samples(tiny_corpus, tmp_path):
    result = fairseq_train(tiny_corpus / "bin", tmp_path / "ckpt", "--num-samples", 1,
                           "--max-update", 1, check=False)
    assert "reward_baseline 'sample_mean' needs num_samples >= 2" in failure_text(result)
