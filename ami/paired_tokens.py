"""Token ids of paired segments and vectorised matching between the pairs.

A ``PairedTokens`` holds the tokens of N hypothesis segments and of the N
reference segments they are scored against, as integer ids over one shared
vocabulary. Its methods compute, for all pairs at once with numpy:

* clipped n-gram matches, sum over n-grams g of min(count in hypothesis,
  count in reference), the statistic of BLEU and ROUGE-N;
* the length of the longest common subsequence (LCS), the statistic of
  ROUGE-L;
* the hits of ROUGE-Lsum's summary-level LCS: the union, over hypothesis
  sentences, of the reference tokens on one LCS with each reference
  sentence, clipped by token counts. Which LCS is taken when there are
  several follows rouge-score's backtracking rule, because the union
  depends on it.

sacrebleu and rouge-score loop over segments and table cells in Python.
These functions give the same integers in a small fraction of the time,
and tests compare them on the same text. ami.metrics turns them into
scores.
"""

import itertools
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

# Upper bound on the cells of the dynamic-programming tables processed in
# one numpy batch (int32 cells, so about 4 bytes each).
_CELL_BUDGET = 1 << 22


def encode(token_lists: Sequence[Sequence[str]]) -> Tuple[np.ndarray, np.ndarray, List[str]]:
    """Return (ids, lengths, vocabulary) for a list of token lists.

    ``ids`` contains the id of every token, segment after segment.
    ``lengths`` gives the number of tokens of each segment and
    ``vocabulary[i]`` the token of id i. Ids are numbered in order of first
    occurrence.
    """
    lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
    tokens = list(itertools.chain.from_iterable(token_lists))
    # Each token first gets the position of its first occurrence as a
    # provisional id, with one C-level setdefault per token. A lookup table
    # then renumbers the provisional ids to 0..V-1.
    first_position: Dict[str, int] = {}
    provisional = np.fromiter(
        map(first_position.setdefault, tokens, range(len(tokens))), dtype=np.int64, count=len(tokens)
    )
    renumber = np.zeros(len(tokens), dtype=np.int64)
    renumber[np.fromiter(first_position.values(), dtype=np.int64, count=len(first_position))] = np.arange(
        len(first_position)
    )
    return renumber[provisional], lengths, list(first_position)


def _starts(lengths: np.ndarray) -> np.ndarray:
    return np.cumsum(lengths) - lengths


def _compact(keys: np.ndarray) -> Tuple[np.ndarray, int]:
    """Return (ids 0..K-1 numbering the distinct keys, K)."""
    if keys.size == 0:
        return np.zeros(0, dtype=np.int64), 0
    uniques, inverse = np.unique(keys, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64), int(uniques.size)


