"""ami.model_embeddings: embedding metrics on the piece vectors of a real tiny AMI checkpoint,
checked against numpy on the raw embedding table."""

import json
import logging

import numpy as np
import pytest
import sentencepiece
import torch

from ami import evaluate, metrics
from ami.model_embeddings import load_model_embeddings
from tests.conftest import fairseq_train, run_tool

# The first hypothesis contains characters that the sentencepiece model does
# not know, so some pieces have no vector.
HYPOTHESES = ["Hey hey! 你好", "I am going to the beach this weekend", "you should get some sleep"]
REFERENCES = ["Hey welcome back!", "What are you doing this weekend?", "I am so tired today hahaha"]


@pytest.fixture(scope="module")
def checkpoint_run(tiny_corpus, tmp_path_factory):
    """A 2-update checkpoint of the tiny corpus and the files the metric needs."""
    out = tmp_path_factory.mktemp("model_embeddings")
    fairseq_train(tiny_corpus / "bin", out / "ckpt", "--pretrain-updates", 2, "--max-update", 2)
    return {
        "out": out,
        "checkpoint": out / "ckpt" / "checkpoint_last.pt",
        "spm": tiny_corpus / "spm" / "sentencepiece.model",
        "data": tiny_corpus / "bin",
        "raw": tiny_corpus / "raw",
    }


@pytest.fixture(scope="module")
def raw_table(checkpoint_run):
    """{piece: row of encoder.embed_tokens.weight}, read from the checkpoint and dict.src.txt without fairseq."""
    state = torch.load(checkpoint_run["checkpoint"], map_location="cpu", weights_only=False)
    weight = state["model"]["encoder.embed_tokens.weight"].double().numpy()
    lines = (checkpoint_run["data"] / "dict.src.txt").read_text(encoding="utf-8").splitlines()
    symbols = [line.rsplit(" ", 1)[0] for line in lines]
    # fairseq puts <s>, <pad>, </s> and <unk> before the symbols of the file.
    assert weight.shape[0] == 4 + len(symbols)
    return {symbol: weight[4 + index] for index, symbol in enumerate(symbols) if not symbol.startswith("madeupword")}


# ami.metrics computes with the vectors in float32; these references use float64.
FLOAT32_TOLERANCE = 1e-6


def cosine(first, second):
    norm = np.linalg.norm(first) * np.linalg.norm(second)
    return float(first @ second / norm) if norm > 0 else 0.0


def extrema(vectors):
    maxima, minima = vectors.max(axis=0), vectors.min(axis=0)
    return np.where(maxima >= np.abs(minima), maxima, minima)


def greedy(hyp_vectors, ref_vectors):
    def one_side(first, second):
        return np.mean([max(cosine(x, y) for y in second) for x in first])

    return (one_side(hyp_vectors, ref_vectors) + one_side(ref_vectors, hyp_vectors)) / 2.0


def numpy_scores(table, spm_path, hyps, refs):
    """Mean average/extrema/greedy cosines over pairs, pieces without a vector dropped."""
    processor = sentencepiece.SentencePieceProcessor(model_file=str(spm_path))
    scores = {"average": [], "extrema": [], "greedy": []}
    for hyp, ref in zip(hyps, refs):
        hyp_vectors = np.array([table[piece] for piece in processor.encode(hyp, out_type=str) if piece in table])
        ref_vectors = np.array([table[piece] for piece in processor.encode(ref, out_type=str) if piece in table])
        scores["average"].append(cosine(hyp_vectors.sum(axis=0), ref_vectors.sum(axis=0)))
        scores["extrema"].append(cosine(extrema(hyp_vectors), extrema(ref_vectors)))
        scores["greedy"].append(greedy(hyp_vectors, ref_vectors))
    return {name: float(np.mean(values)) for name, values in scores.items()}


@pytest.fixture(scope="module")
def embeddings(checkpoint_run):
    return load_model_embeddings(str(checkpoint_run["checkpoint"]), str(checkpoint_run["spm"]))


def test_vectors_are_embedding_rows(embeddings, raw_table, checkpoint_run):
    vectors = embeddings.vectors
    assert set(vectors.table) == set(raw_table)
    for piece, row in raw_table.items():
        np.testing.assert_array_equal(vectors.table[piece], row, err_msg=piece)
    assert vectors.dim == 32
    for special in ("<s>", "<pad>", "</s>", "<unk>", "madeupword0000"):
        assert special not in vectors.table
    assert vectors.source == f"forward encoder embeddings of {checkpoint_run['checkpoint']}, sentencepiece pieces"


