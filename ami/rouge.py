"""ROUGE-N, ROUGE-L and ROUGE-Lsum as defined by the rouge-score package, and
an offline English sentence splitter for ROUGE-Lsum.

Two implementations give the same numbers:

* ``"ami"`` (default): tokenizes the whole corpus with one regular
  expression, stems each distinct word once, and computes n-gram matches,
  LCS lengths and the summary-level LCS for all segments at once with
  numpy (ami.paired_tokens);
* ``"rouge-score"``: calls ``rouge_score.rouge_scorer.RougeScorer`` on each
  segment, for checking the first.

Both follow rouge-score 0.1.2. The text is lowercased, every run of
characters outside [a-z0-9] becomes a space, and tokens longer than 3
characters are Porter-stemmed (optional). P, R and F1 come from clipped
n-gram counts, from the LCS, or from the union LCS over sentences with
rouge-score's backtracking and clipping.
"""

import logging
import re
import types
from functools import lru_cache
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np

from ami.paired_tokens import PairedTokens, encode
from ami.processes import chunk_bounds, cyclic_gc_paused, map_in_processes

logger = logging.getLogger(__name__)

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
IMPLEMENTATIONS = ("ami", "rouge-score")

# ---------------------------------------------------------------------------
# Sentence splitting
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
    Returns stripped non-empty sentences; "" gives []. Only whitespace is
    dropped between sentences.
    """
    sentences: List[str] = []
    for line in text.split("\n"):
        if "." not in line and "!" not in line and "?" not in line and "\u2026" not in line:
            sentences.append(line.strip())
            continue
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


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def rouge_sentence_scores(
    hyps: Sequence[str],
    refs: Sequence[str],
    use_stemmer: bool = True,
    rouge_types: Sequence[str] = ROUGE_TYPES,
    split: Callable[[str], List[str]] = split_sentences,
    workers: int = 1,
    implementation: str = "ami",
) -> Dict[str, np.ndarray]:
    """Return {rouge type: array [segments, 3]} of precision, recall and F1 in [0, 1].

    One reference per hypothesis. When rougeLsum is requested, both texts
    are first split into sentences by ``split`` and joined with newlines,
    which is how rouge-score marks sentences. Newlines do not change the
    other types, because the tokenizer lowercases the text, replaces every
    character outside [a-z0-9] with a space and (with ``use_stemmer``)
    applies the Porter stemmer to tokens longer than 3 characters. Text
    without [a-z0-9] characters, such as Chinese or Cyrillic, therefore has
    no tokens and scores 0. ``implementation`` is "ami" or "rouge-score"
    (see the module docstring); both give the same scores. ``workers`` > 1
    scores chunks of segments in that many processes; ``split`` must then
    be a module-level function.
    """
    if len(hyps) != len(refs):
        raise ValueError(f"got {len(hyps)} hypotheses but {len(refs)} references; they must pair up line by line")
    unknown = [rouge_type for rouge_type in rouge_types if not re.fullmatch(r"rouge([1-9]|L|Lsum)", rouge_type)]
    if unknown:
        raise ValueError(f"invalid ROUGE type(s) {unknown}; expected rouge1..rouge9, rougeL or rougeLsum")
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"invalid ROUGE implementation {implementation!r}; expected one of {', '.join(IMPLEMENTATIONS)}")
    chunk_function = _ami_chunk if implementation == "ami" else _rouge_score_chunk
    arguments = [
        (list(hyps[start:stop]), list(refs[start:stop]), use_stemmer, tuple(rouge_types), split)
        for start, stop in chunk_bounds(len(hyps), workers)
    ]
    parts = map_in_processes(chunk_function, arguments, workers)
    scores = {
        rouge_type: np.concatenate([part[0][rouge_type] for part in parts]).reshape(len(hyps), 3)
        for rouge_type in rouge_types
    }
    untokenizable = sum(part[1] for part in parts)
    if untokenizable:
        logger.warning(
            "%d of %d non-empty hypotheses have no ROUGE tokens and score 0: rouge-score keeps only "
            "[a-z0-9] after lowercasing, so punctuation-only text and text in other scripts have none",
            untokenizable,
            len(hyps),
        )
    return scores


def rouge(
    hyps: Sequence[str],
    refs: Sequence[str],
    use_stemmer: bool = True,
    rouge_types: Sequence[str] = ROUGE_TYPES,
    split: Callable[[str], List[str]] = split_sentences,
    workers: int = 1,
    implementation: str = "ami",
) -> Dict[str, Dict[str, float]]:
    """Return {rouge type: {"precision", "recall", "fmeasure"}}, each 0-100.

    Each figure is the mean over segments of the per-segment value. See
    ``rouge_sentence_scores`` for tokenization, sentence splitting,
    ``workers`` and ``implementation``.
    """
    per_sentence = rouge_sentence_scores(hyps, refs, use_stemmer, rouge_types, split, workers, implementation)
    result = {}
    for rouge_type, values in per_sentence.items():
        means = values.mean(axis=0) * 100.0 if len(values) else np.zeros(3)
        result[rouge_type] = {"precision": float(means[0]), "recall": float(means[1]), "fmeasure": float(means[2])}
    return result


# ---------------------------------------------------------------------------
# ami implementation
# ---------------------------------------------------------------------------

_VALID_TOKEN = re.compile(r"^[a-z0-9]+$")
# Markers put between texts and between sentences of a text before
# splitting the joined corpus; neither can be part of a token.
_TEXT_MARK = "\x00"
_SENTENCE_MARK = "|"


@lru_cache(maxsize=1)
def _porter_stemmer():
    from nltk.stem import porter

    # rouge-score's DefaultTokenizer uses PorterStemmer() with its defaults.
    return porter.PorterStemmer()


@lru_cache(maxsize=1 << 20)
def stem(word: str) -> str:
    """Return the Porter stem of ``word``, remembered for the process.

    Comparing several systems tokenizes the same references once per
    system, so most words are stemmed only the first time. Benchmarks clear
    the cache with ``stem.cache_clear()`` between timed runs.
    """
    return _porter_stemmer().stem(word)


def tokenize_corpus(
    texts: Sequence[str], use_stemmer: bool, sentences: bool = False
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, List[str]]:
    """Tokenize many texts as rouge-score does.

    Returns (ids, sentence lengths, sentence counts, vocabulary). Without
    ``sentences`` each text is one sentence. With ``sentences`` a newline
    separates sentences, as rouge-score's rougeLsum reads it; text i then
    has ``sentence counts[i]`` sentences, whose token counts come next in
    ``sentence lengths``. The tokens of each text equal
    ``rouge_score.tokenize.tokenize(text, stemmer)``. The corpus is joined
    into one string with a marker between texts, lowercased, cleaned with
    one regular expression (runs outside [a-z0-9] become a space) and split
    once. Each distinct word is stemmed once.
    """
    if not texts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, []
    joined = _TEXT_MARK.join(texts)
    if joined.count(_TEXT_MARK) != len(texts) - 1:
        # A text contains the marker itself; for rouge-score it is a separator.
        joined = _TEXT_MARK.join(text.replace(_TEXT_MARK, " ") for text in texts)
    keep = "\n" + _TEXT_MARK if sentences else _TEXT_MARK
    cleaned = re.sub(f"[^a-z0-9{keep}]+", " ", joined.lower())
    cleaned = cleaned.replace(_TEXT_MARK, f" {_TEXT_MARK} ")
    if sentences:
        cleaned = cleaned.replace("\n", f" {_SENTENCE_MARK} ")
    flat_ids, _, vocabulary = encode([cleaned.split()])
    marker_ids = {marker: vocabulary.index(marker) for marker in (_TEXT_MARK, _SENTENCE_MARK) if marker in vocabulary}
    is_text_end = flat_ids == marker_ids.get(_TEXT_MARK, -1)
    is_marker = is_text_end | (flat_ids == marker_ids.get(_SENTENCE_MARK, -1))
    # Sentence k ends at marker k; the last one ends the corpus.
    sentence_of_position = np.cumsum(is_marker) - is_marker
    num_sentences = int(is_marker.sum()) + 1
    text_of_sentence = np.concatenate([[0], np.cumsum(is_text_end[is_marker])])
    sentence_counts = np.bincount(text_of_sentence, minlength=len(texts)).astype(np.int64)
    ids = flat_ids[~is_marker]
    sentence_of_token = sentence_of_position[~is_marker]
    if use_stemmer:
        stem_ids: Dict[str, int] = {}
        remap = np.full(len(vocabulary), -1, dtype=np.int64)
        for word_id, word in enumerate(vocabulary):
            if word in (_TEXT_MARK, _SENTENCE_MARK):
                continue
            stemmed = stem(word) if len(word) > 3 else word
            if _VALID_TOKEN.match(stemmed):
                remap[word_id] = stem_ids.setdefault(stemmed, len(stem_ids))
        ids = remap[ids]
        has_valid_stem = ids >= 0
        ids, sentence_of_token = ids[has_valid_stem], sentence_of_token[has_valid_stem]
        vocabulary = list(stem_ids)
    sentence_lengths = np.bincount(sentence_of_token, minlength=num_sentences).astype(np.int64)
    return ids, sentence_lengths, sentence_counts, vocabulary


def _f1(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """rouge-score's F-measure 2PR / (P + R), 0 where P + R = 0."""
    total = precision + recall
    return np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)


