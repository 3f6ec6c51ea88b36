"""ami's vectorised BLEU statistics, ROUGE and embedding scores against
plain Python references: brute-force counts, rouge-score's own functions,
sacrebleu's own tokenizer and statistics, and float64 numpy loops."""

import collections
import json
import random

import numpy as np
import pytest
from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU

from ami import bleu_tokenize, evaluate, metrics, rouge
from ami.paired_tokens import PairedTokens


def chitchat_messages(count, seed):
    """Real chat messages from the chitchat-dataset package, drawn with a fixed seed."""
    from chitchat_dataset import MessageDataset

    messages = [" ".join(message.split()) for message in MessageDataset()]
    messages = [message for message in messages if message]
    rng = random.Random(seed)
    return [rng.choice(messages) for _ in range(count)]


@pytest.fixture(scope="module")
def chat_pairs():
    refs = chitchat_messages(1500, seed=3)
    rng = random.Random(4)
    # A third of the hypotheses copy their reference, so scores are not all near 0.
    hyps = [ref if rng.random() < 0.3 else other for ref, other in zip(refs, chitchat_messages(1500, seed=5))]
    return hyps, refs


def random_segments(rng, count, vocabulary, max_length):
    return [[rng.choice(vocabulary) for _ in range(rng.randint(0, max_length))] for _ in range(count)]


# ---------------------------------------------------------------------------
# PairedTokens
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("vocabulary_size,max_length", [(2, 12), (5, 30), (50, 8)])
def test_ngram_matches_equal_brute_force(vocabulary_size, max_length):
    rng = random.Random(vocabulary_size)
    vocabulary = [f"w{index}" for index in range(vocabulary_size)]
    hyps = random_segments(rng, 300, vocabulary, max_length)
    refs = random_segments(rng, 300, vocabulary, max_length)
    matches = PairedTokens.from_tokens(hyps, refs).ngram_matches(4)
    for index, (hyp, ref) in enumerate(zip(hyps, refs)):
        for n in range(1, 5):
            hyp_counts = collections.Counter(tuple(hyp[i : i + n]) for i in range(len(hyp) - n + 1))
            ref_counts = collections.Counter(tuple(ref[i : i + n]) for i in range(len(ref) - n + 1))
            expected = sum(min(count, ref_counts[gram]) for gram, count in hyp_counts.items())
            assert matches[index, n - 1] == expected, (hyp, ref, n)


def test_lcs_lengths_equal_rouge_score_table():
    rng = random.Random(7)
    vocabulary = ["a", "b", "c", "d"]
    # Mixed lengths: short with long on either side, and empty segments.
    hyps = random_segments(rng, 200, vocabulary, 10) + random_segments(rng, 20, vocabulary, 150)
    refs = random_segments(rng, 200, vocabulary, 150) + random_segments(rng, 20, vocabulary, 10)
    lengths = PairedTokens.from_tokens(hyps, refs).lcs_lengths()
    for index, (hyp, ref) in enumerate(zip(hyps, refs)):
        expected = rouge_scorer._lcs_table(ref, hyp)[-1][-1] if hyp and ref else 0
        assert lengths[index] == expected


def random_sentences(rng, segment):
    cuts = sorted(rng.sample(range(len(segment) + 1), rng.randint(0, min(3, len(segment) + 1))))
    sentences, previous = [], 0
    for cut in cuts + [len(segment)]:
        sentences.append(segment[previous:cut])
        previous = cut
    return sentences


@pytest.mark.parametrize("vocabulary_size", [2, 3, 6])
def test_summary_lcs_hits_equal_rouge_score(vocabulary_size):
    rng = random.Random(vocabulary_size)
    vocabulary = [f"w{index}" for index in range(vocabulary_size)]
    hyps = random_segments(rng, 400, vocabulary, 14) + random_segments(rng, 10, vocabulary, 90)
    refs = random_segments(rng, 400, vocabulary, 14) + random_segments(rng, 10, vocabulary, 5)
    hyp_sentences = [random_sentences(rng, hyp) for hyp in hyps]
    ref_sentences = [random_sentences(rng, ref) for ref in refs]
    paired = PairedTokens.from_tokens(hyps, refs)
    selected = np.array([index % 5 != 0 for index in range(len(hyps))])
    hits = paired.summary_lcs_hits(
        [len(sentence) for sentences in hyp_sentences for sentence in sentences],
        [len(sentences) for sentences in hyp_sentences],
        [len(sentence) for sentences in ref_sentences for sentence in sentences],
        [len(sentences) for sentences in ref_sentences],
        pairs=selected,
    )
    for index in range(len(hyps)):
        if not selected[index]:
            assert hits[index] == 0
            continue
        score = rouge_scorer._summary_level_lcs(ref_sentences[index], hyp_sentences[index])
        reference_tokens = len(refs[index])
        expected = round(score.recall * reference_tokens) if hyps[index] and reference_tokens else 0
        assert hits[index] == expected, index


def test_summary_lcs_bad_lengths():
    paired = PairedTokens.from_tokens([["a", "b"]], [["a"]])
    with pytest.raises(ValueError, match="hypothesis sentence lengths do not add up"):
        paired.summary_lcs_hits([1], [1], [1], [1])


