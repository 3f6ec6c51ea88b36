"""fairseq-generate log parsing, paired bootstrap, evaluate() and the ami-evaluate command."""

import json
import logging
import random

import numpy as np
import pytest
from conftest import run_tool
from sacrebleu.metrics import BLEU

from ami import bootstrap, metrics
from ami.evaluate import (
    METRICS,
    EvaluationSettings,
    MetricResult,
    compare_systems,
    evaluate,
    format_markdown,
    main,
    register_metric,
)
from ami.generate_log import GenerateLogError, align_generate_logs, parse_generate_log, read_lines

# Output of `fairseq-generate data-bin --path checkpoint_best.pt --beam 4
# --nbest 2 --bpe sentencepiece --sentencepiece-model spm.model` without
# --post-process, so H- lines are pieces and D- lines are decoded. Batches
# finish out of order, and id 1 has an empty best hypothesis.
CANNED_LOG = """\
2024-05-02 10:11:12 | INFO | fairseq_cli.generate | {'_name': None, 'common': {'cpu': True}}
2024-05-02 10:11:13 | INFO | fairseq.tasks.translation | [src] dictionary: 304 types
2024-05-02 10:11:13 | INFO | fairseq.data.data_utils | loaded 3 examples from: data-bin/test.src-tgt.src
S-2\t\u2581where \u2581do \u2581you \u2581live ?
T-2\t\u2581in \u2581a \u2581small \u2581town .
H-2\t-0.6125\t\u2581in \u2581a \u2581town .
D-2\t-0.6125\tin a town.
P-2\t-0.9120 -0.4000 -0.7000 -0.5500 -0.5005
H-2\t-0.9871\t\u2581a \u2581town .
D-2\t-0.9871\ta town.
P-2\t-1.2000 -0.8000 -0.9613 -0.9871
S-0\t\u2581hello \u2581there !
T-0\t\u2581hi ! \u2581how \u2581are \u2581you ?
H-0\t-0.3012\t\u2581hi ! \u2581how \u2581are \u2581you ?
D-0\t-0.3012\thi! how are you?
P-0\t-0.2000 -0.3000 -0.4000 -0.2500 -0.3000 -0.3572
H-0\t-0.7100\t\u2581hello !
D-0\t-0.7100\thello!
P-0\t-0.9000 -0.6000 -0.6300
S-1\t\u2581do \u2581you \u2581like \u2581cats ?
T-1\t\u2581yes , \u2581i \u2581do .
H-1\t-0.2500\t
D-1\t-0.2500\t
P-1\t-0.2500
H-1\t-0.4000\t\u2581i \u2581do .
D-1\t-0.4000\ti do.
P-1\t-0.5000 -0.3000 -0.4000 -0.4000
2024-05-02 10:11:14 | INFO | fairseq_cli.generate | NOTE: hypothesis and token scores are output in base 2
2024-05-02 10:11:14 | INFO | fairseq_cli.generate | Translated 3 sentences (19 tokens) in 0.1s (30.00 sentences/s)
Generate test with beam=4: BLEU4 = 31.22, 66.7/40.0/28.6/20.0 (BP=0.846 ratio=0.857 syslen=12 reflen=14)
"""


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------
# fairseq-generate logs
# ---------------------------------------------------------------------------


def test_parse_log_sorts_ids_and_prefers_d_lines():
    log = parse_generate_log(CANNED_LOG.splitlines(), name="canned")
    assert log.ids == [0, 1, 2]
    assert log.hypothesis_field == "D"
    assert log.hypotheses == ["hi! how are you?", "", "in a town."]
    assert log.scores == [-0.3012, -0.25, -0.6125]
    assert log.nbest[2] == ["in a town.", "a town."]


def test_parse_log_decodes_sentencepiece_fields():
    log = parse_generate_log(CANNED_LOG.splitlines())
    # Pieces are joined and "▁" becomes a space: "▁hi ! ▁how" -> "hi! how".
    assert log.references == ["hi! how are you?", "yes, i do.", "in a small town."]
    assert log.sources[0] == "hello there!"
    assert log.sentencepiece_decoded == ["sources", "references"]


def test_parse_log_h_lines_only_are_decoded(caplog):
    lines = [line for line in CANNED_LOG.splitlines() if not line.startswith("D-")]
    with caplog.at_level(logging.WARNING, logger="ami.generate_log"):
        log = parse_generate_log(lines)
    assert log.hypothesis_field == "H"
    assert log.hypotheses[0] == "hi! how are you?"
    assert "hypotheses" in log.sentencepiece_decoded
    assert "no D- lines" in caplog.text


