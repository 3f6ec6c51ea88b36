"""Metric values on tiny inputs worked out by hand, and BLEU/ROUGE against
sacrebleu and rouge-score called directly on the same text."""

import collections
import logging
import math
import random

import numpy as np
import pytest
import sacrebleu
from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU

from ami import metrics

# Realistic dialogue-like text with punctuation, casing, numbers, an empty
# hypothesis and multi-sentence turns.
REFS = [
    "Hi! How are you doing today?",
    "I'm doing well, thanks. Just got back from a run.",
    "That sounds great. How far did you go?",
    "About 5 miles. It took me 45 minutes.",
    "Nice! I can't run more than 2 miles.",
    "You should try. It gets easier.",
    "Maybe next week. Dr. Smith told me to rest.",
    "Oh no, what happened?",
]
HYPS = [
    "Hi! How are you?",
    "I am doing well. I just got back from a run.",
    "",
    "About 5 miles, it took 45 minutes.",
    "Nice! I can not run 2 miles.",
    "You should try it. It gets easier every week.",
    "Maybe next week.",
    "What happened?",
]


# ---------------------------------------------------------------------------
# distinct-n and entropy-n
# ---------------------------------------------------------------------------

# Tokens: [a b a], [a b], [] -> unigrams a,b,a,a,b (5 occurrences, 2 types),
# bigrams "a b","b a","a b" (3 occurrences, 2 types).
TINY = ["a b a", "a b", ""]


def test_distinct_corpus_by_hand():
    assert metrics.distinct_n(TINY, 1) == pytest.approx(2 / 5)
    assert metrics.distinct_n(TINY, 2) == pytest.approx(2 / 3)
    # No hypothesis has a 4-gram.
    assert metrics.distinct_n(TINY, 4) == 0.0


def test_distinct_sentence_level_by_hand():
    # distinct-1 per hypothesis: 2/3 and 2/2; the empty one is skipped.
    assert metrics.distinct_n(TINY, 1, level="sentence") == pytest.approx((2 / 3 + 1.0) / 2)
    # distinct-2: {ab, ba}/2 = 1 and {ab}/1 = 1.
    assert metrics.distinct_n(TINY, 2, level="sentence") == pytest.approx(1.0)


def test_distinct_sentence_level_inflates():
    # "a b" twice: corpus level 2 types / 4 tokens, sentence level 1.0.
    assert metrics.distinct_n(["a b", "a b"], 1) == pytest.approx(0.5)
    assert metrics.distinct_n(["a b", "a b"], 1, level="sentence") == pytest.approx(1.0)


def test_distinct_rejects_unknown_level():
    with pytest.raises(ValueError, match="corpus"):
        metrics.distinct_n(TINY, 1, level="document")


def test_distinct_empty_hypotheses():
    assert metrics.distinct_n(["", "  "], 1) == 0.0
    assert metrics.distinct_n([], 2) == 0.0
    assert metrics.distinct_n(["", ""], 1, level="sentence") == 0.0


def test_entropy_by_hand():
    # Unigram counts a:3, b:2 -> -(0.6 ln 0.6 + 0.4 ln 0.4).
    expected_1 = -(0.6 * math.log(0.6) + 0.4 * math.log(0.4))
    assert metrics.entropy_n(TINY, 1) == pytest.approx(expected_1)
    assert expected_1 == pytest.approx(0.6730116670)
    # Bigram counts "a b":2, "b a":1 -> -(2/3 ln 2/3 + 1/3 ln 1/3).
    assert metrics.entropy_n(TINY, 2) == pytest.approx(-(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3)))
    assert metrics.entropy_n(TINY, 4) == 0.0


def test_entropy_uniform_is_log_types():
    # Four distinct 4-grams once each -> ln 4.
    assert metrics.entropy_n(["a b c d e f g"], 4) == pytest.approx(math.log(4))


def _counter_ngrams(texts, n):
    counts = collections.Counter()
    for text in texts:
        tokens = text.split()
        counts.update(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return counts


def test_ngram_metrics_match_counter():
    rng = random.Random(3)
    words = [f"w{i}" for i in range(300)] + ["the", "a", "."]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 12))) for _ in range(500)]
    corpus = metrics.TokenizedCorpus(texts)
    for n in (1, 2, 3, 4, 5):
        counts = _counter_ngrams(texts, n)
        total = sum(counts.values())
        entropy = -sum(c / total * math.log(c / total) for c in counts.values())
        assert metrics.distinct_n(corpus, n) == pytest.approx(len(counts) / total)
        assert metrics.entropy_n(corpus, n) == pytest.approx(entropy)