# ---------------------------------------------------------------------------
# BLEU
# ---------------------------------------------------------------------------

FUZZ_PIECES = list("ab1 .,-&;<>\n\t9x'\"!?()/@#$%^*_[]{}|~`:") + [
    "&amp;", "&quot;", "&lt;", "&gt;", "<skipped>", "-\n", "\u00e9", "\u03a3", "\u00a0", "\u2028", "\r", "3.5", "1,000",
]


@pytest.mark.parametrize("lowercase", [False, True])
def test_13a_tokenization_equals_sacrebleu(lowercase):
    rng = random.Random(11)
    texts = ["".join(rng.choice(FUZZ_PIECES) for _ in range(rng.randint(0, 30))) for _ in range(5000)]
    scorer = BLEU(force=True, lowercase=lowercase)
    expected = [scorer._preprocess_segment(text).split() for text in texts]
    assert bleu_tokenize.tokenize_segments(texts, scorer) == expected


@pytest.mark.parametrize("tokenize", ["13a", "intl", "char", "none"])
def test_bleu_statistics_implementations_agree(chat_pairs, tokenize):
    hyps, refs = chat_pairs
    fast = metrics.bleu_statistics(hyps, refs, tokenize=tokenize)
    reference = metrics.bleu_statistics(hyps, refs, tokenize=tokenize, implementation="sacrebleu")
    assert np.array_equal(fast, reference)
    expected = BLEU(tokenize=tokenize, force=True).corpus_score(hyps, [refs]).score
    assert metrics.bleu(hyps, refs, tokenize=tokenize)[0] == pytest.approx(expected, abs=1e-12)


def test_bleu_rejects_unknown_implementation():
    with pytest.raises(ValueError, match="invalid BLEU implementation 'fast'"):
        metrics.bleu_statistics(["a"], ["a"], implementation="fast")


# ---------------------------------------------------------------------------
# ROUGE
# ---------------------------------------------------------------------------

EDGE_HYPS = [
    "", "   ", "Dr. Smith met the U.S. team. They won!", "caf\u00e9 na\u00efve r\u00e9sum\u00e9", "\u732b\u304c\u5ea7\u3063\u305f",
    "line one\nline two. And three", "pipes | and \x00 nulls", "running runs ran", "Hello... World?! Yes.", "a",
]
EDGE_REFS = [
    "something", "", "The U.S. team won. Dr. Smith was happy!", "cafe naive resume", "\u732b\u304c\u5ea7\u3063\u305f",
    "line two\nline one", "pipes and nulls |", "he runs and running", "hello world yes", "a a a",
]


@pytest.mark.parametrize("use_stemmer", [False, True])
@pytest.mark.parametrize("rouge_types", [rouge.ROUGE_TYPES, ("rouge1", "rouge3", "rougeL"), ("rougeLsum",)])
def test_rouge_implementations_agree(chat_pairs, use_stemmer, rouge_types):
    hyps = chat_pairs[0] + EDGE_HYPS
    refs = chat_pairs[1] + EDGE_REFS
    fast = rouge.rouge_sentence_scores(hyps, refs, use_stemmer=use_stemmer, rouge_types=rouge_types)
    reference = rouge.rouge_sentence_scores(
        hyps, refs, use_stemmer=use_stemmer, rouge_types=rouge_types, implementation="rouge-score"
    )
    assert list(fast) == list(rouge_types)
    for rouge_type in rouge_types:
        assert np.array_equal(fast[rouge_type], reference[rouge_type]), rouge_type


def test_rouge_equals_rouge_score_called_directly(chat_pairs):
    hyps, refs = chat_pairs[0][:300], chat_pairs[1][:300]
    scorer = rouge_scorer.RougeScorer(list(rouge.ROUGE_TYPES), use_stemmer=True)
    fast = rouge.rouge_sentence_scores(hyps, refs)
    for index, (hyp, ref) in enumerate(zip(hyps, refs)):
        expected = scorer.score("\n".join(rouge.split_sentences(ref)), "\n".join(rouge.split_sentences(hyp)))
        for rouge_type in rouge.ROUGE_TYPES:
            score = expected[rouge_type]
            assert fast[rouge_type][index].tolist() == [score.precision, score.recall, score.fmeasure]


def test_rouge_tokenize_corpus_equals_rouge_score_tokenizer():
    from nltk.stem import porter
    from rouge_score import tokenize as rouge_tokenize

    texts = EDGE_HYPS + EDGE_REFS + ["Generously, the runners' happiness:  increased!!"]
    stemmer = porter.PorterStemmer()
    ids, lengths, counts, vocabulary = rouge.tokenize_corpus(texts, use_stemmer=True)
    assert counts.tolist() == [1] * len(texts)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    for index, text in enumerate(texts):
        tokens = [vocabulary[token] for token in ids[offsets[index] : offsets[index + 1]]]
        assert tokens == rouge_tokenize.tokenize(text, stemmer), text


def test_rouge_rejects_unknown_implementation():
    with pytest.raises(ValueError, match="invalid ROUGE implementation"):
        rouge.rouge_sentence_scores(["a"], ["a"], implementation="fast")


