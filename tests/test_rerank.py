"""ami-rerank: a canned n-best log rescored with a real tiny AMI checkpoint, and the grid search."""

import json
import logging

import numpy as np
import pytest

from ami import evaluate
from ami.generate_log import parse_generate_log
from ami.rerank import (
    CandidateScores,
    NbestList,
    main,
    parse_objective,
    read_nbest_log,
    tune,
)
from tests.conftest import fairseq_train, run_tool

SOURCES = {
    3: "do you like hiking?",
    0: "Hey hey!",
    2: "what are you doing this weekend?",
    1: "I am so tired today hahaha",
}
REFERENCES = {
    3: "yes I love hiking in the mountains",
    0: "Hey welcome back!",
    2: "I am going to visit my family",
    1: "you should get some sleep",
}
# Four candidates per id in the order fairseq-generate would print them
# (its own scores, best first). Id 1 has an empty candidate.
CANDIDATES = {
    3: ["yes", "yes I love hiking", "I do not know", "do you like hiking?"],
    0: ["hey", "hey hey!", "Hey welcome back!", "what are you doing?"],
    2: ["nothing", "I am going to visit my family", "what are you doing this weekend?", "I do not know what to do"],
    1: ["", "you should sleep", "me too hahaha", "I am so tired today hahaha"],
}


def pieces(text):
    """Write text as sentencepiece-style pieces, as fairseq-generate does without --post-process."""
    return " ".join("\u2581" + word for word in text.split())


def canned_log(with_sources=True):
    """Return a fairseq-generate --nbest 4 log of the ids above, written out of id order."""
    lines = ["2024-05-02 10:11:12 | INFO | fairseq_cli.generate | {'_name': None}"]
    for sentence_id in (3, 0, 2, 1):
        if with_sources:
            lines.append(f"S-{sentence_id}\t{pieces(SOURCES[sentence_id])}")
        lines.append(f"T-{sentence_id}\t{pieces(REFERENCES[sentence_id])}")
        for rank, text in enumerate(CANDIDATES[sentence_id]):
            score = -0.5 - 0.25 * rank
            lines.append(f"H-{sentence_id}\t{score}\t{pieces(text)}")
            lines.append(f"D-{sentence_id}\t{score}\t{text}")
            lines.append(f"P-{sentence_id}\t-0.5000 -0.5000")
    lines.append("2024-05-02 10:11:14 | INFO | fairseq_cli.generate | Translated 4 sentences")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def checkpoint_run(tiny_corpus, tmp_path_factory):
    """A real tiny checkpoint (pretraining, noise pretraining, adversarial updates) and the canned log."""
    out = tmp_path_factory.mktemp("rerank")
    fairseq_train(
        tiny_corpus / "bin", out / "ckpt",
        "--pretrain-updates", 3, "--noise-pretrain-updates", 1, "--max-update", 6,
    )
    log = out / "generate-test.log"
    log.write_text(canned_log(), encoding="utf-8")
    return {
        "out": out,
        "log": log,
        "checkpoint": out / "ckpt" / "checkpoint_last.pt",
        "spm": tiny_corpus / "spm" / "sentencepiece.model",
    }


@pytest.fixture(scope="module")
def independent_scores(checkpoint_run):
    """log p(T|S) and log q(S|T) of every candidate, scored id by id in this process."""
    from ami.scoring import AMIScorer

    scorer = AMIScorer(checkpoint_run["checkpoint"], checkpoint_run["spm"])
    scores = {}
    for sentence_id, candidates in CANDIDATES.items():
        sources = [SOURCES[sentence_id]] * len(candidates)
        log_p, _ = scorer.forward_log_likelihood(sources, candidates)
        log_q, _ = scorer.backward_log_likelihood(sources, candidates)
        scores[sentence_id] = {text: (p, q) for text, p, q in zip(candidates, log_p, log_q)}
    return scores


def rerank(checkpoint_run, name, *options, capsys=None):
    """Run ami-rerank on the canned log; returns (parsed output log, text lines, stdout).

    With ``capsys`` it runs in this process (the checkpoint loads faster), else as the installed command.
    """
    out = checkpoint_run["out"]
    arguments = [
        checkpoint_run["log"], "--checkpoint", checkpoint_run["checkpoint"], "--spm-model", checkpoint_run["spm"],
        "--output", out / f"{name}.log", "--output-text", out / f"{name}.txt",
        "--output-scores", out / f"{name}.jsonl", *options,
    ]
    if capsys is None:
        stdout = run_tool("ami-rerank", *arguments).stdout
    else:
        assert main([str(argument) for argument in arguments]) == 0
        stdout = capsys.readouterr().out
    parsed = parse_generate_log(str(out / f"{name}.log"))
    text = (out / f"{name}.txt").read_text(encoding="utf-8").split("\n")[:-1]
    return parsed, text, stdout