def test_parse_log_sentencepiece_never_keeps_pieces():
    lines = [line for line in CANNED_LOG.splitlines() if not line.startswith("D-")]
    log = parse_generate_log(lines, sentencepiece="never")
    assert log.hypotheses[0].startswith("\u2581hi")
    assert log.sentencepiece_decoded == []


def test_parse_log_best_is_highest_score_when_reordered():
    # Sorting a log with `sort` can put the worse hypothesis first.
    lines = ["T-0\tref", "D-0\t-0.9\tworse", "D-0\t-0.1\tbetter"]
    assert parse_generate_log(lines).hypotheses == ["better"]


def test_parse_log_from_file(tmp_path):
    path = write(tmp_path / "gen.out", CANNED_LOG)
    log = parse_generate_log(str(path))
    assert log.path == str(path)
    assert len(log.hypotheses) == 3


def test_parse_log_without_hypotheses():
    with pytest.raises(GenerateLogError, match="no H- or D- lines"):
        parse_generate_log(["2024-05-02 | INFO | fairseq_cli.generate | done", "S-0\thello"])


def test_parse_log_missing_ids():
    lines = ["T-0\ta", "D-0\t-1\ta", "T-1\tb", "D-1\t-1\tb", "T-3\td", "D-3\t-1\td", "T-6\tg", "D-6\t-1\tg"]
    with pytest.raises(GenerateLogError, match=r"ids 2, 4, 5 are missing from 0\.\.6"):
        parse_generate_log(lines)


def test_parse_log_allow_missing_ids(caplog):
    lines = ["T-0\ta", "D-0\t-1\ta", "T-2\tc", "D-2\t-1\tc"]
    with caplog.at_level(logging.WARNING, logger="ami.generate_log"):
        log = parse_generate_log(lines, allow_missing_ids=True)
    assert log.ids == [0, 2]
    assert log.missing_ids == [1]
    assert "evaluating the 2 ids present" in caplog.text


def test_parse_log_duplicate_target():
    lines = ["T-0\ta", "D-0\t-1\ta", "T-0\ta", "D-0\t-1\ta"]
    with pytest.raises(GenerateLogError, match="line 3: second T- line for id 0"):
        parse_generate_log(lines)


def test_parse_log_hypothesis_without_target():
    lines = ["T-0\ta", "D-0\t-1\ta", "D-1\t-1\tb"]
    with pytest.raises(GenerateLogError, match="id 1 has a hypothesis but no T- line"):
        parse_generate_log(lines)
    assert parse_generate_log(lines, require_references=False).references is None


def test_parse_log_target_without_hypothesis():
    lines = ["T-0\ta", "D-0\t-1\ta", "T-1\tb"]
    with pytest.raises(GenerateLogError, match="id 1 has T- lines but no hypothesis"):
        parse_generate_log(lines)


def test_parse_log_invalid_score():
    with pytest.raises(GenerateLogError, match="line 1: .* score 'oops' is not a number"):
        parse_generate_log(["D-0\toops\ttext"])


def test_parse_log_unk_in_targets_warns(caplog):
    with caplog.at_level(logging.WARNING, logger="ami.generate_log"):
        parse_generate_log(["T-0\ta <unk> b", "D-0\t-1\ta b"])
    assert "<unk>" in caplog.text


def test_align_logs_rejects_different_ids(tmp_path):
    first = write(tmp_path / "a.out", "T-0\ta\nD-0\t-1\ta\nT-1\tb\nD-1\t-1\tb\n")
    second = write(tmp_path / "b.out", "T-0\ta\nD-0\t-1\ta\n")
    with pytest.raises(GenerateLogError, match=r"cover different ids \(only in .*a.out: id 1; only in .*b.out: none\)"):
        align_generate_logs([str(first), str(second)], ["a", "b"])


def test_align_logs_reference_file_too_short(tmp_path):
    log = write(tmp_path / "a.out", "T-0\ta\nD-0\t-1\ta\nT-1\tb\nD-1\t-1\tb\n")
    with pytest.raises(GenerateLogError, match="has id 1 but ref.txt has only 1 lines"):
        align_generate_logs([str(log)], ["a"], reference_lines=["a"], reference_path="ref.txt")