def _score(matches: np.ndarray, hyp_counts: np.ndarray, ref_counts: np.ndarray, defined: np.ndarray) -> np.ndarray:
    """Return [segments, 3] of (P, R, F1) = matches / hyp count, matches / ref count, or 0 where not ``defined``."""
    defined = defined & (hyp_counts > 0) & (ref_counts > 0)
    precision = np.divide(matches, hyp_counts, out=np.zeros(matches.shape, dtype=np.float64), where=defined)
    recall = np.divide(matches, ref_counts, out=np.zeros(matches.shape, dtype=np.float64), where=defined)
    return np.stack([precision, recall, _f1(precision, recall)], axis=1)


def _ami_chunk(hyps, refs, use_stemmer, rouge_types, split):
    """Return ({type: array [segments, 3]}, hypotheses without ROUGE tokens) for one chunk."""
    with cyclic_gc_paused():
        return _ami_scores(hyps, refs, use_stemmer, rouge_types, split)


def _ami_scores(hyps, refs, use_stemmer, rouge_types, split):
    count = len(hyps)
    needs_lsum = "rougeLsum" in rouge_types
    texts = list(hyps) + list(refs)
    if needs_lsum:
        texts = ["\n".join(split(text)) for text in texts]
    ids, sentence_lengths, sentence_counts, vocabulary = tokenize_corpus(texts, use_stemmer, sentences=needs_lsum)
    # Tokens of a text are those of its sentences one after the other.
    segment_of_sentence = np.repeat(np.arange(2 * count), sentence_counts)
    lengths = np.bincount(segment_of_sentence, weights=sentence_lengths, minlength=2 * count).astype(np.int64)
    split_at = int(lengths[:count].sum())
    paired = PairedTokens(ids[:split_at], lengths[:count], ids[split_at:], lengths[count:], len(vocabulary))
    hyp_lengths, ref_lengths = paired.hyp_lengths, paired.ref_lengths
    everywhere = np.ones(count, dtype=bool)

    scores: Dict[str, np.ndarray] = {}
    orders = sorted({int(rouge_type[5:]) for rouge_type in rouge_types if rouge_type[5:].isdigit()})
    if orders:
        matches = paired.ngram_matches(max(orders))
        for order in orders:
            hyp_ngrams = np.maximum(hyp_lengths - order + 1, 0)
            ref_ngrams = np.maximum(ref_lengths - order + 1, 0)
            # rouge-score divides by max(count, 1), so an empty side gives 0.
            scores[f"rouge{order}"] = _score(
                matches[:, order - 1], np.maximum(hyp_ngrams, 1), np.maximum(ref_ngrams, 1), everywhere
            )
    if "rougeL" in rouge_types or needs_lsum:
        lcs = paired.lcs_lengths()
        scores["rougeL"] = _score(lcs, hyp_lengths, ref_lengths, everywhere)
    if needs_lsum:
        hyp_sentence_counts, ref_sentence_counts = sentence_counts[:count], sentence_counts[count:]
        sentences_before_refs = int(hyp_sentence_counts.sum())
        # With at most one sentence on each side, the summary-level LCS is the LCS.
        several = (hyp_sentence_counts > 1) | (ref_sentence_counts > 1)
        hits = lcs.copy()
        if several.any():
            summary = paired.summary_lcs_hits(
                sentence_lengths[:sentences_before_refs],
                hyp_sentence_counts,
                sentence_lengths[sentences_before_refs:],
                ref_sentence_counts,
                pairs=several,
            )
            hits[several] = summary[several]
        scores["rougeLsum"] = _score(hits, hyp_lengths, ref_lengths, everywhere)
    untokenizable = sum(1 for hyp, length in zip(hyps, hyp_lengths.tolist()) if length == 0 and hyp.strip())
    return {rouge_type: scores[rouge_type] for rouge_type in rouge_types}, untokenizable


# ---------------------------------------------------------------------------
# rouge-score implementation
# ---------------------------------------------------------------------------

_ROUGE_TOKEN_CACHE_SIZE = 1 << 18


class _CachedRougeTokenizer:
    """rouge-score's default tokenizer with memoized stemming and a cache per text.

    ``tokenize`` calls ``rouge_score.tokenize.tokenize`` with the same
    stemmer that ``DefaultTokenizer`` uses, so tokens are identical. The
    stemmer is the slow part and most words repeat.
    """

    def __init__(self, use_stemmer: bool):
        # rouge-score calls stemmer.stem(word); this module's cached stem does the same work.
        self._stemmer = types.SimpleNamespace(stem=stem) if use_stemmer else None
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


def _rouge_score_chunk(hyps, refs, use_stemmer, rouge_types, split):
    """Return ({type: array [segments, 3]}, hypotheses without ROUGE tokens) for one chunk, from rouge-score."""
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