def test_ngrams_do_not_cross_hypotheses():
    # Joined, "a b" + "c d" would give the bigram "b c"; it must not appear.
    assert metrics.TokenizedCorpus(["a b", "c d"]).ngrams(2).num_types == 2


def test_tokenized_corpus_rejects_order_zero():
    with pytest.raises(ValueError, match=">= 1"):
        metrics.TokenizedCorpus(TINY).ngrams(0)


# ---------------------------------------------------------------------------
# BLEU
# ---------------------------------------------------------------------------


def test_bleu_by_hand_brevity_penalty():
    # All n-gram precisions are 100%; c = 4, r = 6 -> BP = exp(1 - 6/4).
    score, signature, extra = metrics.bleu(["a b c d"], ["a b c d e f"])
    assert score == pytest.approx(100 * math.exp(-0.5))
    assert extra["brevity_penalty"] == pytest.approx(math.exp(-0.5))
    assert extra["hyp_len"] == 4
    assert extra["ref_len"] == 6
    assert signature.startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:")


def test_bleu_by_hand_exp_smoothing():
    # p1 = 3/4, p2 = 1/3 (only "a b"), p3 = 0/2 and p4 = 0/1. sacrebleu's
    # 'exp' smoothing replaces them with 100/(2*2) = 25 and 100/(4*1) = 25.
    # BLEU = (75 * 33.33 * 25 * 25) ** 0.25 = 1562500 ** 0.25 = sqrt(1250).
    score, _, extra = metrics.bleu(["a b x d"], ["a b c d"])
    assert score == pytest.approx(math.sqrt(1250))
    assert extra["precisions"] == pytest.approx([75.0, 100 / 3, 25.0, 25.0])


def test_bleu_n_by_hand():
    # Same pair: BLEU-1 = 75, BLEU-2 = sqrt(75 * 33.33) = 50; individual
    # BLEU-2 = p2 = 33.33, individual BLEU-3 = 0 (no smoothing).
    cumulative = metrics.bleu_n(["a b x d"], ["a b c d"])
    assert cumulative[1] == pytest.approx(75.0)
    assert cumulative[2] == pytest.approx(50.0)
    assert cumulative[4] == pytest.approx(math.sqrt(1250))
    individual = metrics.bleu_n(["a b x d"], ["a b c d"], kind="individual")
    assert individual[2] == pytest.approx(100 / 3)
    assert individual[3] == 0.0


def test_bleu_matches_sacrebleu():
    for options in ({}, {"lowercase": True}, {"tokenize": "intl"}, {"tokenize": "none"}):
        expected = BLEU(**options).corpus_score(HYPS, [REFS])
        score, _, _ = metrics.bleu(HYPS, REFS, **options)
        assert score == pytest.approx(expected.score, abs=1e-12), options
    assert metrics.bleu(HYPS, REFS)[0] == pytest.approx(sacrebleu.corpus_bleu(HYPS, [REFS]).score)


def test_bleu_signature_matches_sacrebleu():
    scorer = BLEU(lowercase=True)
    scorer.corpus_score(HYPS, [REFS])
    assert metrics.bleu(HYPS, REFS, lowercase=True)[1] == str(scorer.get_signature())


def test_bleu_n_cumulative_matches_sacrebleu_max_order():
    scores = metrics.bleu_n(HYPS, REFS)
    for order in (1, 2, 3, 4):
        expected = BLEU(max_ngram_order=order).corpus_score(HYPS, [REFS]).score
        assert scores[order] == pytest.approx(expected, abs=1e-12), order


def test_bleu_statistics_sum_to_corpus_score():
    stats = metrics.bleu_statistics(HYPS, REFS)
    assert stats.shape == (len(HYPS), 10)
    # The empty hypothesis has length 0 and no n-grams.
    assert stats[2].tolist()[0] == 0
    assert metrics.bleu_from_statistics(stats.sum(axis=0)) == pytest.approx(
        BLEU().corpus_score(HYPS, [REFS]).score, abs=1e-12
    )


def test_bleu_rejects_length_mismatch():
    with pytest.raises(ValueError, match="8 hypotheses but 7 references"):
        metrics.bleu(HYPS, REFS[:7])


def test_bleu_n_rejects_order_five():
    with pytest.raises(ValueError, match="1..4"):
        metrics.bleu_n(HYPS, REFS, orders=(5,))