def test_read_lines_errors(tmp_path):
    empty = write(tmp_path / "empty.txt", "")
    with pytest.raises(ValueError, match="empty.txt is empty"):
        read_lines(str(empty))
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("ok\nfine\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1.txt, line 3: invalid UTF-8 \(.* at byte 3 of the line, byte 11 of the file\)"):
        read_lines(str(bad))


def test_read_lines_keeps_unicode_separators(tmp_path):
    path = tmp_path / "hyp.txt"
    path.write_bytes("a\u2028b\r\n\nc\n".encode("utf-8"))
    assert read_lines(str(path)) == ["a\u2028b", "", "c"]


# ---------------------------------------------------------------------------
# Bootstrap
# ---------------------------------------------------------------------------

REFS = [
    "i like to go hiking on weekends .",
    "my favorite food is pizza with mushrooms .",
    "i have two dogs and a cat .",
    "we went to the beach last summer .",
    "do you play any musical instruments ?",
    "i work as a nurse at the hospital .",
    "the weather has been really nice lately .",
    "i am reading a book about history .",
]


def explicit_weights(indices, size):
    return np.bincount(indices, minlength=size).astype(np.float64)[None, :]


def test_bootstrap_weights_are_resamples():
    chunks = list(bootstrap.resample_weights(50, 7, seed=3, chunk_size=3))
    weights = np.concatenate(chunks)
    assert weights.shape == (7, 50)
    assert (weights.sum(axis=1) == 50).all()
    # Chunking does not change the draws.
    assert np.array_equal(weights, np.concatenate(list(bootstrap.resample_weights(50, 7, seed=3, chunk_size=7))))


def test_bleu_resampler_matches_sacrebleu():
    hyps = [ref.replace("i ", "we ") for ref in REFS]
    stats = metrics.bleu_statistics(hyps, REFS)
    indices = np.array([0, 0, 3, 5, 5, 5, 7, 2])
    resampled = bootstrap.bleu_resampler(stats, {"bleu": {}})(explicit_weights(indices, len(REFS)))
    expected = BLEU().corpus_score([hyps[i] for i in indices], [[REFS[i] for i in indices]]).score
    assert resampled["bleu"][0] == pytest.approx(expected, abs=1e-12)


def test_ngram_resampler_matches_resampled_text():
    indices = np.array([1, 1, 4, 6, 0, 0, 0, 3])
    corpus = metrics.TokenizedCorpus(REFS)
    resampler = bootstrap.ngram_resampler(corpus.ngrams(2), "distinct-2", "entropy-2")
    values = resampler(explicit_weights(indices, len(REFS)))
    texts = [REFS[i] for i in indices]
    assert values["distinct-2"][0] == pytest.approx(metrics.distinct_n(texts, 2))
    assert values["entropy-2"][0] == pytest.approx(metrics.entropy_n(texts, 2))


def test_median_resampler_matches_numpy():
    rng = np.random.default_rng(0)
    values = rng.integers(0, 20, size=11).astype(float)
    for _ in range(20):
        indices = rng.integers(0, 11, size=11)
        result = bootstrap.median_resampler("m", values)(explicit_weights(indices, 11))
        assert result["m"][0] == np.median(values[indices])


def test_masked_mean_resampler_skips_masked():
    values = np.array([1.0, 5.0, 3.0])
    mask = np.array([True, False, True])
    result = bootstrap.masked_mean_resampler("x", values, mask)(explicit_weights(np.array([0, 0, 1]), 3))
    assert result["x"][0] == 1.0


def test_paired_difference_definition():
    # Observed +1; resampled differences 2, 0, -1, 3 -> two of four are <= 0.
    difference = bootstrap.paired_difference(np.zeros(4), np.array([2.0, 0.0, -1.0, 3.0]), 0.0, 1.0)
    assert difference.observed == 1.0
    assert difference.mean == 1.0
    assert difference.p_value == 0.5
    assert difference.ci_low == pytest.approx(np.percentile([2, 0, -1, 3], 2.5))


