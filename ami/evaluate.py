"""Evaluate generated text with corpus-level metrics and compare systems.

Library use::

    from ami.evaluate import EvaluationSettings, evaluate, compare_systems
    report = evaluate(hypotheses, references, settings=EvaluationSettings())
    report["scores"]["bleu"]

Command line (installed as ``ami-evaluate``)::

    ami-evaluate --hyp base.txt --hyp ami.txt --ref test.ref --json scores.json
    ami-evaluate --generate-log base.log ami.log --task-type summarization

Metrics are looked up in ``METRICS``, a registry of name -> ``MetricSpec``.
A new metric (for example a model-based one) is a function
``(hyps, refs, srcs, settings) -> MetricResult`` registered with
``@register_metric(name)``. Options for such metrics go into
``EvaluationSettings.extra`` (``--metric-option KEY=VALUE`` on the command
line) and the module that registers them can be loaded with
``--metric-module``.
"""

import argparse
import dataclasses
import importlib
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from ami import bootstrap as bootstrap_lib
from ami import metrics as metrics_lib
from ami import rouge as rouge_lib
from ami.generate_log import align_generate_logs, read_lines

logger = logging.getLogger("ami.evaluate")

DEFAULT_METRICS = {
    "dialogue": ("bleu", "distinct", "entropy", "length"),
    "summarization": ("bleu", "rouge", "distinct", "entropy", "length"),
}


@dataclass
class EvaluationSettings:
    """Metric selection and metric options; the JSON report records every field.

    ``word_vectors`` is a path to a word2vec/GloVe text file, a
    ``ami.metrics.WordVectors`` or a {token: vector} mapping. ``workers`` is
    the number of processes for BLEU statistics and ROUGE (scores do not
    depend on it). ``bleu_implementation`` ("ami" or "sacrebleu") and
    ``rouge_implementation`` ("ami" or "rouge-score") choose who counts
    the statistics; both choices give the same scores, the packages' own
    code is slower (see ami.metrics.bleu_statistics and ami.rouge). ``extra`` contains options of metrics registered outside
    this module.
    """

    metrics: Sequence[str] = DEFAULT_METRICS["dialogue"]
    bleu_tokenize: str = "13a"
    bleu_lowercase: bool = False
    bleu_n_orders: Sequence[int] = (1, 2, 3, 4)
    bleu_n_kind: str = "cumulative"
    distinct_n: Sequence[int] = (1, 2)
    distinct_level: str = "corpus"
    entropy_n: Sequence[int] = (4,)
    rouge_stemmer: bool = True
    bleu_implementation: str = "ami"
    rouge_implementation: str = "ami"
    word_vectors: Union[None, str, metrics_lib.WordVectors, Mapping[str, Sequence[float]]] = None
    embedding_lowercase: bool = False
    workers: int = 1
    extra: Dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> Dict[str, Any]:
        """Return the settings as JSON-compatible values (word vectors by source)."""
        values = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if item.name == "word_vectors" and value is not None and not isinstance(value, str):
                value = value.source if isinstance(value, metrics_lib.WordVectors) else "in-memory table"
            elif isinstance(value, tuple):
                value = list(value)
            values[item.name] = value
        return values


@dataclass
class MetricResult:
    """Output of one metric on one system.

    ``scores`` maps column names (as printed) to corpus-level values.
    ``settings`` contains what is needed to reproduce them (definition,
    tokenization, package signature), ``details`` other figures for the
    JSON report, ``note`` one line printed under the table. ``resampler``
    (optional) recomputes the scores on bootstrap resamples, see
    ami.bootstrap. ``recentred`` names the columns whose resampled values
    are biased by repeated segments, so that their bootstrap differences
    are recentred on the observed one. ``decimals`` sets the printed
    precision per column.
    """

    scores: Dict[str, float]
    settings: Dict[str, Any] = field(default_factory=dict)
    details: Dict[str, Any] = field(default_factory=dict)
    note: str = ""
    resampler: Optional[bootstrap_lib.Resampler] = None
    recentred: Sequence[str] = ()
    decimals: Dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_segment_values(
        cls, values: Mapping[str, np.ndarray], decimals: int = 4, **fields_
    ) -> "MetricResult":
        """Build a result whose scores are means of per-segment values.

        Use this for metrics defined as an average over segments (for
        example a per-segment model log-likelihood). Bootstrap resampling
        of the mean comes with it.
        """
        scores = {column: float(np.mean(array)) if len(array) else 0.0 for column, array in values.items()}
        return cls(
            scores=scores,
            resampler=bootstrap_lib.mean_resampler(values),
            decimals={column: decimals for column in values},
            **fields_,
        )


MetricFunction = Callable[[List[str], Optional[List[str]], Optional[List[str]], EvaluationSettings], MetricResult]