# ---------------------------------------------------------------------------
# Sentence splitting and ROUGE
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", []),
        ("Hello there", ["Hello there"]),
        ("It works. it also works lowercase", ["It works.", "it also works lowercase"]),
        ("Really?! Yes... Fine.", ["Really?!", "Yes...", "Fine."]),
        ('He said "stop." Then left.', ['He said "stop."', "Then left."]),
        ("Dr. Smith arrived. Mr. Jones e.g. left.", ["Dr. Smith arrived.", "Mr. Jones e.g. left."]),
        ("J. R. R. Tolkien wrote it. Done", ["J. R. R. Tolkien wrote it.", "Done"]),
        ("The U.S. army is big. Yes", ["The U.S. army is big.", "Yes"]),
        ("Pi is 3.14 roughly. OK", ["Pi is 3.14 roughly.", "OK"]),
        ("line one\nline two", ["line one", "line two"]),
    ],
)
def test_split_sentences(text, expected):
    assert metrics.split_sentences(text) == expected


def test_rouge_by_hand():
    # Tokens hyp [the cat sat], ref [the cat sat down].
    # rouge1: P = 3/3, R = 3/4, F = 2 * 0.75 / 1.75. rouge2: P = 2/2, R = 2/3,
    # F = 0.8. rougeL: LCS = 3, same as rouge1. rougeLsum: one sentence, same.
    scores = metrics.rouge(["the cat sat"], ["the cat sat down"], use_stemmer=False)
    assert scores["rouge1"]["precision"] == pytest.approx(100.0)
    assert scores["rouge1"]["recall"] == pytest.approx(75.0)
    assert scores["rouge1"]["fmeasure"] == pytest.approx(100 * 1.5 / 1.75)
    assert scores["rouge2"]["fmeasure"] == pytest.approx(80.0)
    assert scores["rougeL"]["fmeasure"] == pytest.approx(100 * 1.5 / 1.75)
    assert scores["rougeLsum"]["fmeasure"] == pytest.approx(100 * 1.5 / 1.75)


def test_rouge_stemming_matters():
    # "running" and "runs" stem to "run" with the Porter stemmer.
    plain = metrics.rouge(["he runs"], ["he running"], use_stemmer=False)
    stemmed = metrics.rouge(["he runs"], ["he running"], use_stemmer=True)
    assert plain["rouge1"]["fmeasure"] == pytest.approx(50.0)
    assert stemmed["rouge1"]["fmeasure"] == pytest.approx(100.0)


@pytest.mark.parametrize("use_stemmer", [False, True])
def test_rouge_matches_rouge_score(use_stemmer):
    rng = random.Random(0)
    hyps = HYPS + [" ".join(rng.sample(REFS, 3)) for _ in range(30)]
    refs = REFS + [" ".join(rng.sample(REFS, 2)) for _ in range(30)]
    scorer = rouge_scorer.RougeScorer(list(metrics.ROUGE_TYPES), use_stemmer=use_stemmer)
    per_segment = metrics.rouge_sentence_scores(hyps, refs, use_stemmer=use_stemmer)
    for index, (hyp, ref) in enumerate(zip(hyps, refs)):
        expected = scorer.score(
            "\n".join(metrics.split_sentences(ref)), "\n".join(metrics.split_sentences(hyp))
        )
        for rouge_type in metrics.ROUGE_TYPES:
            score = expected[rouge_type]
            assert per_segment[rouge_type][index].tolist() == pytest.approx(
                [score.precision, score.recall, score.fmeasure], abs=1e-12
            ), (rouge_type, hyp, ref)


def test_rouge_non_english_scores_zero(caplog):
    with caplog.at_level(logging.WARNING, logger="ami.metrics"):
        scores = metrics.rouge(["猫が座った"], ["猫が座った"])
    assert scores["rouge1"]["fmeasure"] == 0.0
    assert "no ROUGE tokens" in caplog.text


def test_rouge_rejects_unknown_type():
    with pytest.raises(ValueError, match="rougeW"):
        metrics.rouge(HYPS, REFS, rouge_types=("rougeW",))


# ---------------------------------------------------------------------------
# Embedding scores
# ---------------------------------------------------------------------------

VECTORS = {"a": [1.0, 0.0], "b": [0.0, 1.0], "c": [1.0, 1.0], "d": [-2.0, 0.5]}


def test_embedding_by_hand_positive():
    # hyp [a b], ref [c]. average: sum [1,1] vs [1,1] -> 1. extrema: [1,1]
    # vs [1,1] -> 1. greedy: cos(a,c) = cos(b,c) = 1/sqrt(2) both ways.
    scores = metrics.embedding_scores(["a b"], ["c"], VECTORS)
    assert scores["average"] == pytest.approx(1.0)
    assert scores["extrema"] == pytest.approx(1.0)
    assert scores["greedy"] == pytest.approx(1 / math.sqrt(2))