def test_paired_difference_recentred():
    # Observed -1; resampled differences -3, -2, -2, -1 have mean -2, so the
    # recentred differences are -2, -1, -1, 0: one of four is >= 0.
    samples = np.array([-3.0, -2.0, -2.0, -1.0])
    difference = bootstrap.paired_difference(np.zeros(4), samples, 0.0, -1.0, recentre=True)
    assert difference.recentred
    assert difference.mean == -2.0
    assert difference.p_value == 0.25
    assert difference.ci_low == pytest.approx(np.percentile([-2, -1, -1, 0], 2.5))
    assert difference.ci_high == pytest.approx(np.percentile([-2, -1, -1, 0], 97.5))


def test_corpus_distinct_interval_contains_observed():
    rng = random.Random(2)
    words = [f"w{index}" for index in range(300)]
    refs = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 12))) for _ in range(400)]
    varied = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 12))) for _ in range(400)]
    repetitive = [" ".join(rng.choice(words[:40]) for _ in range(rng.randint(3, 12))) for _ in range(400)]
    settings = EvaluationSettings(metrics=("distinct", "entropy", "length"))
    report = compare_systems({"varied": varied, "repetitive": repetitive}, refs, settings=settings, num_resamples=300)
    rows = {row["metric"]: row for row in report["comparisons"]}
    for column in ("distinct-1", "distinct-2", "entropy-4"):
        assert rows[column]["recentred"], column
        assert rows[column]["ci_low"] <= rows[column]["observed"] <= rows[column]["ci_high"], column
    assert not rows["length-mean"]["recentred"]
    assert "recentred on the observed difference" in format_markdown(report)


def test_empty_references_are_reported(caplog):
    refs = ["a b c", "", "d e", "  "]
    with caplog.at_level(logging.WARNING, logger="ami.evaluate"):
        report = evaluate(["a b c", "x", "d e", "y"], refs, settings=EvaluationSettings(metrics=("rouge",)))
    assert "2 of 4 references are empty (first at line 2)" in caplog.text
    assert report["scores"]["rouge-1"] == pytest.approx(50.0)


def test_compare_clearly_better_system():
    rng = random.Random(0)
    refs = [rng.choice(REFS) + f" number {i}" for i in range(200)]
    bad = [rng.choice(REFS) for _ in refs]
    good = [ref if i % 4 else rng.choice(REFS) for i, ref in enumerate(refs)]
    report = compare_systems({"bad": bad, "good": good}, refs, num_resamples=200, seed=1)
    rows = {row["metric"]: row for row in report["comparisons"]}
    assert rows["bleu"]["observed"] > 30
    assert rows["bleu"]["p_value"] < 0.01
    assert rows["bleu"]["ci_low"] > 0
    assert rows["bleu"]["num_resamples"] == 200


def test_compare_identical_systems():
    hyps = [ref.replace("i ", "we ") for ref in REFS] * 5
    refs = REFS * 5
    report = compare_systems({"a": hyps, "b": list(hyps)}, refs, num_resamples=100)
    for row in report["comparisons"]:
        assert row["observed"] == 0.0, row["metric"]
        assert row["p_value"] == 1.0, row["metric"]
        assert row["ci_low"] <= 0.0 <= row["ci_high"], row["metric"]


def test_compare_is_deterministic_for_seed():
    hyps_a = [ref.replace("i ", "we ") for ref in REFS]
    first = compare_systems({"a": hyps_a, "b": REFS}, REFS, num_resamples=50, seed=7)
    second = compare_systems({"a": hyps_a, "b": REFS}, REFS, num_resamples=50, seed=7)
    assert first["comparisons"] == second["comparisons"]


# ---------------------------------------------------------------------------
# evaluate() and the metric registry
# ---------------------------------------------------------------------------


def test_evaluate_default_metrics_and_settings():
    hyps = [ref.replace("i ", "we ") for ref in REFS[:-1]] + [""]
    report = evaluate(hyps, REFS)
    scores = report["scores"]
    assert scores["bleu"] == pytest.approx(BLEU().corpus_score(hyps, [REFS]).score)
    assert scores["distinct-1"] == pytest.approx(metrics.distinct_n(hyps, 1))
    assert scores["entropy-4"] == pytest.approx(metrics.entropy_n(hyps, 4))
    assert scores["empty"] == 1
    assert report["metrics"]["bleu"]["settings"]["signature"].startswith("nrefs:1|")
    assert report["settings"]["distinct_level"] == "corpus"
    assert report["packages"]["sacrebleu"] == __import__("sacrebleu").__version__


