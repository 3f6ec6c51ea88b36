"""Corpus-level metrics for generated text: BLEU, distinct-n, entropy-n,
ROUGE, embedding similarity and length statistics.

Every function takes detokenized text, one string per segment. Unless a
docstring states otherwise, a token is an item of ``text.split()``, that is,
the text is split on runs of whitespace and nothing else is normalized.
BLEU and ROUGE tokenize as their packages do (sacrebleu 2.x, rouge-score
0.1.x) and give exactly those packages' scores. By default ami computes
their statistics with numpy for all segments at once (ami.bleu_tokenize,
ami.paired_tokens, ami.rouge); ``implementation="sacrebleu"`` and
``implementation="rouge-score"`` run the packages' own code instead.

Alongside each metric there is a function for its per-segment sufficient
statistics (``bleu_statistics``, ``NgramCounts``, ``rouge_sentence_scores``,
``embedding_sentence_scores``). ami.bootstrap resamples those statistics
instead of recomputing the metric from text.
"""

import itertools
import logging
import math
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ami.bleu_tokenize import tokenize_segments
from ami.paired_tokens import PairedTokens, encode, length_buckets
from ami.processes import chunk_bounds, cyclic_gc_paused, map_in_processes
from ami.rouge import ROUGE_TYPES, rouge, rouge_sentence_scores, split_sentences  # noqa: F401 (re-exported)

logger = logging.getLogger(__name__)

Tokenizer = Callable[[str], List[str]]

BLEU_MAX_ORDER = 4
EMBEDDING_SCORES = ("average", "extrema", "greedy")


def whitespace_tokenize(text: str) -> List[str]:
    """Split ``text`` on runs of whitespace; the tokenizer of all ami metrics
    except BLEU and ROUGE."""
    return text.split()


@dataclass
class EncodedTexts:
    """Texts as token ids: ``ids`` segment after segment, ``lengths`` per
    segment, ``vocabulary[i]`` the token of id i."""

    ids: np.ndarray
    lengths: np.ndarray
    vocabulary: List[str]

    @classmethod
    def from_texts(cls, texts: Sequence[str], tokenize: Tokenizer = whitespace_tokenize) -> "EncodedTexts":
        with cyclic_gc_paused():
            return cls(*encode([tokenize(text) for text in texts]))

    def segments(self, start: int, stop: int) -> Tuple[np.ndarray, np.ndarray]:
        """Return (ids, lengths) of segments start .. stop-1."""
        offsets = np.concatenate([[0], np.cumsum(self.lengths)])
        return self.ids[offsets[start] : offsets[stop]], self.lengths[start:stop]


# ---------------------------------------------------------------------------
# Distinct-n and entropy-n
# ---------------------------------------------------------------------------


class TokenizedCorpus:
    """Hypotheses as integer token ids, with cached n-gram counts per order.

    Build one per hypothesis list and pass it to ``distinct_n`` and
    ``entropy_n`` in place of the strings, so the text is tokenized once for
    all orders. ``from_ids`` wraps ids encoded elsewhere.
    """

    def __init__(self, texts: Sequence[str], tokenize: Tokenizer = whitespace_tokenize):
        with cyclic_gc_paused():
            token_ids, lengths, vocabulary = encode([tokenize(text) for text in texts])
        self._set(token_ids, lengths, len(vocabulary))

    @classmethod
    def from_ids(cls, token_ids: np.ndarray, lengths: np.ndarray, vocabulary_size: int) -> "TokenizedCorpus":
        """Wrap token ids (segment after segment, ids below ``vocabulary_size``)."""
        corpus = cls.__new__(cls)
        corpus._set(np.asarray(token_ids, dtype=np.int64), np.asarray(lengths, dtype=np.int64), vocabulary_size)
        return corpus

    def _set(self, token_ids: np.ndarray, lengths: np.ndarray, vocabulary_size: int) -> None:
        if int(lengths.sum()) != token_ids.size:
            raise ValueError(f"segment lengths sum to {int(lengths.sum())} but there are {token_ids.size} token ids")
        self.token_ids = token_ids
        self.lengths = lengths
        self.num_sentences = len(lengths)
        self.vocabulary_size = vocabulary_size
        self._ngrams: Dict[int, "NgramCounts"] = {}
        self._position_grams: Dict[int, np.ndarray] = {1: token_ids}

    def ngrams(self, n: int) -> "NgramCounts":
        """Return the n-gram occurrences of order ``n`` (computed once)."""
        if n < 1:
            raise ValueError(f"n-gram order must be >= 1, got {n}")
        if n not in self._ngrams:
            self._ngrams[n] = NgramCounts.from_corpus(self, n)
        return self._ngrams[n]

    def position_grams(self, n: int) -> np.ndarray:
        """Return an id for the n tokens starting at each position 0 .. T-n.

        Equal ids mean equal n-token sequences; sequences may cross segment
        boundaries. Each order extends the longest order computed so far
        by one token at a time, renumbering compactly so that keys stay
        below types * V < 2**63.
        """
        known = max(order for order in self._position_grams if order <= n)
        gram_ids = self._position_grams[known]
        total = self.token_ids.shape[0]
        vocabulary_size = max(self.vocabulary_size, 1)
        for order in range(known + 1, n + 1):
            keys = gram_ids[: total - order + 1] * vocabulary_size + self.token_ids[order - 1 :]
            _, gram_ids = np.unique(keys, return_inverse=True)
            gram_ids = gram_ids.reshape(-1)
            self._position_grams[order] = gram_ids
        return gram_ids


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

        # Positions whose n-gram crosses a segment boundary are dropped here;
        # the ids of the others are renumbered to 0 .. types-1.
        gram_ids = corpus.position_grams(n)[first]
        used = np.zeros(int(gram_ids.max()) + 1, dtype=bool)
        used[gram_ids] = True
        renumber = np.cumsum(used) - 1
        ngram_ids = renumber[gram_ids].astype(np.int64)
        return cls(n, ngram_ids, sentence_ids, int(used.sum()), corpus.num_sentences)

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