# ---------------------------------------------------------------------------
# Embedding scores
# ---------------------------------------------------------------------------


def loop_embedding_scores(hyps, refs, table):
    """Liu et al. (2016) scores, one segment at a time in float64."""
    def cosine(first, second):
        norm = np.linalg.norm(first) * np.linalg.norm(second)
        return float(first @ second / norm) if norm > 0 else 0.0

    def extrema(vectors):
        maxima, minima = vectors.max(axis=0), vectors.min(axis=0)
        return np.where(maxima >= np.abs(minima), maxima, minima)

    scores = {"average": [], "extrema": [], "greedy": []}
    for hyp, ref in zip(hyps, refs):
        hyp_vectors = np.array([table[token] for token in hyp.split() if token in table])
        ref_vectors = np.array([table[token] for token in ref.split() if token in table])
        if len(hyp_vectors) == 0 or len(ref_vectors) == 0:
            for values in scores.values():
                values.append(0.0)
            continue
        scores["average"].append(cosine(hyp_vectors.sum(axis=0), ref_vectors.sum(axis=0)))
        scores["extrema"].append(cosine(extrema(hyp_vectors), extrema(ref_vectors)))
        similarity = np.array([[cosine(x, y) for y in ref_vectors] for x in hyp_vectors])
        scores["greedy"].append((similarity.max(axis=1).mean() + similarity.max(axis=0).mean()) / 2.0)
    return {name: np.array(values) for name, values in scores.items()}


def test_embedding_scores_equal_float64_loop():
    rng = random.Random(13)
    words = [f"w{index}" for index in range(40)]
    # Short and long segments (long ones are summed in float64), unknown
    # words, empty and all-unknown segments.
    hyps = [" ".join(rng.choice(words + ["oov"]) for _ in range(rng.randint(0, 12))) for _ in range(150)]
    refs = [" ".join(rng.choice(words + ["oov"]) for _ in range(rng.randint(0, 150))) for _ in range(150)]
    hyps += ["oov oov", "w1"]
    refs += ["w1 w2", "oov"]
    numpy_rng = np.random.default_rng(0)
    table = {word: numpy_rng.standard_normal(25) for word in words}
    table["w3"] = np.zeros(25)  # a zero vector has cosine 0 with everything
    scores, info = metrics.embedding_sentence_scores(hyps, refs, table)
    expected = loop_embedding_scores(hyps, refs, table)
    for name in expected:
        np.testing.assert_allclose(scores[name], expected[name], atol=1e-6, err_msg=name)
    assert info["segments_without_vectors"] == int(
        sum(1 for hyp, ref in zip(hyps, refs) if not set(hyp.split()) - {"oov"} or not set(ref.split()) - {"oov"})
    )


def test_embedding_long_pair_in_blocks(monkeypatch):
    # A budget this small makes greedy matching split the cosine matrix into
    # blocks of hypothesis rows.
    monkeypatch.setattr(metrics, "_GATHER_BUDGET", 500)
    rng = random.Random(17)
    words = [f"w{index}" for index in range(30)]
    hyps = [" ".join(rng.choice(words) for _ in range(120)), "w1 w2"]
    refs = [" ".join(rng.choice(words) for _ in range(90)), "w2 w3 w4"]
    numpy_rng = np.random.default_rng(1)
    table = {word: numpy_rng.standard_normal(10) for word in words}
    scores, _ = metrics.embedding_sentence_scores(hyps, refs, table)
    expected = loop_embedding_scores(hyps, refs, table)
    for name in expected:
        np.testing.assert_allclose(scores[name], expected[name], atol=1e-6, err_msg=name)


# ---------------------------------------------------------------------------
# ami-evaluate with both implementations
# ---------------------------------------------------------------------------


def test_cli_implementations_give_the_same_report(chat_pairs, tmp_path):
    hyps, refs = chat_pairs[0][:400], chat_pairs[1][:400]
    (tmp_path / "hyp.txt").write_text("\n".join(hyps) + "\n", encoding="utf-8")
    (tmp_path / "ref.txt").write_text("\n".join(refs) + "\n", encoding="utf-8")
    reports = []
    for bleu_implementation, rouge_implementation in (("ami", "ami"), ("sacrebleu", "rouge-score")):
        out = tmp_path / f"{bleu_implementation}.json"
        code = evaluate.main([
            "--hyp", str(tmp_path / "hyp.txt"), "--ref", str(tmp_path / "ref.txt"),
            "--metrics", "bleu,bleu-n,rouge", "--json", str(out),
            "--bleu-implementation", bleu_implementation, "--rouge-implementation", rouge_implementation,
        ])
        assert code == 0
        reports.append(json.loads(out.read_text(encoding="utf-8")))
    assert reports[0]["systems"][0]["scores"] == reports[1]["systems"][0]["scores"]
    metrics_json = reports[1]["systems"][0]["metrics"]
    assert metrics_json["rouge"]["settings"]["implementation"] == "rouge-score RougeScorer per segment"
    assert metrics_json["bleu"]["settings"]["statistics"] == "sacrebleu"