def test_evaluate_summarization_metrics_with_vectors():
    settings = EvaluationSettings(
        metrics=("rouge", "embedding", "bleu-n"),
        word_vectors={"i": [1.0, 0.0], "we": [0.9, 0.1], "dogs": [0.0, 1.0]},
    )
    report = evaluate(["we have two dogs ."], ["i have two dogs ."], settings=settings)
    assert set(report["scores"]) >= {"rouge-1", "rouge-lsum", "embedding-greedy", "bleu-1", "bleu-4"}
    assert report["metrics"]["embedding"]["settings"]["vectors"] == "in-memory table"
    assert report["settings"]["word_vectors"] == "in-memory table"


def test_evaluate_without_references():
    report = evaluate(["a b", "a c"], settings=EvaluationSettings(metrics=("distinct", "length")))
    assert report["scores"]["distinct-1"] == pytest.approx(3 / 4)


def test_evaluate_errors():
    with pytest.raises(ValueError, match="metric 'bleu' needs references"):
        evaluate(["a"])
    with pytest.raises(ValueError, match="unknown metric"):
        evaluate(["a"], ["a"], settings=EvaluationSettings(metrics=("bluert",)))
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        evaluate(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="needs word vectors"):
        evaluate(["a"], ["a"], settings=EvaluationSettings(metrics=("embedding",)))


def test_registered_metric_is_bootstrapped():
    @register_metric("test-source-overlap", needs_references=False, needs_sources=True)
    def source_overlap(hyps, refs, srcs, settings):
        values = np.array([float(hyp == src) for hyp, src in zip(hyps, srcs)])
        return MetricResult.from_segment_values({"source-copy": values}, note="source-copy: share of copies")

    try:
        settings = EvaluationSettings(metrics=("test-source-overlap",))
        srcs = ["x", "y", "z", "w"]
        report = compare_systems(
            {"copy": srcs, "other": ["x", "q", "q", "q"]}, None, srcs, settings, num_resamples=30
        )
        assert report["systems"][0]["scores"]["source-copy"] == 1.0
        assert report["comparisons"][0]["observed"] == pytest.approx(-0.75)
    finally:
        del METRICS["test-source-overlap"]


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


@pytest.fixture()
def files(tmp_path):
    rng = random.Random(5)
    refs = [rng.choice(REFS) + f" item {i}" for i in range(60)]
    good = [ref if i % 3 else "" for i, ref in enumerate(refs)]
    bad = [rng.choice(REFS) for _ in refs]
    return {
        "ref": write(tmp_path / "test.ref", "\n".join(refs) + "\n"),
        "good": write(tmp_path / "good.txt", "\n".join(good) + "\n"),
        "bad": write(tmp_path / "bad.txt", "\n".join(bad) + "\n"),
        "short": write(tmp_path / "short.txt", "\n".join(bad[:59]) + "\n"),
        "refs": refs,
        "good_lines": good,
        "dir": tmp_path,
    }


def test_cli_two_systems_writes_json(files):
    out = files["dir"] / "scores.json"
    result = run_tool(
        "ami-evaluate", "--hyp", files["bad"], "--hyp", files["good"], "--name", "base", "--name", "ami",
        "--ref", files["ref"], "--metrics", "bleu,distinct,entropy,rouge,length", "--bootstrap", "200",
        "--json", out,
    )
    report = json.loads(out.read_text(encoding="utf-8"))
    assert [system["name"] for system in report["systems"]] == ["base", "ami"]
    ami = report["systems"][1]["scores"]
    assert ami["bleu"] == pytest.approx(BLEU().corpus_score(files["good_lines"], [files["refs"]]).score)
    assert ami["empty"] == 20
    assert report["systems"][1]["metrics"]["rouge"]["settings"]["stemmer"] is True
    assert report["bootstrap"]["resamples"] == 200
    bleu_row = next(row for row in report["comparisons"] if row["metric"] == "bleu")
    assert bleu_row["p_value"] < 0.05
    assert set(report["packages"]) >= {"sacrebleu", "rouge-score", "numpy", "ami"}
    assert "| system | bleu |" in result.stdout
    assert "| ami | bleu |" in result.stdout
    assert "signature nrefs:1|case:mixed|eff:no|tok:13a" in result.stdout


def test_cli_length_mismatch_names_files(files):
    result = run_tool("ami-evaluate", "--hyp", files["short"], "--ref", files["ref"], check=False)
    assert result.returncode == 1
    assert "short.txt has 59 lines but reference file" in result.stderr
    assert "test.ref has 60" in result.stderr