@dataclass
class MetricSpec:
    """A registered metric: its function and the inputs it needs."""

    function: MetricFunction
    needs_references: bool = True
    needs_sources: bool = False


METRICS: Dict[str, MetricSpec] = {}


def register_metric(name: str, needs_references: bool = True, needs_sources: bool = False):
    """Register ``function(hyps, refs, srcs, settings) -> MetricResult`` under ``name``."""

    def decorator(function: MetricFunction) -> MetricFunction:
        if name in METRICS:
            raise ValueError(f"metric {name!r} is already registered")
        METRICS[name] = MetricSpec(function, needs_references, needs_sources)
        return function

    return decorator


class _LastCallCache:
    """Keep the value computed for the last inputs, compared by identity.

    compute_metrics passes the same list objects to every metric, so BLEU
    and BLEU-n share sacrebleu statistics and distinct-n and entropy-n
    share the tokenized corpus. compute_metrics clears it at the end.
    """

    def __init__(self):
        self.clear()

    def clear(self) -> None:
        self._inputs: tuple = ()
        self._options: Any = None
        self._value: Any = None

    def get(self, inputs: tuple, options: Any, compute: Callable[[], Any]) -> Any:
        same_inputs = len(inputs) == len(self._inputs) and all(a is b for a, b in zip(inputs, self._inputs))
        if not (same_inputs and options == self._options):
            self._value = compute()
            self._inputs, self._options = inputs, options
        return self._value


_BLEU_STATS = _LastCallCache()
_WHITESPACE = _LastCallCache()
_CORPUS = _LastCallCache()


def _bleu_statistics(hyps: List[str], refs: List[str], settings: EvaluationSettings) -> np.ndarray:
    options = {"tokenize": settings.bleu_tokenize, "lowercase": settings.bleu_lowercase}
    implementation = settings.bleu_implementation
    return _BLEU_STATS.get(
        (hyps, refs),
        (options, implementation),
        lambda: metrics_lib.bleu_statistics(
            hyps, refs, workers=settings.workers, implementation=implementation, **options
        ),
    )


def _whitespace_encoding(
    hyps: List[str], refs: Optional[List[str]], settings: EvaluationSettings
) -> metrics_lib.EncodedTexts:
    """Whitespace token ids of the hypotheses, followed by the references when
    the embedding metric will need them too."""
    with_refs = refs is not None and "embedding" in settings.metrics
    return _WHITESPACE.get(
        (hyps, refs), with_refs, lambda: metrics_lib.EncodedTexts.from_texts(hyps + refs if with_refs else hyps)
    )


def _tokenized_corpus(hyps: List[str], refs: Optional[List[str]], settings: EvaluationSettings) -> metrics_lib.TokenizedCorpus:
    def build():
        encoded = _whitespace_encoding(hyps, refs, settings)
        ids, lengths = encoded.segments(0, len(hyps))
        return metrics_lib.TokenizedCorpus.from_ids(ids, lengths, len(encoded.vocabulary))

    return _CORPUS.get((hyps, refs), None, build)


# ---------------------------------------------------------------------------
# Built-in metrics
# ---------------------------------------------------------------------------


_BLEU_COUNTED_BY = {
    "ami": "ami (sacrebleu's tokenizer rules, n-gram matches counted with numpy; equal to sacrebleu's)",
    "sacrebleu": "sacrebleu",
}
_ROUGE_COMPUTED_BY = {
    "ami": "ami (rouge-score's definitions computed with numpy; equal to rouge-score's)",
    "rouge-score": "rouge-score RougeScorer per segment",
}


@register_metric("bleu")
def bleu_metric(hyps, refs, srcs, settings: EvaluationSettings) -> MetricResult:
    """sacrebleu corpus BLEU (0-100)."""
    stats = _bleu_statistics(hyps, refs, settings)
    score, signature, extra = metrics_lib.bleu(
        hyps, refs, tokenize=settings.bleu_tokenize, lowercase=settings.bleu_lowercase, stats=stats
    )
    extra.pop("stats")
    return MetricResult(
        scores={"bleu": score},
        settings={
            "signature": signature,
            "definition": "sacrebleu corpus BLEU, one reference per hypothesis",
            "statistics": _BLEU_COUNTED_BY[settings.bleu_implementation],
        },
        details=extra,
        note=f"bleu: sacrebleu corpus BLEU, signature {signature}",
        resampler=bootstrap_lib.bleu_resampler(stats, {"bleu": {}}),
        decimals={"bleu": 2},
    )


