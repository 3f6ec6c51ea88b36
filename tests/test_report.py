"""ami-report on real TensorBoard event files of two tiny fairseq-train runs."""

import json
import logging

import pytest

from ami.evaluate import EvaluationSettings, compare_systems, evaluate
from ami.report import FIGURES, load_evaluation, load_runs, main, plot_figure
from tests.conftest import fairseq_train, run_tool

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FORWARD_GAME_PLOTS = ("nll", "reward", "noise", "judge", "mi_lower_bound")


@pytest.fixture(scope="module")
def run_dir(tiny_corpus, tmp_path_factory):
    """A run directory like work/demo: an AMI run, then a maximum-likelihood run, and an evaluation JSON."""
    root = tmp_path_factory.mktemp("report_run")
    fairseq_train(
        tiny_corpus / "bin", root / "ami",
        "--pretrain-updates", 2, "--noise-pretrain-updates", 1, "--max-update", 5,
        "--validate-interval-updates", 2, "--tensorboard-logdir", root / "tensorboard" / "ami",
    )
    fairseq_train(
        tiny_corpus / "bin", root / "mle",
        "--pretrain-updates", 4, "--max-update", 4,
        "--validate-interval-updates", 2, "--tensorboard-logdir", root / "tensorboard" / "mle",
    )
    report = compare_systems(
        {"mle": ["hi there", "I am fine"], "ami": ["hello there", "I am fine thanks"]},
        references=["hello there", "I am fine thanks"],
        settings=EvaluationSettings(metrics=("bleu", "length")),
        num_resamples=50,
    )
    (root / "scores.json").write_text(json.dumps(report), encoding="utf-8")
    (root / "unrelated.json").write_text(json.dumps({"learning_rate": 0.1}), encoding="utf-8")
    return root


def test_report_writes_plots_and_markdown(run_dir):
    result = run_tool("ami-report", run_dir)
    out = run_dir / "report"
    markdown = (out / "report.md").read_text(encoding="utf-8")

    for name in FORWARD_GAME_PLOTS:
        png = out / f"{name}.png"
        assert png.read_bytes()[:8] == PNG_SIGNATURE, f"{png} is not a PNG file"
        assert f"]({name}.png)" in markdown, f"report.md does not embed {name}.png"
    assert not (out / "reverse_reward.png").exists()
    assert "| system | bleu | length-mean | length-median | empty |" in markdown
    assert "| mle |" in markdown
    assert "| ami |" in markdown
    assert "Paired bootstrap against mle" in markdown
    assert "### scores.json" in markdown
    assert "unrelated.json" not in markdown
    assert "Missing scalars: reward (train_inner or train) in run mle" in markdown
    assert "| ami | 5 |" in markdown
    assert "| mle | 4 |" in markdown
    assert f"wrote {out / 'report.md'} with 5 plots" in result.stdout


def test_report_one_curve_per_run(run_dir, tmp_path):
    runs = load_runs(run_dir)
    assert [run.name for run in runs] == ["ami", "mle"]

    nll = next(spec for spec in FIGURES if spec.name == "nll")
    result = plot_figure(nll, runs, tmp_path)
    assert result.path == tmp_path / "nll.png"
    assert result.labels.count("ami: train") == 2
    assert result.labels.count("mle: train") == 2
    assert result.labels.count("ami: valid") == 2
    assert result.labels.count("mle: valid") == 2
    assert result.missing == []


def test_report_run_selection_skips_empty_figures(run_dir, tmp_path, caplog):
    output = tmp_path / "mle-report.md"
    with caplog.at_level(logging.INFO, logger="ami.report"):
        status = main([str(run_dir), "--runs", "mle", "--output", str(output), "--eval-json", str(run_dir / "scores.json")])
    assert status == 0

    markdown = output.read_text(encoding="utf-8")
    assert (tmp_path / "nll.png").exists()
    assert (tmp_path / "mi_lower_bound.png").exists()
    assert not (tmp_path / "reward.png").exists()
    assert markdown.count("Not plotted: no run logged any of its scalars.") == 3
    assert "reward.png not written" in caplog.text
    assert "no reward (train_inner or train) in run mle" in caplog.text


def test_report_without_event_files(tmp_path, caplog):
    with caplog.at_level(logging.ERROR, logger="ami.report"):
        status = main([str(tmp_path)])
    assert status == 1
    assert "no TensorBoard event files" in caplog.text
    assert str(tmp_path) in caplog.text


def test_report_unknown_run_name(run_dir, tmp_path, caplog):
    with caplog.at_level(logging.ERROR, logger="ami.report"):
        status = main([str(run_dir), "--runs", "mle,pretrain", "--output", str(tmp_path / "r.md")])
    assert status == 1
    assert "--runs names pretrain not found" in caplog.text


def test_report_rejects_invalid_eval_json(run_dir, tmp_path, caplog):
    with caplog.at_level(logging.ERROR, logger="ami.report"):
        status = main([str(run_dir), "--output", str(tmp_path / "r.md"), "--eval-json", str(run_dir / "unrelated.json")])
    assert status == 1
    assert "is not an evaluation JSON" in caplog.text


def test_single_system_evaluation_is_wrapped(tmp_path):
    path = tmp_path / "ami-test.json"
    sentence = ["the cat sat on the mat today"]
    report = evaluate(sentence, sentence, settings=EvaluationSettings(metrics=("bleu",)))
    path.write_text(json.dumps(report), encoding="utf-8")

    loaded = load_evaluation(path)
    assert [system["name"] for system in loaded["systems"]] == ["ami-test"]
    assert loaded["systems"][0]["scores"]["bleu"] == pytest.approx(100.0)


def test_report_offset_shifts_updates(run_dir):
    runs = load_runs(run_dir, offsets={"mle": 100})
    mle = next(run for run in runs if run.name == "mle")
    ami = next(run for run in runs if run.name == "ami")
    assert mle.offset == 100
    assert mle.last_update == 104
    assert ami.last_update == 5


def test_report_rejects_invalid_offset(run_dir, tmp_path, caplog):
    with caplog.at_level(logging.ERROR, logger="ami.report"):
        status = main([str(run_dir), "--output", str(tmp_path / "r.md"), "--offset", "mle900"])
    assert status == 1
    assert "invalid --offset 'mle900'" in caplog.text