class PairedTokens:
    """Hypothesis and reference token ids of N segment pairs over one vocabulary.

    ``hyp_ids``/``ref_ids`` are flat id arrays, segment after segment, with
    ``hyp_lengths``/``ref_lengths`` tokens per segment. Ids are compared
    only for equality, so any integer coding in which equal tokens get
    equal ids works; ids must lie in 0 .. vocabulary_size - 1.
    """

    def __init__(
        self,
        hyp_ids: np.ndarray,
        hyp_lengths: np.ndarray,
        ref_ids: np.ndarray,
        ref_lengths: np.ndarray,
        vocabulary_size: int,
    ):
        if len(hyp_lengths) != len(ref_lengths):
            raise ValueError(f"got {len(hyp_lengths)} hypothesis segments but {len(ref_lengths)} reference segments")
        self.hyp_ids = np.asarray(hyp_ids, dtype=np.int64)
        self.ref_ids = np.asarray(ref_ids, dtype=np.int64)
        self.hyp_lengths = np.asarray(hyp_lengths, dtype=np.int64)
        self.ref_lengths = np.asarray(ref_lengths, dtype=np.int64)
        for name, ids, lengths in (("hypothesis", self.hyp_ids, self.hyp_lengths), ("reference", self.ref_ids, self.ref_lengths)):
            if int(lengths.sum()) != ids.size:
                raise ValueError(f"{name} lengths sum to {int(lengths.sum())} but there are {ids.size} token ids")
        for name, ids in (("hypothesis", self.hyp_ids), ("reference", self.ref_ids)):
            if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= max(int(vocabulary_size), 1)):
                raise ValueError(f"{name} token ids must lie in 0..{int(vocabulary_size) - 1}")
        self.hyp_starts = _starts(self.hyp_lengths)
        self.ref_starts = _starts(self.ref_lengths)
        self.num_pairs = len(self.hyp_lengths)
        self.vocabulary_size = max(int(vocabulary_size), 1)

    @classmethod
    def from_tokens(cls, hyp_tokens: Sequence[Sequence[str]], ref_tokens: Sequence[Sequence[str]]) -> "PairedTokens":
        """Encode token lists (one list per segment) with a shared vocabulary."""
        ids, lengths, vocabulary = encode(list(hyp_tokens) + list(ref_tokens))
        hyp_count = len(hyp_tokens)
        split = int(lengths[:hyp_count].sum())
        return cls(ids[:split], lengths[:hyp_count], ids[split:], lengths[hyp_count:], len(vocabulary))

    # ------------------------------------------------------------------
    # Clipped n-gram matches
    # ------------------------------------------------------------------

    def ngram_matches(self, max_order: int) -> np.ndarray:
        """Return clipped n-gram matches per pair, shape [pairs, max_order].

        Column n-1 is sum over n-grams g of min(count of g in the
        hypothesis, count of g in the reference) for order n. N-grams do
        not cross segment boundaries.
        """
        if max_order < 1:
            raise ValueError(f"n-gram order must be >= 1, got {max_order}")
        matches = np.zeros((self.num_pairs, max_order), dtype=np.int64)
        ids = np.concatenate([self.hyp_ids, self.ref_ids])
        is_ref = np.concatenate([np.zeros(self.hyp_ids.size, dtype=bool), np.ones(self.ref_ids.size, dtype=bool)])
        pairs = np.concatenate(
            [
                np.repeat(np.arange(self.num_pairs), self.hyp_lengths),
                np.repeat(np.arange(self.num_pairs), self.ref_lengths),
            ]
        )
        # Tokens from each position to the end of its segment.
        ends = np.concatenate(
            [np.repeat(self.hyp_starts + self.hyp_lengths, self.hyp_lengths),
             self.hyp_ids.size + np.repeat(self.ref_starts + self.ref_lengths, self.ref_lengths)]
        )
        positions = np.arange(ids.size)
        remaining = ends - positions
        # Level 1: one id per distinct (pair, token). Level k+1 extends the
        # level-k id of a position by the next token. Only positions whose
        # k-gram occurs on both sides of its pair can start a matching
        # (k+1)-gram, so the others are dropped before extending.
        gram_ids, num_grams = _compact(pairs * self.vocabulary_size + ids)
        for order in range(1, max_order + 1):
            hyp_counts = np.bincount(gram_ids[~is_ref], minlength=num_grams)
            ref_counts = np.bincount(gram_ids[is_ref], minlength=num_grams)
            shared = np.minimum(hyp_counts, ref_counts)
            pair_of_gram = np.zeros(num_grams, dtype=np.int64)
            pair_of_gram[gram_ids] = pairs
            matches[:, order - 1] = np.bincount(pair_of_gram, weights=shared, minlength=self.num_pairs).astype(np.int64)
            if order == max_order:
                break
            keep = (shared[gram_ids] > 0) & (remaining > order)
            positions, pairs, is_ref, remaining = positions[keep], pairs[keep], is_ref[keep], remaining[keep]
            gram_ids, num_grams = _compact(gram_ids[keep] * self.vocabulary_size + ids[positions + order])
            if num_grams == 0:
                break
        return matches

    # ------------------------------------------------------------------
    # Longest common subsequence
    # ------------------------------------------------------------------

    def lcs_lengths(self) -> np.ndarray:
        """Return the LCS length of each pair, shape [pairs]."""
        jobs = _Jobs.for_pairs(self, np.arange(self.num_pairs))
        result = np.zeros(self.num_pairs, dtype=np.int64)
        for batch, rows, cols in _ragged_batches(jobs.row_lengths, jobs.col_lengths):
            row_tokens, col_tokens, active = jobs.tokens(batch, rows, cols)
            previous = np.zeros((batch.size, cols + 1), dtype=np.int32)
            for row in range(rows):
                count = active[row]
                _next_row(previous[:count], row_tokens[:count, row], col_tokens[:count], previous[:count])
            result[batch] = previous[:, cols]
        return result

    def summary_lcs_hits(
        self,
        hyp_sentence_lengths: np.ndarray,
        hyp_sentence_counts: np.ndarray,
        ref_sentence_lengths: np.ndarray,
        ref_sentence_counts: np.ndarray,
        pairs: Optional[np.ndarray] = None,
    ) -> np.ndarray:
        """Return the hits of rouge-score's summary-level LCS per pair, shape [pairs].

        Sentences partition each segment: segment p of the hypothesis
        consists of ``hyp_sentence_counts[p]`` consecutive sentences whose
        token counts are the next entries of ``hyp_sentence_lengths``
        (likewise for references). For each reference sentence r, take the
        union U_r of the reference positions on one LCS of r with each
        hypothesis sentence. The hits are sum over tokens t of min(number
        of positions of t in all U_r, count of t in the hypothesis), which
        is what rouge-score's ``_summary_level_lcs`` counts with its
        decreasing token counters. With ``pairs`` (a boolean mask), only
        those pairs are computed and the others get 0.
        """
        hyp_sentence_lengths = np.asarray(hyp_sentence_lengths, dtype=np.int64)
        ref_sentence_lengths = np.asarray(ref_sentence_lengths, dtype=np.int64)
        hyp_sentence_counts = np.asarray(hyp_sentence_counts, dtype=np.int64)
        ref_sentence_counts = np.asarray(ref_sentence_counts, dtype=np.int64)
        for name, lengths, counts, tokens in (
            ("hypothesis", hyp_sentence_lengths, hyp_sentence_counts, self.hyp_lengths),
            ("reference", ref_sentence_lengths, ref_sentence_counts, self.ref_lengths),
        ):
            if counts.size != self.num_pairs or int(counts.sum()) != lengths.size:
                raise ValueError(f"{name} sentence counts do not match {self.num_pairs} segments and {lengths.size} sentences")
            per_segment = np.bincount(np.repeat(np.arange(self.num_pairs), counts), weights=lengths, minlength=self.num_pairs)
            if not np.array_equal(per_segment.astype(np.int64), tokens):
                raise ValueError(f"{name} sentence lengths do not add up to the segment lengths")

        jobs = _sentence_jobs(
            hyp_sentence_lengths, hyp_sentence_counts, self.hyp_starts,
            ref_sentence_lengths, ref_sentence_counts, self.ref_starts,
        )
        job_pairs, ref_start, ref_length, hyp_start, hyp_length = jobs
        selected = np.ones(self.num_pairs, dtype=bool) if pairs is None else np.asarray(pairs, dtype=bool)
        if selected.shape != (self.num_pairs,):
            raise ValueError(f"pairs must be a boolean mask of {self.num_pairs} entries, got shape {selected.shape}")
        keep = selected[job_pairs]
        ref_start, ref_length, hyp_start, hyp_length = ref_start[keep], ref_length[keep], hyp_start[keep], hyp_length[keep]
        # NOTE: each job keeps its whole table for the backtracking, so a pair of
        # sentences with 10,000 tokens each needs about 400 MB by itself.
        jobs = _Jobs.for_sentences(self, ref_start, ref_length, hyp_start, hyp_length)
        on_union = np.zeros(self.ref_ids.size, dtype=bool)
        for batch, rows, cols in _ragged_batches(jobs.row_lengths, jobs.col_lengths):
            row_tokens, col_tokens, active = jobs.tokens(batch, rows, cols)
            table = np.zeros((batch.size, rows + 1, cols + 1), dtype=np.int32)
            for row in range(rows):
                count = active[row]
                _next_row(table[:count, row], row_tokens[:count, row], col_tokens[:count], table[:count, row + 1])
            job_of_position, ref_position = _backtrack(
                table, row_tokens, col_tokens, jobs.row_lengths[batch], jobs.col_lengths[batch], jobs.transposed[batch]
            )
            on_union[ref_start[batch][job_of_position] + ref_position] = True

        # Clip the union's token counts by the hypothesis token counts.
        ref_pairs = np.repeat(np.arange(self.num_pairs), self.ref_lengths)[on_union]
        hyp_pairs = np.repeat(np.arange(self.num_pairs), self.hyp_lengths)
        hyp_selected = selected[hyp_pairs]
        hyp_pairs = hyp_pairs[hyp_selected]
        keys = np.concatenate([ref_pairs * self.vocabulary_size + self.ref_ids[on_union],
                               hyp_pairs * self.vocabulary_size + self.hyp_ids[hyp_selected]])
        gram_ids, num_grams = _compact(keys)
        union_counts = np.bincount(gram_ids[: ref_pairs.size], minlength=num_grams)
        hyp_counts = np.bincount(gram_ids[ref_pairs.size :], minlength=num_grams)
        pair_of_gram = np.zeros(num_grams, dtype=np.int64)
        pair_of_gram[gram_ids] = np.concatenate([ref_pairs, hyp_pairs])
        hits = np.bincount(pair_of_gram, weights=np.minimum(union_counts, hyp_counts), minlength=self.num_pairs)
        return hits.astype(np.int64)