@register_metric("bleu-n")
def bleu_n_metric(hyps, refs, srcs, settings: EvaluationSettings) -> MetricResult:
    """BLEU-1..4 from the same sacrebleu statistics as BLEU."""
    stats = _bleu_statistics(hyps, refs, settings)
    orders = list(settings.bleu_n_orders)
    scores = metrics_lib.bleu_n(hyps, refs, orders, kind=settings.bleu_n_kind, stats=stats)
    if settings.bleu_n_kind == "cumulative":
        definition = "BP * exp(mean of ln p_1..p_n) = sacrebleu corpus BLEU with max_ngram_order=n, exp smoothing"
    else:
        definition = "BP * p_n, the clipped corpus n-gram precision of order n alone, no smoothing"
    columns = {f"bleu-{order}": {"order": order, "kind": settings.bleu_n_kind} for order in orders}
    return MetricResult(
        scores={f"bleu-{order}": value for order, value in scores.items()},
        settings={
            "kind": settings.bleu_n_kind,
            "definition": definition,
            "tokenize": settings.bleu_tokenize,
            "statistics": _BLEU_COUNTED_BY[settings.bleu_implementation],
        },
        note=f"bleu-n ({settings.bleu_n_kind}): {definition}, sacrebleu tokenizer {settings.bleu_tokenize}",
        resampler=bootstrap_lib.bleu_resampler(stats, columns),
        decimals={column: 2 for column in columns},
    )


@register_metric("distinct", needs_references=False)
def distinct_metric(hyps, refs, srcs, settings: EvaluationSettings) -> MetricResult:
    """distinct-n for each n in settings.distinct_n."""
    corpus = _tokenized_corpus(hyps, refs, settings)
    scores, resamplers, details = {}, [], {}
    for n in settings.distinct_n:
        column = f"distinct-{n}"
        counts = corpus.ngrams(n)
        scores[column] = metrics_lib.distinct_n(corpus, n, level=settings.distinct_level)
        details[column] = {"ngram_types": counts.num_types, "ngrams": int(counts.ngram_ids.size)}
        if settings.distinct_level == "corpus":
            resamplers.append(bootstrap_lib.ngram_resampler(counts, distinct_column=column))
        else:
            values, valid = metrics_lib.sentence_distinct_values(counts)
            details[column]["segments_without_ngrams"] = int((~valid).sum())
            resamplers.append(bootstrap_lib.masked_mean_resampler(column, values, valid))
    if settings.distinct_level == "corpus":
        definition = "distinct n-gram types / n-gram occurrences over all hypotheses"
    else:
        definition = "mean over hypotheses of distinct n-grams / n-grams; hypotheses shorter than n are skipped"
    return MetricResult(
        scores=scores,
        settings={"level": settings.distinct_level, "tokenization": "whitespace", "definition": definition},
        details=details,
        note=f"distinct-n ({settings.distinct_level} level): {definition}, whitespace tokens",
        resampler=bootstrap_lib.combine_resamplers(resamplers),
        recentred=tuple(scores) if settings.distinct_level == "corpus" else (),
        decimals={column: 4 for column in scores},
    )


@register_metric("entropy", needs_references=False)
def entropy_metric(hyps, refs, srcs, settings: EvaluationSettings) -> MetricResult:
    """entropy-n in nats for each n in settings.entropy_n."""
    corpus = _tokenized_corpus(hyps, refs, settings)
    scores, resamplers = {}, []
    for n in settings.entropy_n:
        column = f"entropy-{n}"
        scores[column] = metrics_lib.entropy_n(corpus, n)
        resamplers.append(bootstrap_lib.ngram_resampler(corpus.ngrams(n), entropy_column=column))
    definition = "Shannon entropy (nats) of the n-gram distribution over all hypotheses"
    return MetricResult(
        scores=scores,
        settings={"tokenization": "whitespace", "log_base": "e", "definition": definition},
        note=f"entropy-n: {definition}, whitespace tokens",
        resampler=bootstrap_lib.combine_resamplers(resamplers),
        recentred=tuple(scores),
        decimals={column: 3 for column in scores},
    )


@register_metric("rouge")
def rouge_metric(hyps, refs, srcs, settings: EvaluationSettings) -> MetricResult:
    """ROUGE-1/2/L/Lsum F1 (0-100) as rouge-score defines them."""
    per_segment = metrics_lib.rouge_sentence_scores(
        hyps, refs, use_stemmer=settings.rouge_stemmer, workers=settings.workers,
        implementation=settings.rouge_implementation,
    )
    columns = {"rouge1": "rouge-1", "rouge2": "rouge-2", "rougeL": "rouge-l", "rougeLsum": "rouge-lsum"}
    f1 = {columns[name]: values[:, 2] * 100.0 for name, values in per_segment.items()}
    details = {
        columns[name]: {
            "precision": float(values[:, 0].mean() * 100.0) if len(values) else 0.0,
            "recall": float(values[:, 1].mean() * 100.0) if len(values) else 0.0,
        }
        for name, values in per_segment.items()
    }
    stemming = "on" if settings.rouge_stemmer else "off"
    return MetricResult.from_segment_values(
        f1,
        decimals=2,
        settings={
            "package": "rouge-score",
            "implementation": _ROUGE_COMPUTED_BY[settings.rouge_implementation],
            "score": "F1 x 100, mean over segments",
            "stemmer": settings.rouge_stemmer,
            "tokenization": "rouge-score: lowercase, characters outside [a-z0-9] become spaces",
            "lsum_sentence_splitter": "ami.metrics.split_sentences (regex, English abbreviations)",
        },
        details=details,
        note=(
            f"rouge: rouge-score F1 x 100, mean over segments, Porter stemming {stemming}; rouge-lsum sentences "
            "from ami's regex splitter; rouge-score keeps only [a-z0-9], so non-English text scores 0"
        ),
    )


