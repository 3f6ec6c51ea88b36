"""Corpus-level metrics for generated text: BLEU, distinct-n, entropy-n,
ROUGE, embedding similarity and length statistics.

Every function takes detokenized text, one string per segment. Unless a
docstring states otherwise, a token is an item of ``text.split()``, that is,
the text is split on runs of whitespace and nothing else is normalized.
BLEU and ROUGE use their packages' own tokenizers (sacrebleu 2.x, rouge-score
0.1.x) so that scores match those packages exactly.

Alongside each metric there is a function for its per-segment sufficient
statistics (``bleu_statistics``, ``NgramCounts``, ``rouge_sentence_scores``,
``embedding_sentence_scores``). ami.bootstrap resamples those statistics
instead of recomputing the metric from text.
"""

import itertools
import logging
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

logger = logging.getLogger(__name__)

Tokenizer = Callable[[str], List[str]]

BLEU_MAX_ORDER = 4
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
EMBEDDING_SCORES = ("average", "extrema", "greedy")


def whitespace_tokenize(text: str) -> List[str]:
    """Split ``text`` on runs of whitespace; the tokenizer of all ami metrics
    except BLEU and ROUGE."""
    return text.split()


# ---------------------------------------------------------------------------
# Distinct-n and entropy-n
# ---------------------------------------------------------------------------


class TokenizedCorpus:
    """Hypotheses as integer token ids, with cached n-gram counts per order.

    Build one per hypothesis list and pass it to ``distinct_n`` and
    ``entropy_n`` in place of the strings, so the text is tokenized once for
    all orders.
    """

    def __init__(self, texts: Sequence[str], tokenize: Tokenizer = whitespace_tokenize):
        token_lists = [tokenize(text) for text in texts]
        self.num_sentences = len(token_lists)
        self.lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
        tokens = list(itertools.chain.from_iterable(token_lists))
        # Each token gets the position of its first occurrence as a provisional id
        # (one C-level setdefault per token), then a lookup table renumbers the
        # ids to 0..V-1 in order of first occurrence.
        first_position: Dict[str, int] = {}
        provisional = np.fromiter(
            map(first_position.setdefault, tokens, range(len(tokens))), dtype=np.int64, count=len(tokens)
        )
        renumber = np.zeros(len(tokens), dtype=np.int64)
        renumber[np.fromiter(first_position.values(), dtype=np.int64, count=len(first_position))] = np.arange(
            len(first_position)
        )
        self.token_ids = renumber[provisional]
        self.vocabulary_size = len(first_position)
        self._ngrams: Dict[int, "NgramCounts"] = {}

    def ngrams(self, n: int) -> "NgramCounts":
        """Return the n-gram occurrences of order ``n`` (computed once)."""
        if n < 1:
            raise ValueError(f"n-gram order must be >= 1, got {n}")
        if n not in self._ngrams:
            self._ngrams[n] = NgramCounts.from_corpus(self, n)
        return self._ngrams[n]