def _next_row(previous: np.ndarray, row_token: np.ndarray, col_tokens: np.ndarray, out: np.ndarray) -> None:
    """Write LCS table row i+1 into ``out`` given row i in ``previous``, shape [batch, cols + 1].

    Cell j of row i+1 is max(row i at j, row i at j-1 + [tokens equal],
    row i+1 at j-1). The last term makes it a running maximum along the row.
    """
    equal = col_tokens == row_token[:, None]
    candidate = np.maximum(previous[:, 1:], previous[:, :-1] + equal)
    out[:, 0] = 0
    np.maximum.accumulate(candidate, axis=1, out=out[:, 1:])


def _backtrack(
    table: np.ndarray,
    row_tokens: np.ndarray,
    col_tokens: np.ndarray,
    row_lengths: np.ndarray,
    col_lengths: np.ndarray,
    transposed: np.ndarray,
) -> Tuple[np.ndarray, np.ndarray]:
    """Read one LCS per job from its table, with rouge-score's rule.

    rouge-score walks its table (rows: reference, columns: hypothesis)
    from the bottom-right cell (i, j). Equal tokens step diagonally and put
    reference position i-1 on the LCS. Otherwise it steps left if
    table[i, j-1] > table[i-1, j], else up. A ``transposed`` job has the
    hypothesis as rows, so there the same rule steps up on > and left
    otherwise, and the reference position is the column. Jobs are sorted
    by decreasing row length (see ``_ragged_batches``).

    The walk goes one table row per numpy step: in row i it moves left
    from its entry column to the nearest column where it must leave the
    row, found for all columns at once with a running maximum. Returns
    (job index, reference position) of every position on an LCS.
    """
    batch, rows_plus_one, cols_plus_one = table.shape
    columns = np.arange(1, cols_plus_one)
    column = col_lengths.astype(np.int64).copy()
    found_jobs: List[np.ndarray] = []
    found_positions: List[np.ndarray] = []
    # Jobs whose rows start at or below the current row form a prefix.
    started = np.searchsorted(-row_lengths, -np.arange(rows_plus_one), side="right")
    for row in range(rows_plus_one - 1, 0, -1):
        count = int(started[row])
        jobs = np.arange(count)
        current = column[:count]
        active = current > 0
        if not active.any():
            continue
        equal = col_tokens[:count] == row_tokens[:count, row - 1 : row]
        left = table[:count, row, :-1]
        up = table[:count, row - 1, 1:]
        flipped = transposed[:count, None]
        leave = equal | np.where(flipped, up > left, up >= left)
        last_exit = np.maximum.accumulate(np.where(leave, columns, 0), axis=1)
        exit_column = np.where(active, last_exit[jobs, np.maximum(current, 1) - 1], current)
        diagonal = active & (exit_column > 0) & equal[jobs, np.maximum(exit_column, 1) - 1]
        found_jobs.append(jobs[diagonal])
        found_positions.append(np.where(transposed[:count], exit_column - 1, row - 1)[diagonal])
        column[:count] = np.where(diagonal, exit_column - 1, exit_column)
    if not found_jobs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(found_jobs), np.concatenate(found_positions)