@register_metric("embedding")
def embedding_metric(hyps, refs, srcs, settings: EvaluationSettings) -> MetricResult:
    """Embedding average, vector extrema and greedy matching (cosines)."""
    if settings.word_vectors is None:
        raise ValueError("metric 'embedding' needs word vectors; pass --word-vectors FILE (word2vec/GloVe text)")
    vectors = _load_vectors(settings, [hyps, refs])
    per_segment, info = metrics_lib.embedding_sentence_scores(
        hyps, refs, vectors, lowercase=settings.embedding_lowercase, encoded=_whitespace_encoding(hyps, refs, settings)
    )
    oov_rate = info["oov_tokens"] / info["tokens"] if info["tokens"] else 0.0
    if oov_rate > 0.2:
        logger.warning(
            "%.1f%% of tokens have no vector in %s; consider --embedding-lowercase or other vectors",
            100.0 * oov_rate,
            info["source"],
        )
    values = {f"embedding-{name}": array for name, array in per_segment.items()}
    return MetricResult.from_segment_values(
        values,
        decimals=4,
        settings={
            "vectors": info["source"],
            "dim": info["dim"],
            "lowercase": info["lowercase"],
            "tokenization": "whitespace",
            "definition": "Liu et al. (2016) average/extrema/greedy cosines; 0 when a side has no known token",
        },
        details={**info, "oov_rate": oov_rate},
        note=(
            f"embedding: average/extrema/greedy cosine (Liu et al., 2016), vectors {info['source']}, "
            f"{100.0 * oov_rate:.1f}% of tokens without a vector"
        ),
    )


@register_metric("length", needs_references=False)
def length_metric(hyps, refs, srcs, settings: EvaluationSettings) -> MetricResult:
    """Mean and median hypothesis length in whitespace tokens and the number of empty hypotheses."""
    lengths = _tokenized_corpus(hyps, refs, settings).lengths.astype(np.float64)
    stats = metrics_lib.length_stats(hyps, lengths=lengths)
    details = {"hypotheses": stats["count"]}
    if refs is not None:
        details["reference_length_mean"] = float(metrics_lib.sentence_lengths(refs).mean())
    return MetricResult(
        scores={"length-mean": stats["mean"], "length-median": stats["median"], "empty": stats["empty"]},
        settings={"tokenization": "whitespace", "unit": "tokens"},
        details=details,
        note="length: whitespace tokens per hypothesis; empty = hypotheses without tokens (counted as length 0)",
        resampler=bootstrap_lib.combine_resamplers(
            [
                bootstrap_lib.mean_resampler({"length-mean": lengths}),
                bootstrap_lib.median_resampler("length-median", lengths),
                bootstrap_lib.sum_resampler("empty", (lengths == 0).astype(np.float64)),
            ]
        ),
        decimals={"length-mean": 2, "length-median": 1, "empty": 0},
    )


def _load_vectors(settings: EvaluationSettings, texts: Sequence[Sequence[str]]) -> metrics_lib.WordVectors:
    """Return settings.word_vectors as WordVectors, reading a file only for the tokens in ``texts``."""
    vectors = settings.word_vectors
    if isinstance(vectors, metrics_lib.WordVectors):
        return vectors
    if not isinstance(vectors, str):
        return metrics_lib.WordVectors.from_mapping(vectors, source="in-memory table")
    vocabulary = set()
    for group in texts:
        if group is None:
            continue
        for text in group:
            tokens = text.split()
            if settings.embedding_lowercase:
                tokens = [token.lower() for token in tokens]
            vocabulary.update(tokens)
    return metrics_lib.load_word_vectors(vectors, vocabulary=vocabulary)


# ---------------------------------------------------------------------------
# Evaluation and comparison
# ---------------------------------------------------------------------------