@dataclass
class NgramCounts:
    """All n-gram occurrences of one order, as parallel arrays.

    ``ngram_ids[k]`` is the type id (0 .. num_types-1) of occurrence k and
    ``sentence_ids[k]`` the segment it occurs in. N-grams never cross segment
    boundaries, so a segment of L tokens has max(L - n + 1, 0) occurrences.
    """

    n: int
    ngram_ids: np.ndarray
    sentence_ids: np.ndarray
    num_types: int
    num_sentences: int

    @classmethod
    def from_corpus(cls, corpus: TokenizedCorpus, n: int) -> "NgramCounts":
        lengths = corpus.lengths
        total_tokens = corpus.token_ids.shape[0]
        starts = np.cumsum(lengths) - lengths
        sentence_of_token = np.repeat(np.arange(corpus.num_sentences), lengths)
        position = np.arange(total_tokens) - starts[sentence_of_token]
        first = np.flatnonzero(position <= lengths[sentence_of_token] - n)
        sentence_ids = sentence_of_token[first]
        if first.size == 0:
            empty = np.zeros(0, dtype=np.int64)
            return cls(n, empty, empty, 0, corpus.num_sentences)

        # Number the k-grams starting at every token position for k = 1..n, each
        # step extending the (k-1)-gram id by one token and renumbering
        # compactly, so keys stay below types * V < 2**63. Positions whose
        # n-gram crosses a segment boundary are dropped only at the end.
        token_ids = corpus.token_ids
        vocabulary_size = max(corpus.vocabulary_size, 1)
        gram_ids = token_ids
        for k in range(1, n):
            keys = gram_ids[: total_tokens - k] * vocabulary_size + token_ids[k:]
            _, gram_ids = np.unique(keys, return_inverse=True)
            gram_ids = gram_ids.reshape(-1)
        _, ngram_ids = np.unique(gram_ids[first], return_inverse=True)
        ngram_ids = ngram_ids.reshape(-1).astype(np.int64)
        return cls(n, ngram_ids, sentence_ids, int(ngram_ids.max()) + 1, corpus.num_sentences)

    def type_counts(self, sentence_weights: Optional[np.ndarray] = None) -> np.ndarray:
        """Return the count of each n-gram type, shape [num_types].

        With ``sentence_weights`` (one number per segment) each occurrence
        counts as often as its segment's weight; ami.bootstrap passes how
        often a resample drew each segment.
        """
        if sentence_weights is None:
            return np.bincount(self.ngram_ids, minlength=self.num_types).astype(np.float64)
        weights = sentence_weights[self.sentence_ids]
        return np.bincount(self.ngram_ids, weights=weights, minlength=self.num_types)

    def sentence_totals(self) -> np.ndarray:
        """Return the number of n-gram occurrences per segment."""
        return np.bincount(self.sentence_ids, minlength=self.num_sentences).astype(np.float64)

    def sentence_unique(self) -> np.ndarray:
        """Return the number of distinct n-gram types per segment."""
        pairs = np.unique(self.sentence_ids * max(self.num_types, 1) + self.ngram_ids)
        return np.bincount(pairs // max(self.num_types, 1), minlength=self.num_sentences).astype(np.float64)


def _as_corpus(hyps: Union[Sequence[str], TokenizedCorpus]) -> TokenizedCorpus:
    return hyps if isinstance(hyps, TokenizedCorpus) else TokenizedCorpus(hyps)


def distinct_from_counts(type_counts: np.ndarray) -> float:
    """Return distinct-n from n-gram type counts: types seen / occurrences, 0.0 if none."""
    total = type_counts.sum()
    if total == 0:
        return 0.0
    return float(np.count_nonzero(type_counts) / total)


def entropy_from_counts(type_counts: np.ndarray) -> float:
    """Return the Shannon entropy in nats of the distribution ``type_counts / sum``, 0.0 if empty."""
    total = type_counts.sum()
    if total == 0:
        return 0.0
    probabilities = type_counts[type_counts > 0] / total
    return float(-(probabilities * np.log(probabilities)).sum())


def sentence_distinct_values(counts: NgramCounts) -> Tuple[np.ndarray, np.ndarray]:
    """Return (per-segment distinct-n, mask of segments that have >= 1 n-gram)."""
    totals = counts.sentence_totals()
    valid = totals > 0
    values = np.zeros(counts.num_sentences, dtype=np.float64)
    values[valid] = counts.sentence_unique()[valid] / totals[valid]
    return values, valid


def distinct_n(hyps: Union[Sequence[str], TokenizedCorpus], n: int, level: str = "corpus") -> float:
    """Return distinct-n (Li et al., 2016) of the hypotheses, a ratio in [0, 1].

    ``level="corpus"`` (default): the number of distinct n-gram types over
    all hypotheses divided by the total number of n-gram occurrences.
    ``level="sentence"``: the same ratio computed per hypothesis and averaged
    over hypotheses; this variant is higher because repeats across
    hypotheses are not counted.

    Tokens are whitespace tokens and n-grams do not cross hypotheses. An
    empty hypothesis, or one with fewer than n tokens, has no n-grams: it
    adds nothing at corpus level and is left out of the sentence-level
    average. Returns 0.0 when no hypothesis has an n-gram.
    """
    counts = _as_corpus(hyps).ngrams(n)
    if level == "corpus":
        return distinct_from_counts(counts.type_counts())
    if level == "sentence":
        values, valid = sentence_distinct_values(counts)
        return float(values[valid].mean()) if valid.any() else 0.0
    raise ValueError(f"invalid distinct-n level {level!r}; expected 'corpus' or 'sentence'")


def entropy_n(hyps: Union[Sequence[str], TokenizedCorpus], n: int = 4) -> float:
    """Return entropy-n (Zhang et al., 2018) of the hypotheses, in nats.

    The Shannon entropy -sum_g p(g) ln p(g) of the empirical distribution
    p(g) = count(g) / total over all n-gram occurrences g in all
    hypotheses (whitespace tokens, no n-gram crosses hypotheses). Returns
    0.0 when no hypothesis has an n-gram.
    """
    return entropy_from_counts(_as_corpus(hyps).ngrams(n).type_counts())


# ---------------------------------------------------------------------------
# BLEU (sacrebleu)
# ---------------------------------------------------------------------------


def make_bleu_scorer(
    tokenize: str = "13a",
    lowercase: bool = False,
    smooth_method: str = "exp",
    smooth_value: Optional[float] = None,
    max_ngram_order: int = BLEU_MAX_ORDER,
):
    """Return a ``sacrebleu.metrics.BLEU`` with these settings and force=True.

    force=True only silences sacrebleu's warning about text that ends in
    " ." (it does not change the score). ami logs its own warning instead.
    """
    from sacrebleu.metrics import BLEU

    return BLEU(
        lowercase=lowercase,
        force=True,
        tokenize=tokenize,
        smooth_method=smooth_method,
        smooth_value=smooth_value,
        max_ngram_order=max_ngram_order,
    )


def bleu_statistics(hyps: Sequence[str], refs: Sequence[str], workers: int = 1, **scorer_options) -> np.ndarray:
    """Return sacrebleu's per-segment BLEU statistics, shape [segments, 10].

    Columns: hypothesis length, closest reference length, matching n-grams
    for n = 1..4, hypothesis n-grams for n = 1..4 (sacrebleu's layout). Their
    column sums give exactly sacrebleu's corpus BLEU. ``scorer_options`` go
    to ``make_bleu_scorer`` (max_ngram_order is fixed at 4). ``workers`` > 1
    extracts chunks of segments in that many processes.
    """
    _check_same_length(hyps, refs)
    arguments = [
        (list(hyps[start:stop]), list(refs[start:stop]), scorer_options)
        for start, stop in _chunk_bounds(len(hyps), workers)
    ]
    parts = _map_in_processes(_bleu_statistics_chunk, arguments, workers)
    return np.concatenate(parts).reshape(len(hyps), 2 + 2 * BLEU_MAX_ORDER)


def _bleu_statistics_chunk(hyps: List[str], refs: List[str], scorer_options: dict) -> np.ndarray:
    scorer = make_bleu_scorer(**scorer_options)
    # NOTE: _extract_corpus_statistics is private sacrebleu API (2.0 to 2.6);
    # tests check the result against BLEU.corpus_score.
    stats = scorer._extract_corpus_statistics(hyps, [refs])
    return np.asarray(stats, dtype=np.int64).reshape(len(hyps), 2 + 2 * BLEU_MAX_ORDER)


def bleu_from_statistics(
    stats: np.ndarray,
    order: int = BLEU_MAX_ORDER,
    kind: str = "cumulative",
    smooth_method: str = "exp",
    smooth_value: Optional[float] = None,
):
    """Return BLEU (0-100) from summed statistics of ``bleu_statistics``.

    ``kind="cumulative"``: sacrebleu's corpus BLEU with max_ngram_order=order,
    BP * exp(mean_{k<=order} ln p_k), with the given smoothing.
    ``kind="individual"``: BP * p_order, the brevity-penalized precision of
    order ``order`` alone, without smoothing (0 when there are no n-grams).
    BP = exp(1 - r/c) if c < r else 1, with c the hypothesis and r the
    reference length in sacrebleu tokens; p_k = 100 * matches_k / total_k.
    """
    from sacrebleu.metrics import BLEU

    values = [int(v) for v in stats]
    sys_len, ref_len = values[0], values[1]
    correct = values[2 : 2 + BLEU_MAX_ORDER]
    total = values[2 + BLEU_MAX_ORDER :]
    if kind == "cumulative":
        result = BLEU.compute_bleu(
            correct=correct[:order],
            total=total[:order],
            sys_len=sys_len,
            ref_len=ref_len,
            smooth_method=smooth_method,
            smooth_value=smooth_value,
            effective_order=False,
            max_ngram_order=order,
        )
        return result.score
    if kind == "individual":
        if total[order - 1] == 0 or sys_len == 0:
            return 0.0
        brevity_penalty = 1.0 if sys_len >= ref_len else math.exp(1.0 - ref_len / sys_len)
        return brevity_penalty * 100.0 * correct[order - 1] / total[order - 1]
    raise ValueError(f"invalid BLEU-n kind {kind!r}; expected 'cumulative' or 'individual'")


def bleu(
    hyps: Sequence[str],
    refs: Sequence[str],
    tokenize: str = "13a",
    lowercase: bool = False,
    smooth_method: str = "exp",
    smooth_value: Optional[float] = None,
    stats: Optional[np.ndarray] = None,
    workers: int = 1,
) -> Tuple[float, str, Dict[str, object]]:
    """Compute sacrebleu's corpus BLEU (0-100) against one reference per hypothesis.

    Returns (score, signature, extra). The signature is sacrebleu's
    reproducibility string, e.g. ``nrefs:1|case:mixed|eff:no|tok:13a|
    smooth:exp|version:2.6.0``. ``extra`` contains the four n-gram precisions,
    brevity penalty, length ratio, hypothesis and reference lengths and the
    per-segment statistics (``stats``, see ``bleu_statistics``). The score
    equals ``BLEU(...).corpus_score(hyps, [refs]).score``. Pass ``stats``
    from ``bleu_statistics`` with the same options to skip recomputing them.
    """
    options = dict(tokenize=tokenize, lowercase=lowercase, smooth_method=smooth_method, smooth_value=smooth_value)
    if stats is None:
        stats = bleu_statistics(hyps, refs, workers=workers, **options)
    _warn_if_tokenized(hyps)

    scorer = make_bleu_scorer(**options)
    scorer.num_refs = 1  # set by corpus_score in sacrebleu; the signature reads it
    result = scorer._compute_score_from_stats(stats.sum(axis=0).tolist())
    extra = {
        "precisions": [float(p) for p in result.precisions],
        "brevity_penalty": float(result.bp),
        "length_ratio": float(result.ratio),
        "hyp_len": int(result.sys_len),
        "ref_len": int(result.ref_len),
        "stats": stats,
    }
    return float(result.score), str(scorer.get_signature()), extra


def bleu_n(
    hyps: Sequence[str],
    refs: Sequence[str],
    orders: Sequence[int] = (1, 2, 3, 4),
    kind: str = "cumulative",
    stats: Optional[np.ndarray] = None,
    **scorer_options,
) -> Dict[int, float]:
    """Return {n: BLEU-n} (0-100) for each order n in ``orders`` (1..4).

    See ``bleu_from_statistics`` for the two definitions. The cumulative
    kind, the default, equals sacrebleu's corpus BLEU with
    max_ngram_order=n, including 'exp' smoothing. It is the formula of
    NLTK's corpus_bleu with weights (1/n, ..., 1/n), which most dialogue
    papers call BLEU-n, but with sacrebleu's tokenizer and smoothing. Pass
    ``stats`` from ``bleu_statistics`` to skip recomputing them.
    """
    if stats is None:
        stats = bleu_statistics(hyps, refs, **scorer_options)
    totals = stats.sum(axis=0)
    smoothing = {
        "smooth_method": scorer_options.get("smooth_method", "exp"),
        "smooth_value": scorer_options.get("smooth_value"),
    }
    scores = {}
    for order in orders:
        if not 1 <= order <= BLEU_MAX_ORDER:
            raise ValueError(f"BLEU-n order must be in 1..{BLEU_MAX_ORDER}, got {order}")
        scores[order] = bleu_from_statistics(totals, order=order, kind=kind, **smoothing)
    return scores


def _warn_if_tokenized(hyps: Sequence[str]) -> None:
    tokenized = sum(1 for hyp in hyps if hyp.endswith(" ."))
    if tokenized >= 100:
        logger.warning(
            "%d hypotheses end in ' .', which suggests tokenized text; BLEU expects "
            "detokenized hypotheses (use fairseq-generate's D- lines or --post-process)",
            tokenized,
        )


# ---------------------------------------------------------------------------
# Sentence splitting and ROUGE (rouge-score)
# ---------------------------------------------------------------------------

# Lowercase words that end in "." without ending a sentence (English).
_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st vs etc e.g i.e cf al approx dept est fig
    no nos vol p pp ed eds inc ltd co corp jan feb mar apr jun jul aug sep
    sept oct nov dec mon tue wed thu fri sat sun a.m p.m u.s u.k u.n
    """.split()
)
_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s)")


def split_sentences(text: str) -> List[str]:
    """Split English ``text`` into sentences with a regular expression.

    A sentence ends at a newline, or at a run of ``. ! ? …`` (optionally
    followed by closing quotes or brackets) that is followed by whitespace.
    A single "." does not end a sentence after a known abbreviation
    ("Dr.", "e.g.", "U.S.") or a one-letter initial ("J."). The next
    sentence need not start with a capital letter, so lowercased text splits
    too. This replaces NLTK's punkt model, whose data is not installed
    offline. An abbreviation missing from the list ends a sentence.
    Returns stripped non-empty sentences; "" gives [].
    """
    sentences: List[str] = []
    for line in text.split("\n"):
        start = 0
        for match in _SENTENCE_END.finditer(line):
            if match.group().startswith(".") and not match.group().startswith(".."):
                word = line[start : match.start()].rsplit(None, 1)[-1:] or [""]
                word = word[0].lstrip("\"'(\u201c\u2018[").lower()
                if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
                    continue
            sentences.append(line[start : match.end()].strip())
            start = match.end()
        sentences.append(line[start:].strip())
    return [sentence for sentence in sentences if sentence]


_ROUGE_TOKEN_CACHE_SIZE = 1 << 18
# Minimum segments per process. An estimate: on fewer segments, starting a
# process costs more than it saves.
_MIN_SEGMENTS_PER_WORKER = 2000


class _CachedRougeTokenizer:
    """rouge-score's default tokenizer with memoized stemming and a cache per text.

    ``tokenize`` calls ``rouge_score.tokenize.tokenize`` with the same
    stemmer that ``DefaultTokenizer`` uses, so tokens are identical. The
    stemmer is the slow part and most words repeat.
    """

    def __init__(self, use_stemmer: bool):
        self._stemmer = None
        if use_stemmer:
            from nltk.stem import porter

            stemmer = porter.PorterStemmer()
            self._stemmer = _MemoizedStemmer(stemmer)
        self._tokens: Dict[str, List[str]] = {}

    def tokenize(self, text: str) -> List[str]:
        from rouge_score import tokenize as rouge_tokenize

        # ROUGE-Lsum tokenizes each sentence again, and a one-sentence text
        # is the same string as the whole text, so cache by text.
        tokens = self._tokens.get(text)
        if tokens is None:
            if len(self._tokens) >= _ROUGE_TOKEN_CACHE_SIZE:
                self._tokens.clear()
            tokens = rouge_tokenize.tokenize(text, self._stemmer)
            self._tokens[text] = tokens
        return list(tokens)


class _MemoizedStemmer:
    def __init__(self, stemmer):
        self.stem = lru_cache(maxsize=1 << 20)(stemmer.stem)


def rouge_sentence_scores(
    hyps: Sequence[str],
    refs: Sequence[str],
    use_stemmer: bool = True,
    rouge_types: Sequence[str] = ROUGE_TYPES,
    split: Callable[[str], List[str]] = split_sentences,
    workers: int = 1,
) -> Dict[str, np.ndarray]:
    """Return {rouge type: array [segments, 3]} of precision, recall and F1 in [0, 1].

    Scores come from ``rouge_score.rouge_scorer.RougeScorer`` with one
    reference per hypothesis. When rougeLsum is requested, both texts are
    first split into sentences by ``split`` and joined with newlines, which
    is how rouge-score marks sentences. Newlines do not change the other
    types, because rouge-score's tokenizer lowercases the text, replaces
    every character outside [a-z0-9] with a space and (with
    ``use_stemmer``) applies the Porter stemmer to tokens longer than 3
    characters. Text without [a-z0-9] characters, such as Chinese or
    Cyrillic, therefore has no tokens and scores 0. ``workers`` > 1 scores
    chunks of segments in that many processes; ``split`` must then be a
    module-level function.
    """
    _check_same_length(hyps, refs)
    unknown = [rouge_type for rouge_type in rouge_types if not re.fullmatch(r"rouge([1-9]|L|Lsum)", rouge_type)]
    if unknown:
        raise ValueError(f"invalid ROUGE type(s) {unknown}; expected rouge1..rouge9, rougeL or rougeLsum")
    arguments = [
        (list(hyps[start:stop]), list(refs[start:stop]), use_stemmer, tuple(rouge_types), split)
        for start, stop in _chunk_bounds(len(hyps), workers)
    ]
    parts = _map_in_processes(_rouge_chunk, arguments, workers)
    scores = {
        rouge_type: np.concatenate([part[0][rouge_type] for part in parts]).reshape(len(hyps), 3)
        for rouge_type in rouge_types
    }
    untokenizable = sum(part[1] for part in parts)
    if untokenizable:
        logger.warning(
            "%d of %d non-empty hypotheses have no ROUGE tokens, because rouge-score keeps "
            "only [a-z0-9] after lowercasing; their ROUGE is 0 (is the text non-English?)",
            untokenizable,
            len(hyps),
        )
    return scores


def _rouge_chunk(hyps, refs, use_stemmer, rouge_types, split):
    """Score one chunk; return ({type: array [segments, 3]}, hypotheses without ROUGE tokens)."""
    from rouge_score import rouge_scorer

    tokenizer = _CachedRougeTokenizer(use_stemmer)
    needs_lsum = "rougeLsum" in rouge_types
    main_types = [rouge_type for rouge_type in rouge_types if rouge_type != "rougeLsum"]
    if needs_lsum and "rougeL" not in main_types:
        main_types.append("rougeL")
    main_scorer = rouge_scorer.RougeScorer(main_types, tokenizer=tokenizer)
    lsum_scorer = rouge_scorer.RougeScorer(["rougeLsum"], tokenizer=tokenizer) if needs_lsum else None
    scores = {rouge_type: np.zeros((len(hyps), 3), dtype=np.float64) for rouge_type in rouge_types}
    untokenizable = 0
    for index, (hyp, ref) in enumerate(zip(hyps, refs)):
        if needs_lsum:
            hyp = "\n".join(split(hyp))
            ref = "\n".join(split(ref))
        result = main_scorer.score(ref, hyp)
        if needs_lsum:
            if "\n" in hyp or "\n" in ref:
                result["rougeLsum"] = lsum_scorer.score(ref, hyp)["rougeLsum"]
            else:
                # With at most one sentence per side, rouge-score's summary-level
                # LCS counts exactly the tokens of the single LCS, so rougeLsum
                # equals rougeL (tests compare with RougeScorer on rougeLsum).
                result["rougeLsum"] = result["rougeL"]
        for rouge_type in rouge_types:
            score = result[rouge_type]
            scores[rouge_type][index] = (score.precision, score.recall, score.fmeasure)
        all_zero = all(result[rouge_type].fmeasure == 0.0 for rouge_type in rouge_types)
        if all_zero and hyp.strip() and not tokenizer.tokenize(hyp):
            untokenizable += 1
    return scores, untokenizable


def _chunk_bounds(length: int, workers: int) -> List[Tuple[int, int]]:
    """Split range(length) into ``workers`` contiguous chunks (one chunk if workers <= 1)."""
    if workers <= 1 or length < 2 * _MIN_SEGMENTS_PER_WORKER:
        return [(0, length)]
    chunks = min(workers, length // _MIN_SEGMENTS_PER_WORKER)
    edges = np.linspace(0, length, chunks + 1).astype(int)
    return list(zip(edges[:-1].tolist(), edges[1:].tolist()))


def _map_in_processes(function, arguments: List[tuple], workers: int) -> list:
    """Return [function(*args) for args in arguments], using a process pool when there are 2+ chunks."""
    if len(arguments) <= 1 or workers <= 1:
        return [function(*args) for args in arguments]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=min(workers, len(arguments))) as pool:
        futures = [pool.submit(function, *args) for args in arguments]
        return [future.result() for future in futures]


def rouge(
    hyps: Sequence[str],
    refs: Sequence[str],
    use_stemmer: bool = True,
    rouge_types: Sequence[str] = ROUGE_TYPES,
    split: Callable[[str], List[str]] = split_sentences,
    workers: int = 1,
) -> Dict[str, Dict[str, float]]:
    """Return {rouge type: {"precision", "recall", "fmeasure"}}, each 0-100.

    Each figure is the mean over segments of rouge-score's per-segment
    value. See ``rouge_sentence_scores`` for tokenization, sentence
    splitting and ``workers``.
    """
    per_sentence = rouge_sentence_scores(hyps, refs, use_stemmer, rouge_types, split, workers)
    result = {}
    for rouge_type, values in per_sentence.items():
        means = values.mean(axis=0) * 100.0 if len(values) else np.zeros(3)
        result[rouge_type] = {"precision": float(means[0]), "recall": float(means[1]), "fmeasure": float(means[2])}
    return result


# ---------------------------------------------------------------------------
# Embedding-based similarity
# ---------------------------------------------------------------------------


@dataclass
class WordVectors:
    """A word vector table and a description of where it came from."""

    table: Mapping[str, np.ndarray]
    dim: int
    source: str

    @classmethod
    def from_mapping(cls, table: Mapping[str, Sequence[float]], source: str) -> "WordVectors":
        """Wrap an in-memory {token: vector} table; ``source`` names it in reports."""
        if not table:
            raise ValueError(f"word vector table {source!r} is empty")
        arrays = {word: np.asarray(vector, dtype=np.float64).reshape(-1) for word, vector in table.items()}
        dims = {vector.shape[0] for vector in arrays.values()}
        if len(dims) != 1:
            raise ValueError(f"word vectors in {source!r} have different sizes: {sorted(dims)}")
        return cls(arrays, dims.pop(), source)


def load_word_vectors(path: str, vocabulary: Optional[set] = None) -> WordVectors:
    """Read word vectors from a word2vec or GloVe text file.

    Each line is ``word v1 v2 ... vd``, separated by single spaces; the word
    itself may contain spaces (the last d fields are the vector). A first
    line of exactly two integers (``count dim``, word2vec's header) is
    skipped. With ``vocabulary``, only those words are kept, which makes
    loading large files much faster. Raises ValueError naming the file and
    line for malformed lines.
    """
    table: Dict[str, np.ndarray] = {}
    dim = None
    with open(path, "rb") as handle:
        for line_number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n").rstrip(" ")
            except UnicodeDecodeError as error:
                raise ValueError(f"{path}, line {line_number}: invalid UTF-8 in word vector file ({error})") from error
            if not line:
                continue
            if dim is None:
                fields = line.split(" ")
                if line_number == 1 and len(fields) == 2 and all(field.isdigit() for field in fields):
                    dim = int(fields[1])
                    continue
                dim = len(fields) - 1
                if dim < 1:
                    raise ValueError(f"{path}, line {line_number}: expected 'word v1 v2 ...', got {line[:80]!r}")
            parts = line.rsplit(" ", dim)
            if len(parts) != dim + 1 or not parts[0]:
                raise ValueError(
                    f"{path}, line {line_number}: expected a word and {dim} numbers, got {len(parts) - 1} fields"
                )
            word = parts[0]
            if vocabulary is not None and word not in vocabulary:
                continue
            try:
                table[word] = np.array(parts[1:], dtype=np.float64)
            except ValueError as error:
                raise ValueError(f"{path}, line {line_number}: invalid number in vector of {word!r} ({error})") from error
    if dim is None:
        raise ValueError(f"word vector file {path} is empty")
    logger.info("read %d word vectors of size %d from %s", len(table), dim, path)
    return WordVectors(table, dim, path)


def _row_cosines(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Return the cosine of each row pair, 0 where a row has norm 0."""
    norms = np.linalg.norm(first, axis=1) * np.linalg.norm(second, axis=1)
    dots = np.einsum("ij,ij->i", first, second)
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


class _SegmentVectors:
    """Row numbers of the known tokens of many segments, with segment offsets.

    Tokens without a vector are dropped and counted in ``oov_tokens``.
    Each distinct known token gets the next row number in ``index`` and its
    vector is appended to ``rows_out``, so several instances can share one
    vector matrix. ``rows`` lists the row of every kept token, segment by
    segment.
    """

    def __init__(
        self,
        texts: Sequence[str],
        vectors: "WordVectors",
        index: Dict[str, int],
        rows_out: list,
        lowercase: bool,
        tokenize: Tokenizer,
    ):
        table = vectors.table
        rows: List[int] = []
        lengths = np.zeros(len(texts), dtype=np.int64)
        self.tokens = 0
        self.oov_tokens = 0
        for position, text in enumerate(texts):
            before = len(rows)
            tokens = tokenize(text)
            self.tokens += len(tokens)
            for token in tokens:
                key = token.lower() if lowercase else token
                row = index.get(key)
                if row is None:
                    vector = table.get(key)
                    if vector is None:
                        self.oov_tokens += 1
                        continue
                    row = index[key] = len(rows_out)
                    rows_out.append(vector)
                rows.append(row)
            lengths[position] = len(rows) - before
        self.rows = np.asarray(rows, dtype=np.int64)
        self.lengths = lengths
        self.starts = np.cumsum(lengths) - lengths

    def reduce(self, matrix: np.ndarray, operations: Sequence[np.ufunc]) -> List[np.ndarray]:
        """Return ``operation.reduceat`` over each segment's vectors for each operation.

        Each result has shape [segments, dim], with zeros for segments
        without known tokens.
        """
        results = [np.zeros((self.lengths.size, matrix.shape[1]), dtype=np.float64) for _ in operations]
        segments = np.flatnonzero(self.lengths > 0)
        # Gather at most about _GATHER_ROWS token vectors at a time.
        chunk = max(1, int(_GATHER_ROWS // max(self.lengths.mean(), 1.0)))
        for first in range(0, segments.size, chunk):
            part = segments[first : first + chunk]
            begin = self.starts[part[0]]
            end = self.starts[part[-1]] + self.lengths[part[-1]]
            gathered = matrix[self.rows[begin:end]]
            # Empty segments add no rows, so consecutive non-empty starts
            # delimit exactly one segment each.
            offsets = self.starts[part] - begin
            for result, operation in zip(results, operations):
                result[part] = operation.reduceat(gathered, offsets, axis=0)
        return results


_GATHER_ROWS = 50_000


def _sum_and_extrema(segments: _SegmentVectors, matrix: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Return the sum and the extrema vector of each segment's token vectors."""
    sums, maxima, minima = segments.reduce(matrix, (np.add, np.maximum, np.minimum))
    return sums, np.where(maxima >= np.abs(minima), maxima, minima)


def embedding_sentence_scores(
    hyps: Sequence[str],
    refs: Sequence[str],
    vectors: Union[WordVectors, Mapping[str, Sequence[float]]],
    lowercase: bool = False,
    tokenize: Tokenizer = whitespace_tokenize,
) -> Tuple[Dict[str, np.ndarray], Dict[str, object]]:
    """Return per-segment embedding scores and coverage figures.

    Returns ({"average", "extrema", "greedy": array [segments]}, info). See
    ``embedding_scores`` for the definitions. ``info`` contains the number
    of tokens, of tokens without a vector, and of segments that scored 0
    because the hypothesis or the reference had no token with a vector.
    """
    _check_same_length(hyps, refs)
    if not isinstance(vectors, WordVectors):
        vectors = WordVectors.from_mapping(vectors, source="in-memory table")
    index: Dict[str, int] = {}
    rows: list = []
    hyp_segments = _SegmentVectors(hyps, vectors, index, rows, lowercase, tokenize)
    ref_segments = _SegmentVectors(refs, vectors, index, rows, lowercase, tokenize)
    matrix = np.asarray(rows, dtype=np.float64).reshape(len(rows), vectors.dim)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)

    scored = (hyp_segments.lengths > 0) & (ref_segments.lengths > 0)
    hyp_sums, hyp_extrema = _sum_and_extrema(hyp_segments, matrix)
    ref_sums, ref_extrema = _sum_and_extrema(ref_segments, matrix)
    scores = {
        "average": _row_cosines(hyp_sums, ref_sums),
        "extrema": _row_cosines(hyp_extrema, ref_extrema),
        "greedy": np.zeros(len(hyps), dtype=np.float64),
    }
    # Greedy matching costs O(hyp tokens x ref tokens x dim) per segment.
    for position in np.flatnonzero(scored):
        hyp_start, ref_start = hyp_segments.starts[position], ref_segments.starts[position]
        hyp_unit = unit[hyp_segments.rows[hyp_start : hyp_start + hyp_segments.lengths[position]]]
        ref_unit = unit[ref_segments.rows[ref_start : ref_start + ref_segments.lengths[position]]]
        similarity = hyp_unit @ ref_unit.T
        scores["greedy"][position] = (similarity.max(axis=1).mean() + similarity.max(axis=0).mean()) / 2.0
    scores["average"][~scored] = 0.0
    scores["extrema"][~scored] = 0.0

    info = {
        "tokens": hyp_segments.tokens + ref_segments.tokens,
        "oov_tokens": hyp_segments.oov_tokens + ref_segments.oov_tokens,
        "segments_without_vectors": int((~scored).sum()),
        "source": vectors.source,
        "dim": vectors.dim,
        "lowercase": lowercase,
    }
    return scores, info


def embedding_scores(
    hyps: Sequence[str],
    refs: Sequence[str],
    vectors: Union[WordVectors, Mapping[str, Sequence[float]]],
    lowercase: bool = False,
    tokenize: Tokenizer = whitespace_tokenize,
) -> Dict[str, float]:
    """Return the embedding average, vector extrema and greedy matching scores.

    Definitions follow Liu et al. (2016), "How NOT To Evaluate Your Dialogue
    System", with e_w the vector of token w and only tokens that have a
    vector:

    * average: cosine of sum_w e_w over the hypothesis and over the reference
      (the cosine ignores the normalization by length);
    * extrema: cosine of the extrema vectors, whose dimension d is the
      max_w e_wd if it is >= |min_w e_wd| and min_w e_wd otherwise;
    * greedy: (G(h, r) + G(r, h)) / 2 with G(x, y) the mean over tokens of
      x of the best cosine with a token of y.

    Each score is a cosine in [-1, 1], averaged over segments. A segment
    whose hypothesis or reference has no token with a vector (an empty
    hypothesis, for instance) scores 0 for all three. With ``lowercase``
    tokens are lowercased before the lookup (GloVe's vocabulary is
    lowercase). ``vectors`` is a ``WordVectors`` or a {token: vector}
    mapping, for example a model's own embedding table.
    """
    per_sentence, _ = embedding_sentence_scores(hyps, refs, vectors, lowercase, tokenize)
    return {name: float(values.mean()) if len(values) else 0.0 for name, values in per_sentence.items()}


# ---------------------------------------------------------------------------
# Length
# ---------------------------------------------------------------------------


def sentence_lengths(texts: Sequence[str], tokenize: Tokenizer = whitespace_tokenize) -> np.ndarray:
    """Return the number of tokens of each text, as float64."""
    return np.fromiter((len(tokenize(text)) for text in texts), dtype=np.float64, count=len(texts))


def length_stats(hyps: Sequence[str]) -> Dict[str, float]:
    """Return {"mean", "median", "empty", "count"} of hypothesis lengths in whitespace tokens.

    "empty" counts hypotheses with no token (empty or whitespace only);
    they are included in the mean and median as length 0. "count" is the
    number of hypotheses. Mean and median are 0.0 for no hypotheses.
    """
    lengths = sentence_lengths(hyps)
    if lengths.size == 0:
        return {"mean": 0.0, "median": 0.0, "empty": 0, "count": 0}
    return {
        "mean": float(lengths.mean()),
        "median": float(np.median(lengths)),
        "empty": int((lengths == 0).sum()),
        "count": int(lengths.size),
    }


def _check_same_length(hyps: Sequence[str], refs: Sequence[str]) -> None:
    if len(hyps) != len(refs):
        raise ValueError(f"got {len(hyps)} hypotheses but {len(refs)} references; they must pair up line by line")