def test_tokenizer_splits_into_pieces(embeddings, checkpoint_run):
    processor = sentencepiece.SentencePieceProcessor(model_file=str(checkpoint_run["spm"]))
    for text in HYPOTHESES + REFERENCES:
        assert embeddings.tokenize(text) == processor.encode(text, out_type=str)
    unknown = [piece for piece in embeddings.tokenize(HYPOTHESES[0]) if piece not in embeddings.vectors.table]
    assert unknown, "the first hypothesis should contain a piece without a vector"


def test_embedding_scores_match_numpy(embeddings, raw_table, checkpoint_run):
    expected = numpy_scores(raw_table, checkpoint_run["spm"], HYPOTHESES, REFERENCES)
    scores = metrics.embedding_scores(HYPOTHESES, REFERENCES, embeddings.vectors, tokenize=embeddings.tokenize)
    for name, value in expected.items():
        assert scores[name] == pytest.approx(value, abs=FLOAT32_TOLERANCE), name


def test_evaluate_lowercase_matches_numpy(raw_table, checkpoint_run):
    settings = evaluate.EvaluationSettings(
        metrics=["embedding_model"],
        embedding_lowercase=True,
        extra={
            "embedding_checkpoint": str(checkpoint_run["checkpoint"]),
            "embedding_spm_model": str(checkpoint_run["spm"]),
            "embedding_data_dir": str(checkpoint_run["data"]),
        },
    )
    report = evaluate.evaluate(HYPOTHESES, REFERENCES, settings=settings)
    lowered = numpy_scores(
        raw_table, checkpoint_run["spm"], [text.lower() for text in HYPOTHESES], [text.lower() for text in REFERENCES]
    )
    for name, value in lowered.items():
        assert report["scores"][f"embedding-model-{name}"] == pytest.approx(value, abs=FLOAT32_TOLERANCE), name
    details = report["metrics"]["embedding_model"]["details"]
    assert details["lowercase"] is True
    assert details["oov_tokens"] > 0


def test_cli_reports_model_vectors(raw_table, checkpoint_run):
    out = checkpoint_run["out"]
    (out / "hyp.txt").write_text("\n".join(HYPOTHESES) + "\n", encoding="utf-8")
    (out / "ref.txt").write_text("\n".join(REFERENCES) + "\n", encoding="utf-8")
    result = run_tool(
        "ami-evaluate", "--hyp", out / "hyp.txt", "--ref", out / "ref.txt",
        "--metric-module", "ami.model_embeddings", "--metrics", "embedding_model,length",
        "--metric-option", f"embedding_checkpoint={checkpoint_run['checkpoint']}",
        "--metric-option", f"embedding_spm_model={checkpoint_run['spm']}",
        "--json", out / "scores.json",
    )
    source = f"forward encoder embeddings of {checkpoint_run['checkpoint']}, sentencepiece pieces"
    assert f"vectors {source}" in result.stdout
    assert "| embedding-model-average | embedding-model-extrema | embedding-model-greedy |" in result.stdout

    report = json.loads((out / "scores.json").read_text(encoding="utf-8"))
    system = report["systems"][0]
    assert system["metrics"]["embedding_model"]["settings"]["vectors"] == source
    expected = numpy_scores(raw_table, checkpoint_run["spm"], HYPOTHESES, REFERENCES)
    for name, value in expected.items():
        assert system["scores"][f"embedding-model-{name}"] == pytest.approx(value, abs=FLOAT32_TOLERANCE), name


def test_missing_option_is_reported(checkpoint_run, caplog):
    arguments = [
        "--hyp", str(checkpoint_run["raw"] / "test.tgt"), "--ref", str(checkpoint_run["raw"] / "test.tgt"),
        "--metric-module", "ami.model_embeddings", "--metrics", "embedding_model",
        "--metric-option", f"embedding_checkpoint={checkpoint_run['checkpoint']}",
    ]
    with caplog.at_level(logging.ERROR, logger="ami.evaluate"):
        assert evaluate.main(arguments) == 1
    assert "missing option embedding_spm_model; pass --metric-option embedding_spm_model=PATH" in caplog.text