def _check_inputs(
    hypotheses: Sequence[str],
    references: Optional[Sequence[str]],
    sources: Optional[Sequence[str]],
    metric_names: Sequence[str],
) -> None:
    unknown = [name for name in metric_names if name not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {', '.join(unknown)}; available: {', '.join(sorted(METRICS))}")
    if not hypotheses:
        raise ValueError("no hypotheses to evaluate")
    for name in metric_names:
        spec = METRICS[name]
        if spec.needs_references and references is None:
            raise ValueError(f"metric {name!r} needs references; pass them (--ref) or drop {name!r} from the metrics")
        if spec.needs_sources and sources is None:
            raise ValueError(f"metric {name!r} needs sources; pass them (--src) or drop {name!r} from the metrics")
    if references is not None and len(references) != len(hypotheses):
        raise ValueError(f"got {len(hypotheses)} hypotheses but {len(references)} references")
    if sources is not None and len(sources) != len(hypotheses):
        raise ValueError(f"got {len(hypotheses)} hypotheses but {len(sources)} sources")


def compute_metrics(
    hypotheses: Sequence[str],
    references: Optional[Sequence[str]] = None,
    sources: Optional[Sequence[str]] = None,
    settings: Optional[EvaluationSettings] = None,
) -> Dict[str, MetricResult]:
    """Run every metric of ``settings.metrics`` and return {metric name: MetricResult}."""
    settings = settings or EvaluationSettings()
    _check_inputs(hypotheses, references, sources, settings.metrics)
    hyps = list(hypotheses)
    refs = list(references) if references is not None else None
    srcs = list(sources) if sources is not None else None
    results = {}
    try:
        for name in settings.metrics:
            logger.info("computing %s on %d hypotheses", name, len(hyps))
            results[name] = METRICS[name].function(hyps, refs, srcs, settings)
    finally:
        _BLEU_STATS.clear()
        _WHITESPACE.clear()
        _CORPUS.clear()
    return results


def _results_to_json(results: Mapping[str, MetricResult], num_segments: int) -> Dict[str, Any]:
    scores = {}
    for result in results.values():
        scores.update(result.scores)
    return {
        "num_segments": num_segments,
        "scores": scores,
        "metrics": {
            name: {
                "scores": result.scores,
                "settings": result.settings,
                "details": result.details,
                "note": result.note,
                "decimals": result.decimals,
            }
            for name, result in results.items()
        },
    }


def package_versions() -> Dict[str, str]:
    """Return the installed versions of the packages that compute the scores."""
    versions = {}
    for package in ("ami", "sacrebleu", "rouge-score", "numpy", "nltk"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def evaluate(
    hypotheses: Sequence[str],
    references: Optional[Sequence[str]] = None,
    sources: Optional[Sequence[str]] = None,
    settings: Optional[EvaluationSettings] = None,
) -> Dict[str, Any]:
    """Evaluate one system and return a JSON-compatible report.

    Keys: "num_segments"; "scores", {column: value} over all metrics;
    "metrics", {metric name: {"scores", "settings", "details", "note"}};
    "settings" (``EvaluationSettings.to_json``); "packages" (versions).
    Empty hypotheses are allowed; the length metric counts them.
    """
    settings = settings or EvaluationSettings()
    _warn_empty_references(references)
    if isinstance(settings.word_vectors, str) and "embedding" in settings.metrics:
        settings = dataclasses.replace(settings, word_vectors=_load_vectors(settings, [hypotheses, references]))
    results = compute_metrics(hypotheses, references, sources, settings)
    report = _results_to_json(results, len(hypotheses))
    report["settings"] = settings.to_json()
    report["packages"] = package_versions()
    return report


def _warn_empty_references(references: Optional[Sequence[str]]) -> None:
    if references is None:
        return
    empty = [index + 1 for index, reference in enumerate(references) if not reference.strip()]
    if empty:
        logger.warning(
            "%d of %d references are empty (first at line %d); every hypothesis paired with one scores 0 in "
            "ROUGE and the embedding metric, and BLEU counts it against a reference of length 0",
            len(empty),
            len(references),
            empty[0],
        )


BOOTSTRAP_DEFINITION = (
    "paired bootstrap (Koehn, 2004): resamples of the test segments drawn with replacement, the same for all "
    "systems; difference = system - baseline; 95% CI = 2.5th..97.5th percentile of the resampled differences "
    "(for corpus-level distinct-n and entropy-n after shifting them so that their mean is the observed "
    "difference); p = share of resamples where the difference has the opposite sign of the observed "
    "difference or is 0"
)


def compare_systems(
    systems: Mapping[str, Sequence[str]],
    references: Optional[Sequence[str]] = None,
    sources: Optional[Sequence[str]] = None,
    settings: Optional[EvaluationSettings] = None,
    num_resamples: int = 1000,
    seed: int = 1,
) -> Dict[str, Any]:
    """Evaluate several systems on the same segments and compare each to the first.

    ``systems`` maps names to hypotheses, in order; the first is the
    baseline. Returns {"systems": [{"name", ...evaluate() keys}],
    "comparisons": [...], "bootstrap": {...}, "settings", "packages"}.
    With ``num_resamples`` 0 or a single system there are no comparisons.
    Each comparison has "baseline", "system", "metric" (a column) and the
    fields of ``ami.bootstrap.PairedDifference``.
    """
    settings = settings or EvaluationSettings()
    names = list(systems)
    if not names:
        raise ValueError("no systems to evaluate")
    sizes = {name: len(hyps) for name, hyps in systems.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"systems have different numbers of hypotheses: {sizes}; they must cover the same segments")
    _warn_empty_references(references)
    if isinstance(settings.word_vectors, str) and "embedding" in settings.metrics:
        texts = [references] + [systems[name] for name in names]
        settings = dataclasses.replace(settings, word_vectors=_load_vectors(settings, texts))

    all_results = []
    for name in names:
        logger.info("evaluating system %s", name)
        all_results.append(compute_metrics(systems[name], references, sources, settings))

    report: Dict[str, Any] = {"systems": [], "comparisons": []}
    for name, results in zip(names, all_results):
        report["systems"].append({"name": name, **_results_to_json(results, sizes[name])})

    if len(names) > 1 and num_resamples > 0:
        report["bootstrap"] = {"resamples": num_resamples, "seed": seed, "definition": BOOTSTRAP_DEFINITION}
        report["comparisons"] = _bootstrap_comparisons(names, all_results, sizes[names[0]], num_resamples, seed)
    report["settings"] = settings.to_json()
    report["packages"] = package_versions()
    return report


def _bootstrap_comparisons(
    names: List[str], all_results: List[Dict[str, MetricResult]], num_segments: int, num_resamples: int, seed: int
) -> List[Dict[str, Any]]:
    resamplers = []
    skipped = set()
    for results in all_results:
        parts = []
        for metric_name, result in results.items():
            if result.resampler is None:
                skipped.add(metric_name)
            else:
                parts.append(result.resampler)
        resamplers.append(bootstrap_lib.combine_resamplers(parts))
    if skipped:
        logger.warning("metrics without bootstrap support, not compared: %s", ", ".join(sorted(skipped)))

    logger.info("paired bootstrap: %d resamples of %d segments, seed %d", num_resamples, num_segments, seed)
    samples = bootstrap_lib.bootstrap_samples(resamplers, num_segments, num_resamples, seed)
    baseline_scores = {k: v for result in all_results[0].values() for k, v in result.scores.items()}
    recentred = {column for result in all_results[0].values() for column in result.recentred}
    comparisons = []
    for index in range(1, len(names)):
        system_scores = {k: v for result in all_results[index].values() for k, v in result.scores.items()}
        for column, baseline_samples in samples[0].items():
            difference = bootstrap_lib.paired_difference(
                baseline_samples,
                samples[index][column],
                baseline_scores[column],
                system_scores[column],
                recentre=column in recentred,
            )
            comparisons.append(
                {
                    "baseline": names[0],
                    "system": names[index],
                    "metric": column,
                    "baseline_value": baseline_scores[column],
                    "system_value": system_scores[column],
                    **dataclasses.asdict(difference),
                }
            )
    return comparisons


# ---------------------------------------------------------------------------
# Markdown output
# ---------------------------------------------------------------------------


def _format_value(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def format_markdown(report: Mapping[str, Any]) -> str:
    """Render a ``compare_systems`` report as Markdown tables and notes."""
    systems = report["systems"]
    decimals: Dict[str, int] = {}
    for metric in systems[0]["metrics"].values():
        decimals.update(metric.get("decimals", {}))
    columns = list(systems[0]["scores"])
    lines = ["| system | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for system in systems:
        cells = [_format_value(system["scores"][column], decimals.get(column, 4)) for column in columns]
        lines.append(f"| {system['name']} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"{systems[0]['num_segments']} segments per system.")
    for metric in systems[0]["metrics"].values():
        if metric["note"]:
            lines.append(f"- {metric['note']}")

    if report.get("comparisons"):
        bootstrap = report["bootstrap"]
        lines += [
            "",
            f"Paired bootstrap against {systems[0]['name']}: {bootstrap['resamples']} resamples, "
            f"seed {bootstrap['seed']}. p = share of resamples where the difference has the opposite sign "
            "or is 0.",
            "",
            "| system | metric | baseline | system | difference | 95% CI | p |",
            "|---|---|---:|---:|---:|---|---:|",
        ]
        recentred = sorted({row["metric"] for row in report["comparisons"] if row.get("recentred")})
        if recentred:
            lines[-3:-3] = [
                f"Intervals and p of {', '.join(recentred)} are recentred on the observed difference, because "
                "repeated segments lower these corpus-level metrics on every resample."
            ]
        for row in report["comparisons"]:
            places = decimals.get(row["metric"], 4)
            interval = f"[{_format_value(row['ci_low'], places)}, {_format_value(row['ci_high'], places)}]"
            lines.append(
                f"| {row['system']} | {row['metric']} | {_format_value(row['baseline_value'], places)} | "
                f"{_format_value(row['system_value'], places)} | {row['observed']:+.{places}f} | {interval} | "
                f"{row['p_value']:.3f} |"
            )
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def _int_list(text: str) -> List[int]:
    try:
        values = [int(item) for item in text.split(",") if item.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from error
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def build_parser() -> argparse.ArgumentParser:
    from sacrebleu.metrics import BLEU

    parser = argparse.ArgumentParser(
        prog="ami-evaluate",
        description="Score generated text (BLEU, distinct-n, entropy-n, ROUGE, embedding similarity, length) "
        "and compare systems with paired bootstrap resampling. Prints Markdown tables to stdout.",
    )
    inputs = parser.add_argument_group("inputs")
    inputs.add_argument("--hyp", action="append", metavar="FILE", help="hypothesis file, one segment per line; repeat for more systems")
    inputs.add_argument("--generate-log", nargs="+", metavar="LOG", help="fairseq-generate output, one file per system")
    inputs.add_argument("--name", action="append", metavar="NAME", help="system name, one per --hyp/--generate-log (default: file name)")
    inputs.add_argument("--ref", metavar="FILE", help="reference file, line i pairs with hypothesis i (with --generate-log: with id i)")
    inputs.add_argument("--src", metavar="FILE", help="source file, for metrics that use sources")
    inputs.add_argument("--nbest-all", action="store_true", help="with --generate-log --nbest N: score all N hypotheses per id, not only the best")
    inputs.add_argument("--allow-missing-ids", action="store_true", help="with --generate-log: evaluate the ids present when some are missing")
    inputs.add_argument(
        "--sentencepiece",
        choices=("auto", "always", "never"),
        default="auto",
        help="with --generate-log: decode sentencepiece pieces (auto: when a field contains '\u2581')",
    )

    chosen = parser.add_argument_group("metrics")
    chosen.add_argument("--task-type", choices=sorted(DEFAULT_METRICS), default="dialogue", help="sets the default metrics")
    chosen.add_argument(
        "--metrics",
        metavar="LIST",
        help="comma-separated metric names (default: dialogue: " + ",".join(DEFAULT_METRICS["dialogue"])
        + "; summarization: " + ",".join(DEFAULT_METRICS["summarization"]) + "; 'embedding' is added with --word-vectors)"
        + "; available: " + ", ".join(METRICS),
    )
    chosen.add_argument(
        "--bleu-tokenize", default="13a", choices=sorted(BLEU.TOKENIZERS), metavar="NAME",
        help="sacrebleu tokenizer: " + ", ".join(sorted(BLEU.TOKENIZERS)) + " (default: 13a)",
    )
    chosen.add_argument("--bleu-lowercase", action="store_true", help="lowercase before BLEU")
    chosen.add_argument("--bleu-n-kind", choices=("cumulative", "individual"), default="cumulative", help="bleu-n definition: cumulative (sacrebleu BLEU with max order n) or individual (BP x p_n)")
    chosen.add_argument("--distinct-n", type=_int_list, default=[1, 2], metavar="N,...", help="orders for distinct-n (default: 1,2)")
    chosen.add_argument("--distinct-level", choices=("corpus", "sentence"), default="corpus", help="distinct-n level (default: corpus)")
    chosen.add_argument("--entropy-n", type=_int_list, default=[4], metavar="N,...", help="orders for entropy-n (default: 4)")
    chosen.add_argument("--rouge-stemmer", action=argparse.BooleanOptionalAction, default=True, help="Porter stemming in ROUGE (default: on)")
    chosen.add_argument(
        "--bleu-implementation", choices=metrics_lib.BLEU_IMPLEMENTATIONS, default="ami",
        help="who counts BLEU n-gram matches: ami (vectorised, default) or sacrebleu (its own code, slower, same scores)",
    )
    chosen.add_argument(
        "--rouge-implementation", choices=rouge_lib.IMPLEMENTATIONS, default="ami",
        help="who computes ROUGE: ami (vectorised, default) or rouge-score (its own code, slower, same scores)",
    )
    chosen.add_argument("--word-vectors", metavar="FILE", help="word2vec/GloVe text file for the embedding metric")
    chosen.add_argument("--embedding-lowercase", action="store_true", help="lowercase tokens before the word vector lookup")
    chosen.add_argument("--metric-module", action="append", default=[], metavar="MODULE", help="import MODULE, which registers extra metrics")
    chosen.add_argument("--metric-option", action="append", default=[], metavar="KEY=VALUE", help="option for an extra metric (EvaluationSettings.extra)")

    output = parser.add_argument_group("comparison and output")
    output.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="paired bootstrap resamples with 2+ systems, 0 to skip (default: 1000)")
    output.add_argument("--seed", type=int, default=1, help="random seed of the bootstrap (default: 1)")
    output.add_argument("--json", metavar="OUT", help="write every figure and setting to this JSON file")
    output.add_argument("--workers", type=int, default=1, metavar="N", help="processes for BLEU and ROUGE (default: 1)")
    return parser


@dataclass
class _Inputs:
    systems: Dict[str, List[str]]
    references: Optional[List[str]]
    sources: Optional[List[str]]
    description: Dict[str, Any]


def _system_names(args, files: List[str]) -> List[str]:
    if args.name:
        if len(args.name) != len(files):
            raise ValueError(f"got {len(args.name)} --name values for {len(files)} systems; give one name per system")
        names = list(args.name)
    else:
        names = [os.path.basename(path) for path in files]
    if len(set(names)) != len(names):
        raise ValueError(f"system names must be unique, got {names}; set them with --name")
    return names


def _read_plain_inputs(args) -> _Inputs:
    names = _system_names(args, args.hyp)
    references = read_lines(args.ref) if args.ref else None
    sources = read_lines(args.src) if args.src else None
    systems = {}
    for name, path in zip(names, args.hyp):
        hyps = read_lines(path)
        if references is not None and len(hyps) != len(references):
            raise ValueError(
                f"hypothesis file {path} has {len(hyps)} lines but reference file {args.ref} has "
                f"{len(references)}; they must pair up line by line"
            )
        if sources is not None and len(hyps) != len(sources):
            raise ValueError(
                f"hypothesis file {path} has {len(hyps)} lines but source file {args.src} has {len(sources)}"
            )
        systems[name] = hyps
    lengths = {path: len(hyps) for path, hyps in zip(args.hyp, systems.values())}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"hypothesis files have different numbers of lines: {lengths}")
    description = {"hypothesis_files": dict(zip(names, args.hyp)), "reference_file": args.ref, "source_file": args.src}
    return _Inputs(systems, references, sources, description)


def _read_generate_logs(args, needs_references: bool) -> _Inputs:
    names = _system_names(args, args.generate_log)
    aligned = align_generate_logs(
        args.generate_log,
        names,
        reference_lines=read_lines(args.ref) if args.ref else None,
        reference_path=args.ref,
        source_lines=read_lines(args.src) if args.src else None,
        source_path=args.src,
        require_references=needs_references,
        sentencepiece=args.sentencepiece,
        allow_missing_ids=args.allow_missing_ids,
        nbest_all=args.nbest_all,
    )
    return _Inputs(aligned.systems, aligned.references, aligned.sources, aligned.description)


def _settings_from_args(args) -> EvaluationSettings:
    if args.metrics:
        names = [name.strip() for name in args.metrics.split(",") if name.strip()]
    else:
        names = list(DEFAULT_METRICS[args.task_type])
        if args.word_vectors:
            names.append("embedding")
    extra = {}
    for option in args.metric_option:
        key, separator, value = option.partition("=")
        if not separator or not key:
            raise ValueError(f"invalid --metric-option {option!r}; expected KEY=VALUE")
        extra[key] = value
    return EvaluationSettings(
        metrics=names,
        bleu_tokenize=args.bleu_tokenize,
        bleu_lowercase=args.bleu_lowercase,
        bleu_n_kind=args.bleu_n_kind,
        distinct_n=args.distinct_n,
        distinct_level=args.distinct_level,
        entropy_n=args.entropy_n,
        rouge_stemmer=args.rouge_stemmer,
        bleu_implementation=args.bleu_implementation,
        rouge_implementation=args.rouge_implementation,
        word_vectors=args.word_vectors,
        embedding_lowercase=args.embedding_lowercase,
        workers=args.workers,
        extra=extra,
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``ami-evaluate``; returns the exit status (0, or 1 on invalid input)."""
    logging.basicConfig(
        format="%(asctime)s | %(levelname)s | %(name)s | %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
        level=os.environ.get("LOGLEVEL", "INFO").upper(),
        stream=sys.stderr,
    )
    parser = build_parser()
    args = parser.parse_args(argv)
    if bool(args.hyp) == bool(args.generate_log):
        parser.error("give hypotheses with either --hyp FILE (repeatable) or --generate-log LOG [LOG ...]")
    if args.bootstrap < 0:
        parser.error(f"--bootstrap must be >= 0, got {args.bootstrap}")
    if args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    for module in args.metric_module:
        importlib.import_module(module)

    try:
        settings = _settings_from_args(args)
        needs_references = any(METRICS[name].needs_references for name in settings.metrics if name in METRICS)
        inputs = _read_generate_logs(args, needs_references) if args.generate_log else _read_plain_inputs(args)
        report = compare_systems(
            inputs.systems, inputs.references, inputs.sources, settings, num_resamples=args.bootstrap, seed=args.seed
        )
    except (ValueError, OSError) as error:
        logger.error("%s", error)
        return 1

    report["inputs"] = inputs.description
    print(format_markdown(report))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2, ensure_ascii=False)
            handle.write("\n")
        logger.info("wrote %s", args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