def test_rerank_writes_one_best_per_id(checkpoint_run):
    parsed, text, stdout = rerank(checkpoint_run, "plain", "--lambda", 0.5, "--gamma", 0.1)

    assert parsed.ids == [0, 1, 2, 3]
    assert parsed.sources == [SOURCES[i] for i in range(4)]
    assert parsed.references == [REFERENCES[i] for i in range(4)]
    for sentence_id, candidates in zip(parsed.ids, parsed.nbest):
        assert sorted(candidates) == sorted(CANDIDATES[sentence_id])
    assert text == parsed.hypotheses
    assert "reranked 4 ids (16 candidates)" in stdout

    records = [json.loads(line) for line in (checkpoint_run["out"] / "plain.jsonl").read_text().splitlines()]
    assert len(records) == 16
    for record in records:
        expected = record["log_p"] + 0.5 * record["log_q"] + 0.1 * record["length"]
        assert record["score"] == pytest.approx(expected)
    best = [record["hypothesis"] for record in records if record["rank"] == 0]
    assert best == parsed.hypotheses


def test_rerank_output_reads_in_ami_evaluate(checkpoint_run, capsys):
    rerank(checkpoint_run, "evaluated", "--lambda", 1.0, capsys=capsys)
    status = evaluate.main([
        "--generate-log", str(checkpoint_run["out"] / "evaluated.log"), "--bootstrap", "0",
        "--metrics", "bleu,length",
    ])
    assert status == 0
    assert "| evaluated.log |" in capsys.readouterr().out


def test_lambda_zero_orders_by_log_p(checkpoint_run, independent_scores, capsys):
    parsed, _, _ = rerank(checkpoint_run, "forward_only", "--lambda", 0, "--gamma", 0, capsys=capsys)

    for sentence_id, candidates in zip(parsed.ids, parsed.nbest):
        log_p = [independent_scores[sentence_id][text][0] for text in candidates]
        best_log_p = max(log_p)
        assert log_p[0] == pytest.approx(best_log_p, abs=1e-4), f"id {sentence_id}: best is not the max log p"
        for higher, lower in zip(log_p, log_p[1:]):
            assert higher >= lower - 1e-4, f"id {sentence_id}: candidates not in decreasing log p: {log_p}"


def test_large_lambda_picks_max_log_q(checkpoint_run, independent_scores, capsys):
    forward_only, _, _ = rerank(checkpoint_run, "forward_only_2", "--lambda", 0, capsys=capsys)
    backward_heavy, _, _ = rerank(checkpoint_run, "backward_heavy", "--lambda", 1e6, capsys=capsys)

    for sentence_id, best in zip(backward_heavy.ids, backward_heavy.hypotheses):
        log_q = {text: scores[1] for text, scores in independent_scores[sentence_id].items()}
        assert log_q[best] == pytest.approx(max(log_q.values()), abs=1e-3), f"id {sentence_id}: {log_q}"
    assert backward_heavy.hypotheses != forward_only.hypotheses


def test_tune_option_reports_grid_maximum(checkpoint_run, tmp_path, capsys):
    references = tmp_path / "valid.tgt"
    references.write_text("".join(REFERENCES[i] + "\n" for i in range(4)), encoding="utf-8")
    tune_json = tmp_path / "tune.json"
    _, _, stdout = rerank(
        checkpoint_run, "tuned", "--tune-on", checkpoint_run["log"], "--tune-ref", references,
        "--lambda-grid", "0,0.5,2", "--gamma-grid", "0,1", "--tune-json", tune_json, capsys=capsys,
    )

    result = json.loads(tune_json.read_text())
    assert len(result["grid"]) == 6
    assert result["value"] == max(point["objective"] for point in result["grid"])
    assert result["lambda"] in (0, 0.5, 2)
    assert result["gamma"] in (0, 1)
    assert f"chosen lambda = {result['lambda']:g}, gamma = {result['gamma']:g}" in stdout
    assert f"with lambda = {result['lambda']:g}, gamma = {result['gamma']:g}" in stdout


# ---------------------------------------------------------------------------
# Grid search on a case with a known result
# ---------------------------------------------------------------------------


def built_case():
    """Five ids with two candidates each, where only lambda = 0.5, gamma = 0.4 picks every reference.

    The correct candidate (column 0 or 1) wins at id 0 when lambda > 1/3,
    at id 1 when lambda < 2/3, at id 2 when gamma > 1/3 and at id 3 when
    gamma < 1/2. Within ids 0 and 1 the lengths are equal, and within ids
    2 and 3 log q is equal, so each condition involves one weight. Id 4
    always picks its reference.
    """
    references = ["alpha beta gamma delta", "epsilon zeta eta theta", "iota kappa lambda mu nu xi",
                  "omicron pi", "rho sigma tau upsilon"]
    candidates = [
        [references[0], "one two three four"],
        ["five six seven eight", references[1]],
        [references[2], "nine ten eleven"],
        [references[3], "twelve thirteen fourteen fifteen"],
        [references[4], "sixteen seventeen"],
    ]
    forward = np.array([[-10.0, -9.0], [-6.0, -4.0], [-6.0, -5.0], [-3.0, -4.0], [-1.0, -9.0]])
    backward = np.array([[-2.0, -5.0], [-3.0, -6.0], [-5.0, -5.0], [-4.0, -4.0], [-1.0, -9.0]])
    lengths = np.array([[4.0, 4.0], [4.0, 4.0], [6.0, 3.0], [2.0, 4.0], [4.0, 2.0]])
    nbest = NbestList("built", list(range(5)), ["source"] * 5, references, candidates)
    scores = CandidateScores(forward, backward, lengths, np.ones((5, 2), dtype=bool))
    return nbest, scores, references