def test_cli_generate_log_with_reference_file(files, capsys):
    log = write(files["dir"] / "gen.out", CANNED_LOG)
    ref = write(files["dir"] / "raw.ref", "Hi! How are you?\nYes, I do.\nIn a small town.\n")
    out = files["dir"] / "log.json"
    status = main(["--generate-log", str(log), "--ref", str(ref), "--json", str(out), "--metrics", "bleu,length"])
    assert status == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    hyps = ["hi! how are you?", "", "in a town."]
    refs = ["Hi! How are you?", "Yes, I do.", "In a small town."]
    assert report["systems"][0]["scores"]["bleu"] == pytest.approx(BLEU().corpus_score(hyps, [refs]).score)
    assert report["inputs"]["generate_logs"]["gen.out"]["hypothesis_field"] == "D"
    assert "| gen.out |" in capsys.readouterr().out


def test_cli_two_generate_logs_compared(files, capsys):
    better = write(files["dir"] / "better.out", CANNED_LOG)
    worse_log = CANNED_LOG.replace("\tin a town.", "\tno.").replace("\thi! how are you?", "\tok.")
    worse = write(files["dir"] / "worse.out", worse_log)
    out = files["dir"] / "pair.json"
    status = main(
        ["--generate-log", str(worse), str(better), "--metrics", "bleu,length", "--bootstrap", "50", "--json", str(out)]
    )
    assert status == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert [system["name"] for system in report["systems"]] == ["worse.out", "better.out"]
    assert report["inputs"]["references"].startswith("T- lines of")
    bleu_row = next(row for row in report["comparisons"] if row["metric"] == "bleu")
    assert bleu_row["observed"] > 0
    assert "| better.out | bleu |" in capsys.readouterr().out


def test_cli_word_vectors_add_embedding(files):
    vectors = write(files["dir"] / "vectors.txt", "3 2\ni 1 0\nlike 0.5 0.5\nitem 0 1\n")
    out = files["dir"] / "emb.json"
    status = main(
        ["--hyp", str(files["good"]), "--ref", str(files["ref"]), "--word-vectors", str(vectors), "--json", str(out)]
    )
    assert status == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    embedding = report["systems"][0]["metrics"]["embedding"]
    assert embedding["settings"]["vectors"] == str(vectors)
    assert embedding["details"]["oov_rate"] > 0.5
    assert report["settings"]["word_vectors"] == str(vectors)
    assert 0.0 < report["systems"][0]["scores"]["embedding-greedy"] <= 1.0


def test_cli_generate_log_nbest_all(files):
    log = write(files["dir"] / "gen.out", CANNED_LOG)
    out = files["dir"] / "nbest.json"
    assert main(["--generate-log", str(log), "--nbest-all", "--metrics", "length", "--json", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["systems"][0]["num_segments"] == 6
    assert report["systems"][0]["scores"]["empty"] == 1


@pytest.mark.parametrize(
    "make_args, message",
    [
        (lambda f: ["--hyp", str(write(f["dir"] / "e.txt", "")), "--ref", str(f["ref"])], "e.txt is empty"),
        (lambda f: ["--generate-log", str(write(f["dir"] / "g.out", "D-0\t-1\ta\nD-2\t-1\tc\n")), "--metrics", "length"], "id 1 is missing"),
        (lambda f: ["--generate-log", str(write(f["dir"] / "h.out", "D-0\t-1\ta\n"))], "id 0 has a hypothesis but no T- line"),
        (lambda f: ["--hyp", str(f["good"]), "--hyp", str(f["bad"]), "--name", "x"], "2 systems"),
        (lambda f: ["--hyp", str(f["good"])], "metric 'bleu' needs references"),
    ],
)
def test_cli_input_errors(files, caplog, make_args, message):
    with caplog.at_level(logging.ERROR, logger="ami.evaluate"):
        assert main(make_args(files)) == 1
    assert message in caplog.text


def test_cli_invalid_utf8_names_line(files, caplog):
    bad = files["dir"] / "bad_utf8.txt"
    bad.write_bytes(b"fine\n\xff\xfe broken\n")
    with caplog.at_level(logging.ERROR, logger="ami.evaluate"):
        assert main(["--hyp", str(bad), "--metrics", "length"]) == 1
    assert "bad_utf8.txt, line 2: invalid UTF-8" in caplog.text