BLEU_IMPLEMENTATIONS = ("ami", "sacrebleu")


def bleu_statistics(
    hyps: Sequence[str], refs: Sequence[str], workers: int = 1, implementation: str = "ami", **scorer_options
) -> np.ndarray:
    """Return sacrebleu's per-segment BLEU statistics, shape [segments, 10].

    Columns: hypothesis length, closest reference length, matching n-grams
    for n = 1..4, hypothesis n-grams for n = 1..4 (sacrebleu's layout). Their
    column sums give exactly sacrebleu's corpus BLEU. ``scorer_options`` go
    to ``make_bleu_scorer`` (max_ngram_order is fixed at 4). ``workers`` > 1
    extracts chunks of segments in that many processes.

    ``implementation="ami"`` (default) tokenizes the corpus as sacrebleu
    does (ami.bleu_tokenize) and counts the clipped n-gram matches of all
    segments at once with numpy (ami.paired_tokens);
    ``implementation="sacrebleu"`` calls sacrebleu's per-segment extraction.
    Both give the same integers (tests compare them).
    """
    _check_same_length(hyps, refs)
    if implementation not in BLEU_IMPLEMENTATIONS:
        raise ValueError(
            f"invalid BLEU implementation {implementation!r}; expected one of {', '.join(BLEU_IMPLEMENTATIONS)}"
        )
    chunk_function = _bleu_statistics_chunk if implementation == "ami" else _sacrebleu_statistics_chunk
    arguments = [
        (list(hyps[start:stop]), list(refs[start:stop]), scorer_options)
        for start, stop in chunk_bounds(len(hyps), workers)
    ]
    parts = map_in_processes(chunk_function, arguments, workers)
    return np.concatenate(parts).reshape(len(hyps), 2 + 2 * BLEU_MAX_ORDER)


def _sacrebleu_statistics_chunk(hyps: List[str], refs: List[str], scorer_options: dict) -> np.ndarray:
    scorer = make_bleu_scorer(**scorer_options)
    # NOTE: _extract_corpus_statistics is private sacrebleu API (2.0 to 2.6);
    # tests check the result against BLEU.corpus_score.
    stats = scorer._extract_corpus_statistics(hyps, [refs])
    return np.asarray(stats, dtype=np.int64).reshape(len(hyps), 2 + 2 * BLEU_MAX_ORDER)


