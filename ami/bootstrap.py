"""Paired bootstrap resampling (Koehn, 2004, "Statistical Significance Tests
for Machine Translation Evaluation") for corpus-level metrics.

A resample draws n segment indices uniformly with replacement from the n
test segments. It is represented by a weight vector: how often each segment
was drawn. All systems are scored on the same resamples (that is what makes
the test paired), and each metric is recomputed from per-segment sufficient
statistics weighted by that vector, not from text:

* BLEU: sacrebleu's per-segment lengths and n-gram match counts, summed
  with the weights, then sacrebleu's ``BLEU.compute_bleu``;
* distinct-n and entropy-n: n-gram type counts of the resampled corpus;
* averages of per-segment values (ROUGE, embedding scores, mean length):
  weighted means; the median length: the median of the resampled multiset.

For the difference d = metric(system) - metric(baseline) this module
reports the observed d on the full test set, the mean of d over resamples,
the 2.5th and 97.5th percentiles of d over resamples (a 95% percentile
interval), and p: the share of resamples in which d has the opposite sign
of the observed d or is 0 (p = 1 when the observed d is 0). A small p
means the sign of the difference is stable under resampling.

Corpus-level distinct-n and entropy-n are lower on a resample than on the
test set, because drawing with replacement repeats segments and so their
n-grams. The resampled d of these metrics can then lie mostly on one side
of the observed d, and the percentile interval can even exclude it. For
such columns (``recentre=True``) the interval and p are computed from the
resampled d shifted so that their mean is the observed d. The bootstrap
then gives the spread of d and the test set gives its location.
"""

import logging
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Mapping, Optional, Sequence

import numpy as np

from ami.metrics import (
    BLEU_MAX_ORDER,
    NgramCounts,
    bleu_from_statistics,
    distinct_from_counts,
    entropy_from_counts,
)

logger = logging.getLogger(__name__)

# A resampler maps segment weights, shape [resamples, segments], to
# {column name: metric value per resample, shape [resamples]}.
Resampler = Callable[[np.ndarray], Dict[str, np.ndarray]]

# Upper bound on resamples x segments held in memory at once (8 bytes each).
_MAX_CHUNK_ELEMENTS = 4_000_000