def test_embedding_by_hand_negative_extrema():
    # hyp [a d], ref [a]. average: [-1, 0.5] vs [1, 0] -> -1/sqrt(1.25).
    # extrema: dim 0 max 1 < |min -2| -> -2; dim 1 -> 0.5: [-2, 0.5] vs [1, 0]
    # -> -2/sqrt(4.25). greedy: hyp->ref (1 + cos(d,a)) / 2 with
    # cos(d,a) = -2/sqrt(4.25); ref->hyp 1; mean of both.
    scores = metrics.embedding_scores(["a d"], ["a"], VECTORS)
    cos_da = -2 / math.sqrt(4.25)
    assert scores["average"] == pytest.approx(-1 / math.sqrt(1.25))
    assert scores["extrema"] == pytest.approx(cos_da)
    assert scores["greedy"] == pytest.approx(((1 + cos_da) / 2 + 1) / 2)


def test_embedding_oov_and_empty_score_zero():
    # Segment 1: orthogonal -> 0; segment 2: empty hypothesis -> 0 by
    # definition; segment 3: identical -> 1. Mean = 1/3.
    per_segment, info = metrics.embedding_sentence_scores(["a", "", "b zzz"], ["b", "a", "b"], VECTORS)
    assert per_segment["average"].tolist() == pytest.approx([0.0, 0.0, 1.0])
    assert info["segments_without_vectors"] == 1
    assert info["oov_tokens"] == 1
    assert info["tokens"] == 6
    assert metrics.embedding_scores(["a", "", "b zzz"], ["b", "a", "b"], VECTORS)["greedy"] == pytest.approx(1 / 3)


def test_embedding_lowercase_lookup():
    assert metrics.embedding_scores(["A"], ["a"], VECTORS)["average"] == 0.0
    assert metrics.embedding_scores(["A"], ["a"], VECTORS, lowercase=True)["average"] == pytest.approx(1.0)


def test_load_word_vectors_formats(tmp_path):
    glove = tmp_path / "glove.txt"
    glove.write_text("a 1 0\nb 0 1\nnew york 0.5 0.5\n", encoding="utf-8")
    word2vec = tmp_path / "w2v.txt"
    word2vec.write_text("2 2\na 1 0\nb 0 1\n", encoding="utf-8")
    vectors = metrics.load_word_vectors(str(glove))
    assert vectors.dim == 2
    assert vectors.table["new york"].tolist() == [0.5, 0.5]
    assert vectors.source == str(glove)
    assert sorted(metrics.load_word_vectors(str(word2vec)).table) == ["a", "b"]
    assert sorted(metrics.load_word_vectors(str(glove), vocabulary={"b"}).table) == ["b"]


def test_load_word_vectors_rejects_bad_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("a 1 0\nb 0 x\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.txt, line 2: invalid number"):
        metrics.load_word_vectors(str(path))


def test_word_vectors_reject_mixed_sizes():
    with pytest.raises(ValueError, match="different sizes"):
        metrics.WordVectors.from_mapping({"a": [1.0], "b": [1.0, 2.0]}, source="test")


# ---------------------------------------------------------------------------
# Length
# ---------------------------------------------------------------------------


def test_length_stats_by_hand():
    # Lengths 3, 2, 0, 0: mean 5/4, median (0 + 2)/2 = 1, two empty.
    stats = metrics.length_stats(["a b a", "a b", "", "   "])
    assert stats == {"mean": 1.25, "median": 1.0, "empty": 2, "count": 4}


def test_length_stats_no_hypotheses():
    assert metrics.length_stats([]) == {"mean": 0.0, "median": 0.0, "empty": 0, "count": 0}


def test_workers_do_not_change_scores():
    rng = random.Random(1)
    hyps = [" ".join(rng.sample(REFS, 2)) for _ in range(4200)]
    refs = [rng.choice(REFS) for _ in range(4200)]
    single = metrics.bleu_statistics(hyps, refs)
    parallel = metrics.bleu_statistics(hyps, refs, workers=2)
    assert np.array_equal(single, parallel)
    rouge_single = metrics.rouge_sentence_scores(hyps, refs, rouge_types=("rouge1",))
    rouge_parallel = metrics.rouge_sentence_scores(hyps, refs, rouge_types=("rouge1",), workers=2)
    assert np.array_equal(rouge_single["rouge1"], rouge_parallel["rouge1"])