def _bleu_statistics_chunk(hyps: List[str], refs: List[str], scorer_options: dict) -> np.ndarray:
    scorer = make_bleu_scorer(**scorer_options)
    with cyclic_gc_paused():
        token_lists = tokenize_segments(hyps + refs, scorer)
        paired = PairedTokens.from_tokens(token_lists[: len(hyps)], token_lists[len(hyps) :])
    matches = paired.ngram_matches(BLEU_MAX_ORDER)
    orders = np.arange(1, BLEU_MAX_ORDER + 1)
    totals = np.maximum(paired.hyp_lengths[:, None] - orders[None, :] + 1, 0)
    # One reference per segment, so the closest reference length is its length.
    return np.concatenate(
        [paired.hyp_lengths[:, None], paired.ref_lengths[:, None], matches, totals], axis=1
    ).astype(np.int64)


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
    implementation: str = "ami",
) -> Tuple[float, str, Dict[str, object]]:
    """Compute sacrebleu's corpus BLEU (0-100) against one reference per hypothesis.

    Returns (score, signature, extra). The signature is sacrebleu's
    reproducibility string, e.g. ``nrefs:1|case:mixed|eff:no|tok:13a|
    smooth:exp|version:2.6.0``. ``extra`` contains the four n-gram precisions,
    brevity penalty, length ratio, hypothesis and reference lengths and the
    per-segment statistics (``stats``, see ``bleu_statistics``). The score
    equals ``BLEU(...).corpus_score(hyps, [refs]).score``. Pass ``stats``
    from ``bleu_statistics`` with the same options to skip recomputing them;
    ``workers`` and ``implementation`` go to ``bleu_statistics``.
    """
    options = dict(tokenize=tokenize, lowercase=lowercase, smooth_method=smooth_method, smooth_value=smooth_value)
    if stats is None:
        stats = bleu_statistics(hyps, refs, workers=workers, implementation=implementation, **options)
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


# Floats gathered and similarities computed at a time in embedding scores.
_GATHER_BUDGET = 1 << 22
# Longest padded segment whose token vectors are summed in float32.
_FLOAT32_SUM_WIDTH = 64