def resample_weights(
    num_segments: int, num_resamples: int, seed: int, chunk_size: Optional[int] = None
) -> Iterator[np.ndarray]:
    """Yield weight matrices [chunk, num_segments] for ``num_resamples`` resamples.

    Row r contains how often each segment was drawn in resample r, so each
    row sums to ``num_segments``. The sequence depends only on ``seed``,
    ``num_segments`` and ``num_resamples``, not on ``chunk_size``.
    """
    if num_segments < 1:
        raise ValueError("bootstrap resampling needs at least one segment")
    if chunk_size is None:
        chunk_size = max(1, min(num_resamples, _MAX_CHUNK_ELEMENTS // num_segments))
    rng = np.random.default_rng(seed)
    done = 0
    while done < num_resamples:
        rows = min(chunk_size, num_resamples - done)
        offsets = np.arange(rows)[:, None] * num_segments
        # Draw row by row from the same generator, so chunking does not change the draws.
        draws = np.stack([rng.integers(0, num_segments, size=num_segments) for _ in range(rows)])
        counts = np.bincount((draws + offsets).ravel(), minlength=rows * num_segments)
        yield counts.reshape(rows, num_segments).astype(np.float64)
        done += rows


def mean_resampler(values: Mapping[str, np.ndarray], scale: float = 1.0) -> Resampler:
    """Resample the mean of per-segment values, times ``scale``, for each column."""
    columns = list(values)
    matrix = np.stack([np.asarray(values[column], dtype=np.float64) for column in columns], axis=1)

    def resample(weights: np.ndarray) -> Dict[str, np.ndarray]:
        means = weights @ matrix / weights.sum(axis=1, keepdims=True) * scale
        return {column: means[:, index] for index, column in enumerate(columns)}

    return resample


def masked_mean_resampler(column: str, values: np.ndarray, mask: np.ndarray) -> Resampler:
    """Resample the mean of ``values`` over segments where ``mask`` is true (0.0 if none drawn)."""
    masked = np.where(mask, values, 0.0)
    indicator = mask.astype(np.float64)

    def resample(weights: np.ndarray) -> Dict[str, np.ndarray]:
        numerator = weights @ masked
        denominator = weights @ indicator
        safe = np.where(denominator > 0, denominator, 1.0)
        return {column: np.where(denominator > 0, numerator / safe, 0.0)}

    return resample


def sum_resampler(column: str, values: np.ndarray) -> Resampler:
    """Resample the sum of per-segment values (e.g. the number of empty outputs)."""
    vector = np.asarray(values, dtype=np.float64)

    def resample(weights: np.ndarray) -> Dict[str, np.ndarray]:
        return {column: weights @ vector}

    return resample


def median_resampler(column: str, values: np.ndarray) -> Resampler:
    """Resample ``np.median`` of per-segment values: the median of the drawn multiset."""
    order = np.argsort(values, kind="stable")
    sorted_values = np.asarray(values, dtype=np.float64)[order]

    def resample(weights: np.ndarray) -> Dict[str, np.ndarray]:
        cumulative = np.cumsum(weights[:, order], axis=1)
        total = int(round(cumulative[0, -1]))
        lower_rank, upper_rank = (total - 1) // 2, total // 2
        medians = np.empty(weights.shape[0])
        for row in range(weights.shape[0]):
            # The element of 0-based rank r is the first whose cumulative count exceeds r.
            lower, upper = np.searchsorted(cumulative[row], [lower_rank, upper_rank], side="right")
            medians[row] = (sorted_values[lower] + sorted_values[upper]) / 2.0
        return {column: medians}

    return resample


def bleu_resampler(
    stats: np.ndarray,
    columns: Mapping[str, Dict[str, object]],
) -> Resampler:
    """Resample BLEU scores from per-segment sacrebleu statistics.

    ``stats`` is the output of ``ami.metrics.bleu_statistics``. ``columns``
    maps a column name to keyword arguments of
    ``ami.metrics.bleu_from_statistics`` (order, kind, smoothing), e.g.
    {"bleu": {}} for standard BLEU.
    """
    matrix = np.asarray(stats, dtype=np.float64)
    if matrix.shape[1] != 2 + 2 * BLEU_MAX_ORDER:
        raise ValueError(f"expected BLEU statistics with {2 + 2 * BLEU_MAX_ORDER} columns, got {matrix.shape[1]}")

    def resample(weights: np.ndarray) -> Dict[str, np.ndarray]:
        # Weights are integer counts, so the sums are exact integers.
        sums = np.rint(weights @ matrix).astype(np.int64)
        result = {column: np.empty(weights.shape[0]) for column in columns}
        for row in range(weights.shape[0]):
            for column, options in columns.items():
                result[column][row] = bleu_from_statistics(sums[row], **options)
        return result

    return resample


def ngram_resampler(
    counts: NgramCounts, distinct_column: Optional[str] = None, entropy_column: Optional[str] = None
) -> Resampler:
    """Resample corpus-level distinct-n and/or entropy-n from n-gram occurrences."""

    def resample(weights: np.ndarray) -> Dict[str, np.ndarray]:
        distinct = np.empty(weights.shape[0])
        entropy = np.empty(weights.shape[0])
        for row in range(weights.shape[0]):
            type_counts = counts.type_counts(weights[row])
            if distinct_column:
                distinct[row] = distinct_from_counts(type_counts)
            if entropy_column:
                entropy[row] = entropy_from_counts(type_counts)
        result = {}
        if distinct_column:
            result[distinct_column] = distinct
        if entropy_column:
            result[entropy_column] = entropy
        return result

    return resample


def combine_resamplers(resamplers: Sequence[Resampler]) -> Resampler:
    """Return one resampler whose output merges the outputs of ``resamplers``."""

    def resample(weights: np.ndarray) -> Dict[str, np.ndarray]:
        merged: Dict[str, np.ndarray] = {}
        for resampler in resamplers:
            merged.update(resampler(weights))
        return merged

    return resample


def bootstrap_samples(
    resamplers: Sequence[Resampler], num_segments: int, num_resamples: int = 1000, seed: int = 1
) -> List[Dict[str, np.ndarray]]:
    """Score every system on the same ``num_resamples`` resamples.

    ``resamplers[s]`` scores system s. Returns, per system, {column: array
    [num_resamples]} of metric values.
    """
    if num_resamples < 1:
        raise ValueError(f"number of bootstrap resamples must be >= 1, got {num_resamples}")
    parts: List[Dict[str, List[np.ndarray]]] = [{} for _ in resamplers]
    for weights in resample_weights(num_segments, num_resamples, seed):
        for system, resampler in enumerate(resamplers):
            for column, values in resampler(weights).items():
                parts[system].setdefault(column, []).append(values)
    return [{column: np.concatenate(chunks) for column, chunks in system.items()} for system in parts]


@dataclass
class PairedDifference:
    """Bootstrap statistics of d = metric(system) - metric(baseline).

    ``ci_low``/``ci_high`` are the 2.5th/97.5th percentiles of d over the
    resamples and ``p_value`` the share of resamples in which d has the
    opposite sign of ``observed`` or is 0 (1.0 when ``observed`` is 0).
    ``mean`` is the mean of d over the resamples. With ``recentred`` the
    interval and p come from d - mean + observed instead of d.
    """

    observed: float
    mean: float
    ci_low: float
    ci_high: float
    p_value: float
    num_resamples: int
    recentred: bool = False


def paired_difference(
    baseline_samples: np.ndarray,
    system_samples: np.ndarray,
    baseline_value: float,
    system_value: float,
    recentre: bool = False,
) -> PairedDifference:
    """Summarize the per-resample differences of one metric between two systems.

    With ``recentre`` the differences are first shifted so that their mean
    is the observed difference (see the module docstring).
    """
    differences = np.asarray(system_samples, dtype=np.float64) - np.asarray(baseline_samples, dtype=np.float64)
    observed = float(system_value - baseline_value)
    resampled_mean = float(differences.mean())
    if recentre:
        differences = differences - resampled_mean + observed
    if observed > 0:
        p_value = float(np.mean(differences <= 0))
    elif observed < 0:
        p_value = float(np.mean(differences >= 0))
    else:
        p_value = 1.0
    low, high = np.percentile(differences, [2.5, 97.5])
    return PairedDifference(
        observed=observed,
        mean=resampled_mean,
        ci_low=float(low),
        ci_high=float(high),
        p_value=p_value,
        num_resamples=int(differences.size),
        recentred=recentre,
    )