def _sentence_jobs(
    hyp_lengths: np.ndarray, hyp_counts: np.ndarray, hyp_segment_starts: np.ndarray,
    ref_lengths: np.ndarray, ref_counts: np.ndarray, ref_segment_starts: np.ndarray,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (segment pair, ref start, ref length, hyp start, hyp length) of every sentence pair within a segment pair.

    Starts are positions in the flat token arrays. Sentences without
    tokens are left out: their LCS is empty.
    """
    num_pairs = hyp_counts.size

    def sentences(lengths, counts, segment_starts):
        segment = np.repeat(np.arange(num_pairs), counts)
        first_sentence = np.cumsum(counts) - counts
        before = np.cumsum(lengths) - lengths
        starts = segment_starts[segment] + before - before[first_sentence[segment]]
        keep = lengths > 0
        return segment[keep], starts[keep], lengths[keep]

    hyp_segment, hyp_starts, hyp_kept = sentences(hyp_lengths, hyp_counts, hyp_segment_starts)
    ref_segment, ref_starts, ref_kept = sentences(ref_lengths, ref_counts, ref_segment_starts)
    # For every reference sentence, every hypothesis sentence of the same segment pair.
    hyp_per_segment = np.bincount(hyp_segment, minlength=num_pairs)
    hyp_first = np.cumsum(hyp_per_segment) - hyp_per_segment
    repeats = hyp_per_segment[ref_segment]
    ref_index = np.repeat(np.arange(ref_segment.size), repeats)
    within = np.arange(ref_index.size) - np.repeat(np.cumsum(repeats) - repeats, repeats)
    hyp_index = hyp_first[ref_segment[ref_index]] + within
    return ref_segment[ref_index], ref_starts[ref_index], ref_kept[ref_index], hyp_starts[hyp_index], hyp_kept[hyp_index]


def _bucket_sizes(lengths: np.ndarray) -> np.ndarray:
    """Round lengths up to a ladder of sizes (1..8, then steps of about 25%)."""
    top = int(lengths.max()) if lengths.size else 1
    ladder = list(range(1, 9))
    while ladder[-1] < top:
        ladder.append(int(np.ceil(ladder[-1] * 1.25)))
    ladder = np.asarray(ladder, dtype=np.int64)
    return ladder[np.searchsorted(ladder, lengths)]


class _Jobs:
    """LCS tables to fill: per job, the token runs that give its rows and columns.

    Starts index ``ids``, the hypothesis ids followed by the reference ids.
    The shorter side gives the rows, since each row costs one numpy step.
    ``transposed`` marks the jobs whose rows are the hypothesis.
    """

    def __init__(self, ids, hyp_start, hyp_length, ref_start, ref_length):
        self.ids = ids
        self.transposed = hyp_length < ref_length
        self.row_starts = np.where(self.transposed, hyp_start, ref_start)
        self.row_lengths = np.where(self.transposed, hyp_length, ref_length)
        self.col_starts = np.where(self.transposed, ref_start, hyp_start)
        self.col_lengths = np.where(self.transposed, ref_length, hyp_length)

    @classmethod
    def for_pairs(cls, paired: "PairedTokens", pairs: np.ndarray) -> "_Jobs":
        ids = np.concatenate([paired.hyp_ids, paired.ref_ids])
        offset = paired.hyp_ids.size
        return cls(ids, paired.hyp_starts[pairs], paired.hyp_lengths[pairs],
                   offset + paired.ref_starts[pairs], paired.ref_lengths[pairs])

    @classmethod
    def for_sentences(cls, paired: "PairedTokens", ref_start, ref_length, hyp_start, hyp_length) -> "_Jobs":
        ids = np.concatenate([paired.hyp_ids, paired.ref_ids])
        return cls(ids, hyp_start, hyp_length, paired.hyp_ids.size + ref_start, ref_length)

    def tokens(self, batch: np.ndarray, rows: int, cols: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return padded row tokens [B, rows], column tokens [B, cols] and,
        per row r, the number of jobs (a prefix of ``batch``) with more than r rows."""
        row_lengths = self.row_lengths[batch]
        row_tokens = _padded(self.ids, self.row_starts[batch], row_lengths, rows, fill=-1)
        col_tokens = _padded(self.ids, self.col_starts[batch], self.col_lengths[batch], cols, fill=-2)
        active = np.searchsorted(-row_lengths, -np.arange(rows), side="left")
        return row_tokens, col_tokens, active


def _ragged_batches(
    row_lengths: np.ndarray, col_lengths: np.ndarray, budget: int = _CELL_BUDGET
) -> Iterator[Tuple[np.ndarray, int, int]]:
    """Yield (job indices, rows, padded columns) for the jobs with both lengths > 0.

    Jobs whose column counts round up to the same size (``_bucket_sizes``)
    are sorted by decreasing row count and cut into batches of at most
    about ``budget`` table cells (a larger job goes alone). ``rows`` is the
    first job's row count. Row r of a batch only needs its jobs with more
    than r rows, which form a prefix, so shorter jobs cost no padding rows.
    """
    valid = np.flatnonzero((row_lengths > 0) & (col_lengths > 0))
    if valid.size == 0:
        return
    col_sizes = _bucket_sizes(col_lengths[valid])
    order = np.lexsort((-row_lengths[valid], col_sizes))
    valid, col_sizes = valid[order], col_sizes[order]
    boundaries = np.flatnonzero(np.diff(col_sizes) != 0) + 1
    for group in np.split(np.arange(valid.size), boundaries):
        cols = int(col_sizes[group[0]])
        first = 0
        while first < group.size:
            rows = int(row_lengths[valid[group[first]]])
            size = max(1, budget // ((rows + 1) * (cols + 1)))
            yield valid[group[first : first + size]], rows, cols
            first += size


def length_buckets(
    row_lengths: np.ndarray,
    col_lengths: np.ndarray,
    budget: int = _CELL_BUDGET,
    job_size: Callable[[int, int], int] = lambda rows, cols: (rows + 1) * (cols + 1),
) -> Iterator[Tuple[np.ndarray, int, int]]:
    """Yield (job indices, padded rows, padded columns) for the jobs with both lengths > 0.

    Jobs whose lengths round up to the same sizes (``_bucket_sizes``)
    share a padded shape. In each batch the jobs' ``job_size(rows, cols)``
    add up to at most ``budget`` (a single larger job goes alone).
    """
    valid = np.flatnonzero((row_lengths > 0) & (col_lengths > 0))
    if valid.size == 0:
        return
    row_sizes = _bucket_sizes(row_lengths[valid])
    col_sizes = _bucket_sizes(col_lengths[valid])
    order = np.lexsort((col_sizes, row_sizes))
    valid, row_sizes, col_sizes = valid[order], row_sizes[order], col_sizes[order]
    boundaries = np.flatnonzero((np.diff(row_sizes) != 0) | (np.diff(col_sizes) != 0)) + 1
    for group in np.split(np.arange(valid.size), boundaries):
        rows, cols = int(row_sizes[group[0]]), int(col_sizes[group[0]])
        batch = max(1, budget // job_size(rows, cols))
        for first in range(0, group.size, batch):
            yield valid[group[first : first + batch]], rows, cols


def _padded(ids: np.ndarray, starts: np.ndarray, lengths: np.ndarray, width: int, fill: int) -> np.ndarray:
    """Return [len(starts), width] token ids, ``fill`` after each segment's end."""
    offsets = np.arange(width)
    inside = offsets[None, :] < lengths[:, None]
    positions = np.where(inside, starts[:, None] + offsets[None, :], 0)
    return np.where(inside, ids[positions] if ids.size else fill, fill)