def _cosines(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Return the cosine of each row pair (last axis), 0 where a row has norm 0."""
    dots = np.einsum("ij,ij->i", first, second)
    norms = np.sqrt(np.einsum("ij,ij->i", first, first) * np.einsum("ij,ij->i", second, second))
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


def _extrema(maxima: np.ndarray, minima: np.ndarray) -> np.ndarray:
    return np.where(maxima >= np.abs(minima), maxima, minima).astype(np.float64)


def _pair_embedding_scores(
    hyp_rows: np.ndarray, hyp_lengths: np.ndarray, ref_rows: np.ndarray, ref_lengths: np.ndarray, matrix: np.ndarray
) -> Dict[str, np.ndarray]:
    """Return {"average", "extrema", "greedy": array [segments]}, with 0 where a side has no token.

    ``hyp_rows``/``ref_rows`` list the matrix row of every token, segment
    after segment. Pairs of similar lengths are processed together: their
    token vectors are gathered once into padded arrays, from which come
    the sums, the extrema vectors and, by one batched matrix product, the
    cosine matrix of greedy matching. Padding repeats a segment's first
    token, which changes no maximum or minimum; its share of the sums and
    of the greedy means is subtracted.
    """
    count, dim = hyp_lengths.size, matrix.shape[1]
    scores = {name: np.zeros(count, dtype=np.float64) for name in EMBEDDING_SCORES}
    norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))
    inverse_norms = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    hyp_starts = np.cumsum(hyp_lengths) - hyp_lengths
    ref_starts = np.cumsum(ref_lengths) - ref_lengths

    def job_size(rows: int, cols: int) -> int:
        return (rows + cols) * dim + rows * cols

    for chunk, rows, cols in length_buckets(hyp_lengths, ref_lengths, _GATHER_BUDGET, job_size):
        sides = []
        for flat_rows, starts, lengths, width in (
            (hyp_rows, hyp_starts[chunk], hyp_lengths[chunk], rows),
            (ref_rows, ref_starts[chunk], ref_lengths[chunk], cols),
        ):
            offsets = np.arange(width)
            positions = starts[:, None] + np.where(offsets[None, :] < lengths[:, None], offsets[None, :], 0)
            token_rows = flat_rows[positions]
            vectors = matrix[token_rows]
            repeats = (width - lengths).astype(np.float64)
            # float32 sums lose about width * 6e-8 of relative precision at worst.
            sums = vectors.sum(axis=1, dtype=np.float32 if width <= _FLOAT32_SUM_WIDTH else np.float64)
            sums = sums.astype(np.float64) - repeats[:, None] * vectors[:, 0, :]
            extrema = _extrema(vectors.max(axis=1), vectors.min(axis=1))
            sides.append((vectors, inverse_norms[token_rows], lengths, repeats, sums, extrema))
        (hyp_vectors, hyp_scale, hyp_len, hyp_repeats, hyp_sums, hyp_extrema) = sides[0]
        (ref_vectors, ref_scale, ref_len, ref_repeats, ref_sums, ref_extrema) = sides[1]
        scores["average"][chunk] = _cosines(hyp_sums, ref_sums)
        scores["extrema"][chunk] = _cosines(hyp_extrema, ref_extrema)
        # Cosine matrices in blocks of hypothesis rows, so that one very long
        # pair does not need rows x cols floats at once.
        best_for_hyp = np.empty((chunk.size, rows), dtype=matrix.dtype)
        best_for_ref = np.full((chunk.size, cols), -np.inf, dtype=matrix.dtype)
        block = max(1, _GATHER_BUDGET // (chunk.size * cols))
        ref_transposed = ref_vectors.transpose(0, 2, 1)
        for first in range(0, rows, block):
            similarity = np.matmul(hyp_vectors[:, first : first + block], ref_transposed)
            similarity *= hyp_scale[:, first : first + block, None]
            similarity *= ref_scale[:, None, :]
            best_for_hyp[:, first : first + block] = similarity.max(axis=2)
            np.maximum(best_for_ref, similarity.max(axis=1), out=best_for_ref)
        hyp_mean = (best_for_hyp.sum(axis=1, dtype=np.float64) - hyp_repeats * best_for_hyp[:, 0]) / hyp_len
        ref_mean = (best_for_ref.sum(axis=1, dtype=np.float64) - ref_repeats * best_for_ref[:, 0]) / ref_len
        scores["greedy"][chunk] = (hyp_mean + ref_mean) / 2.0
    return scores


def embedding_sentence_scores(
    hyps: Sequence[str],
    refs: Sequence[str],
    vectors: Union[WordVectors, Mapping[str, Sequence[float]]],
    lowercase: bool = False,
    tokenize: Tokenizer = whitespace_tokenize,
    encoded: Optional["EncodedTexts"] = None,
) -> Tuple[Dict[str, np.ndarray], Dict[str, object]]:
    """Return per-segment embedding scores and coverage figures.

    Returns ({"average", "extrema", "greedy": array [segments]}, info). See
    ``embedding_scores`` for the definitions. ``info`` contains the number
    of tokens, of tokens without a vector, and of segments that scored 0
    because the hypothesis or the reference had no token with a vector.
    Vectors are used in float32; sums of long segments and means are taken
    in float64. ``encoded``, if given, is ``EncodedTexts.from_texts(hyps +
    refs, tokenize)`` computed earlier.
    """
    _check_same_length(hyps, refs)
    if not isinstance(vectors, WordVectors):
        vectors = WordVectors.from_mapping(vectors, source="in-memory table")
    if encoded is None:
        encoded = EncodedTexts.from_texts(list(itertools.chain(hyps, refs)), tokenize)
    if encoded.lengths.size != 2 * len(hyps):
        raise ValueError(f"encoded texts hold {encoded.lengths.size} segments, expected {2 * len(hyps)} (hypotheses then references)")
    ids, lengths, vocabulary = encoded.ids, encoded.lengths, encoded.vocabulary
    # Look each distinct token up once; row -1 means no vector.
    table = vectors.table
    known_rows: Dict[str, int] = {}
    found: List[np.ndarray] = []
    row_of_word = np.full(len(vocabulary), -1, dtype=np.int64)
    for word_id, word in enumerate(vocabulary):
        key = word.lower() if lowercase else word
        row = known_rows.get(key)
        if row is None:
            vector = table.get(key)
            if vector is None:
                continue
            row = known_rows[key] = len(found)
            found.append(vector)
        row_of_word[word_id] = row
    matrix = np.asarray(found, dtype=np.float32).reshape(len(found), vectors.dim)

    rows = row_of_word[ids] if ids.size else ids
    known = rows >= 0
    segment = np.repeat(np.arange(lengths.size), lengths)
    known_lengths = np.bincount(segment[known], minlength=lengths.size).astype(np.int64)
    rows = rows[known]
    count = len(hyps)
    split_at = int(known_lengths[:count].sum())
    hyp_lengths, ref_lengths = known_lengths[:count], known_lengths[count:]
    scored = (hyp_lengths > 0) & (ref_lengths > 0)
    scores = _pair_embedding_scores(rows[:split_at], hyp_lengths, rows[split_at:], ref_lengths, matrix)

    info = {
        "tokens": int(lengths.sum()),
        "oov_tokens": int((~known).sum()),
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


def length_stats(hyps: Sequence[str], lengths: Optional[np.ndarray] = None) -> Dict[str, float]:
    """Return {"mean", "median", "empty", "count"} of hypothesis lengths in whitespace tokens.

    "empty" counts hypotheses with no token (empty or whitespace only);
    they are included in the mean and median as length 0. "count" is the
    number of hypotheses. Mean and median are 0.0 for no hypotheses. Pass
    ``lengths`` (``sentence_lengths(hyps)``) if already computed.
    """
    if lengths is None:
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