def test_tune_finds_known_grid_point():
    nbest, scores, references = built_case()
    result = tune(nbest, scores, references, parse_objective("bleu"), [0.0, 0.5, 1.0, 2.0], [-1.0, 0.0, 0.4, 1.0])

    assert result.lambda_ == 0.5
    assert result.gamma == 0.4
    assert result.value == pytest.approx(100.0)
    assert len(result.grid) == 16
    assert all(point["objective"] < 100.0 for point in result.grid if (point["lambda"], point["gamma"]) != (0.5, 0.4))


def test_tune_ties_prefer_small_weights():
    nbest, scores, references = built_case()
    same = NbestList("same", nbest.ids, nbest.sources, None, [[text, text] for text, _ in nbest.candidates])
    result = tune(same, scores, None, parse_objective("distinct-2"), [2.0, 0.0, 1.0], [1.0, -0.5, 0.5])

    assert result.lambda_ == 0.0
    assert result.gamma == -0.5


def test_tune_needs_references_for_bleu():
    nbest, scores, _ = built_case()
    with pytest.raises(ValueError, match="--tune-ref"):
        tune(nbest, scores, None, parse_objective("bleu"))


@pytest.mark.parametrize(
    "spec, bleu_weight, order, distinct_weight",
    [("bleu", 1.0, None, 0.0), ("distinct-2", 0.0, 2, 1.0), ("BLEU+distinct-1", 1.0, 1, 0.5)],
)
def test_parse_objective_forms(spec, bleu_weight, order, distinct_weight):
    objective = parse_objective(spec, distinct_weight=0.5 if "+" in spec else 1.0)
    assert objective.bleu_weight == bleu_weight
    assert objective.distinct_order == order
    assert objective.distinct_weight == distinct_weight


@pytest.mark.parametrize("spec", ["rouge", "distinct-0", "distinct-2+bleu", "", "bleu+"])
def test_parse_objective_rejects_unknown(spec):
    with pytest.raises(ValueError, match="invalid tuning metric"):
        parse_objective(spec)


# ---------------------------------------------------------------------------
# Input errors, reported before the checkpoint is loaded
# ---------------------------------------------------------------------------


def run_main_with_log(tmp_path, caplog, log_text, *options):
    log = tmp_path / "generate.log"
    log.write_text(log_text, encoding="utf-8")
    arguments = [str(log), "--checkpoint", str(tmp_path / "missing.pt"), "--spm-model", str(tmp_path / "spm.model"),
                 "--output", str(tmp_path / "out.log"), *options]
    with caplog.at_level(logging.ERROR, logger="ami.rerank"):
        status = main(arguments)
    return status, caplog.text


def test_log_without_nbest_is_rejected(tmp_path, caplog):
    one_best = "S-0\t\u2581hi\nT-0\t\u2581hello\nH-0\t-0.5\t\u2581hello\nD-0\t-0.5\thello\n"
    status, messages = run_main_with_log(tmp_path, caplog, one_best, "--lambda", "1")
    assert status == 1
    assert "one hypothesis per id" in messages
    assert "--nbest" in messages


def test_log_without_sources_is_rejected(tmp_path, caplog):
    status, messages = run_main_with_log(tmp_path, caplog, canned_log(with_sources=False), "--lambda", "1")
    assert status == 1
    assert "ids 0, 1, 2, 3 have no S- line" in messages
    assert "--src" in messages


def test_source_file_replaces_missing_s_lines(tmp_path):
    log = tmp_path / "generate.log"
    log.write_text(canned_log(with_sources=False), encoding="utf-8")
    sources = tmp_path / "test.src"
    sources.write_text("".join(SOURCES[i] + "\n" for i in range(4)), encoding="utf-8")
    nbest = read_nbest_log(str(log), source_lines=sources.read_text().splitlines(), source_path=str(sources))
    assert nbest.sources == [SOURCES[i] for i in range(4)]
    assert nbest.candidates[0] == CANDIDATES[0]


def test_lambda_or_tuning_is_required(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "log"), "--checkpoint", "c.pt", "--spm-model", "m", "--output", str(tmp_path / "o")])
    assert exit_info.value.code == 2
    assert "pass --lambda" in capsys.readouterr().err


def test_lambda_with_tuning_is_rejected(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main([str(tmp_path / "log"), "--checkpoint", "c.pt", "--spm-model", "m", "--output", str(tmp_path / "o"),
              "--lambda", "1", "--tune-on", "valid.log"])
    assert "--tune-on chooses lambda and gamma" in capsys.readouterr().err
