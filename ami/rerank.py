"""Rerank fairseq-generate n-best lists with the backward network of an AMI checkpoint.

Each candidate T of a source S gets the score

    score(T) = log p(T|S) + lambda * log q(S|T) + gamma * |T|

as in MMI-bidi reranking (Li et al., "A Diversity-Promoting Objective
Function for Neural Conversation Models", NAACL 2016). Both log-likelihoods
are sums over tokens in nats, recomputed with ``ami.scoring.AMIScorer``
under the checkpoint's forward network p and backward network q. The score
printed by fairseq-generate is not used, because it is length-normalized and
in base 2. |T| is the number of sentencepiece tokens of T, EOS included.

Library use::

    scorer = AMIScorer(checkpoint, spm_model)
    nbest = read_nbest_log("generate-test.log")
    scores = score_candidates(scorer, nbest)
    order = scores.ranking(lambda_=0.5, gamma=0.0)

Command line (installed as ``ami-rerank``)::

    ami-rerank generate-test.log --checkpoint ami/checkpoint_last.pt \\
        --spm-model data/spm/sentencepiece.model --lambda 0.5 \\
        --output reranked-test.log --output-text reranked-test.txt
"""

import argparse
import json
import logging
import math
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

from ami import metrics as metrics_lib
from ami.generate_log import GenerateLogError, _select_lines, parse_generate_log, read_lines

logger = logging.getLogger("ami.rerank")

DEFAULT_LAMBDA_GRID = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0)
DEFAULT_GAMMA_GRID = (-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0)


# ---------------------------------------------------------------------------
# Reading n-best lists
# ---------------------------------------------------------------------------


@dataclass
class NbestList:
    """Candidates of a fairseq-generate n-best log, in id order, as plain text.

    ``candidates[k]`` lists the hypotheses of ``ids[k]`` in the order of
    the log's scores, best first. ``references`` is None unless every id
    has a T- line.
    """

    path: str
    ids: List[int]
    sources: List[str]
    references: Optional[List[str]]
    candidates: List[List[str]]

    @property
    def num_candidates(self) -> int:
        return sum(len(group) for group in self.candidates)


def read_nbest_log(
    path: str,
    source_lines: Optional[List[str]] = None,
    source_path: Optional[str] = None,
    sentencepiece: str = "auto",
    allow_missing_ids: bool = False,
) -> NbestList:
    """Parse a ``fairseq-generate --nbest N`` log into an NbestList.

    Sources come from ``source_lines`` (line i for id i) when given, else
    from the log's S- lines. Sentencepiece pieces are decoded as in
    ``ami.generate_log.parse_generate_log``. Raises GenerateLogError when
    the log has one hypothesis per id or an id has no source.
    """
    log = parse_generate_log(
        path, require_references=False, sentencepiece=sentencepiece, allow_missing_ids=allow_missing_ids
    )
    sizes = [len(group) for group in log.nbest]
    if max(sizes) < 2:
        raise GenerateLogError(
            f"{path} has one hypothesis per id, so there is nothing to rerank. Rerun fairseq-generate "
            "with --nbest N and --beam N (N > 1)"
        )
    if min(sizes) < max(sizes):
        logger.warning(
            "%s: ids have between %d and %d hypotheses, and ids with one hypothesis keep it",
            path, min(sizes), max(sizes),
        )

    if source_lines is not None:
        sources = _select_lines(source_lines, source_path, log, allow_missing_ids)
    elif log.sources is not None:
        sources = log.sources
    else:
        without_source = _ids_without_source_lines(path, log.ids)
        raise GenerateLogError(
            f"{path}: {_describe_ids(without_source)} no S- line (source), and the backward network "
            "needs the source of every candidate; pass the source file with --src"
        )
    if any("<unk>" in source for source in sources) and source_lines is None:
        logger.warning(
            "%s: S- lines contain <unk> (words outside the source dictionary), which are scored as "
            "literal text; pass the raw source file with --src",
            path,
        )
    return NbestList(path=path, ids=log.ids, sources=sources, references=log.references, candidates=log.nbest)


def _ids_without_source_lines(path: str, ids: List[int]) -> List[int]:
    pattern = re.compile(r"^S-(\d+)\t")
    with_source = set()
    for line in read_lines(path):
        match = pattern.match(line)
        if match:
            with_source.add(int(match.group(1)))
    return [sentence_id for sentence_id in ids if sentence_id not in with_source]


def _describe_ids(ids: List[int]) -> str:
    listed = ", ".join(str(sentence_id) for sentence_id in ids[:20])
    if len(ids) == 1:
        return f"id {listed} has"
    more = f", ... ({len(ids)} in all)" if len(ids) > 20 else ""
    return f"ids {listed}{more} have"


# ---------------------------------------------------------------------------
# Scoring and ranking
# ---------------------------------------------------------------------------


@dataclass
class CandidateScores:
    """Per-candidate terms of the reranking score, as [ids, max candidates] arrays.

    ``forward`` is log p(T|S) and ``backward`` log q(S|T), in nats summed
    over tokens. ``lengths`` is |T| in sentencepiece tokens with EOS.
    Entries where ``mask`` is False are padding for ids with fewer
    candidates.
    """

    forward: np.ndarray
    backward: np.ndarray
    lengths: np.ndarray
    mask: np.ndarray

    def combined(self, lambda_: float, gamma: float) -> np.ndarray:
        """Return log p + lambda * log q + gamma * |T|, with -inf at padding."""
        total = self.forward + lambda_ * self.backward + gamma * self.lengths
        return np.where(self.mask, total, -np.inf)

    def best(self, lambda_: float, gamma: float) -> np.ndarray:
        """Return the column of the best candidate of each id. Ties go to the earlier candidate."""
        return np.argmax(self.combined(lambda_, gamma), axis=1)

    def ranking(self, lambda_: float, gamma: float) -> List[List[int]]:
        """Return each id's candidate columns, best first. Ties keep the log's order."""
        combined = self.combined(lambda_, gamma)
        order = np.argsort(-combined, axis=1, kind="stable")
        counts = self.mask.sum(axis=1)
        return [row[:count].tolist() for row, count in zip(order, counts)]


def _pad(values: np.ndarray, sizes: List[int], fill: float) -> np.ndarray:
    matrix = np.full((len(sizes), max(sizes)), fill, dtype=np.float64)
    start = 0
    for row, size in enumerate(sizes):
        matrix[row, :size] = values[start:start + size]
        start += size
    return matrix


def score_candidates(scorer, nbest: NbestList, batch_size: int = 64) -> CandidateScores:
    """Compute log p(T|S), log q(S|T) and |T| of every candidate with an ``AMIScorer``.

    The candidates of all ids go through the scorer together, which sorts
    them by length and scores them ``batch_size`` pairs at a time.

    NOTE: the scorer re-encodes the plain text with the sentencepiece model,
    so a candidate generated as an unusual segmentation (e.g. single
    characters) is scored in the model's canonical segmentation.
    """
    sizes = [len(group) for group in nbest.candidates]
    sources = [source for source, size in zip(nbest.sources, sizes) for _ in range(size)]
    targets = [text for group in nbest.candidates for text in group]
    logger.info("scoring %d candidates of %d ids from %s", len(targets), len(sizes), nbest.path)
    forward, target_lengths = scorer.forward_log_likelihood(sources, targets, batch_size=batch_size)
    backward, _ = scorer.backward_log_likelihood(sources, targets, batch_size=batch_size)
    mask = _pad(np.ones(len(targets)), sizes, 0.0).astype(bool)
    return CandidateScores(
        forward=_pad(forward, sizes, 0.0),
        backward=_pad(backward, sizes, 0.0),
        lengths=_pad(target_lengths.astype(np.float64), sizes, 0.0),
        mask=mask,
    )


# ---------------------------------------------------------------------------
# Tuning lambda and gamma
# ---------------------------------------------------------------------------


@dataclass
class TuningObjective:
    """The value maximized by the grid search.

    objective = bleu_weight * BLEU + distinct_weight * 100 * distinct-n,
    with BLEU sacrebleu's corpus BLEU (13a tokenizer, 0-100) and distinct-n
    the corpus-level ratio of ``ami.metrics.distinct_n`` (0-1, so it is
    scaled to 0-100 as well).
    """

    name: str
    bleu_weight: float
    distinct_order: Optional[int] = None
    distinct_weight: float = 0.0

    @property
    def needs_references(self) -> bool:
        return self.bleu_weight != 0.0

    def describe(self) -> str:
        """Return the formula of the objective in words, for logs and the tuning JSON."""
        terms = []
        if self.bleu_weight:
            weight = "" if self.bleu_weight == 1.0 else f"{self.bleu_weight:g} * "
            terms.append(weight + "BLEU (sacreBLEU corpus BLEU, 13a tokenizer, 0-100)")
        if self.distinct_order is not None:
            terms.append(
                f"{self.distinct_weight:g} * 100 * distinct-{self.distinct_order} (corpus level, whitespace tokens)"
            )
        return " + ".join(terms)


def parse_objective(spec: str, distinct_weight: float = 1.0) -> TuningObjective:
    """Build a TuningObjective from "bleu", "distinct-N" or "bleu+distinct-N"."""
    name = spec.strip().lower()
    if name == "bleu":
        return TuningObjective(name="bleu", bleu_weight=1.0)
    match = re.fullmatch(r"(bleu\+)?distinct-(\d+)", name)
    if match is None or int(match.group(2)) < 1:
        raise ValueError(
            f"invalid tuning metric {spec!r}; expected bleu, distinct-N or bleu+distinct-N with N >= 1"
        )
    order = int(match.group(2))
    if match.group(1) is None:
        return TuningObjective(name=name, bleu_weight=0.0, distinct_order=order, distinct_weight=1.0)
    return TuningObjective(name=name, bleu_weight=1.0, distinct_order=order, distinct_weight=distinct_weight)


@dataclass
class TuningResult:
    """The chosen lambda and gamma and the objective at every grid point."""

    objective: TuningObjective
    lambda_: float
    gamma: float
    value: float
    grid: List[Dict[str, float]] = field(default_factory=list)

    def value_at(self, lambda_: float, gamma: float) -> Optional[float]:
        for point in self.grid:
            if point["lambda"] == lambda_ and point["gamma"] == gamma:
                return point["objective"]
        return None

    def to_json(self) -> Dict[str, object]:
        return {
            "objective": self.objective.name,
            "definition": self.objective.describe(),
            "lambda": self.lambda_,
            "gamma": self.gamma,
            "value": self.value,
            "grid": self.grid,
        }


def tune(
    nbest: NbestList,
    scores: CandidateScores,
    references: Optional[List[str]],
    objective: TuningObjective,
    lambda_grid: Sequence[float] = DEFAULT_LAMBDA_GRID,
    gamma_grid: Sequence[float] = DEFAULT_GAMMA_GRID,
) -> TuningResult:
    """Grid-search lambda and gamma for the highest objective on an n-best list.

    Every (lambda, gamma) pair of the two grids is tried. Among grid
    points with the same objective, the one with the smallest lambda wins,
    then the one with the gamma closest to 0, then the smaller gamma.
    """
    if objective.needs_references:
        if references is None:
            raise ValueError(f"tuning on {objective.name} needs references for {nbest.path}: pass --tune-ref FILE")
        if len(references) != len(nbest.ids):
            raise ValueError(f"{nbest.path} has {len(nbest.ids)} ids but got {len(references)} references")
    if not lambda_grid or not gamma_grid:
        raise ValueError("the lambda and gamma grids must each have at least one value")

    sizes = [len(group) for group in nbest.candidates]
    offsets = np.cumsum([0] + sizes[:-1])
    flat_candidates = [text for group in nbest.candidates for text in group]
    bleu_stats = None
    if objective.bleu_weight:
        flat_references = [ref for ref, size in zip(references, sizes) for _ in range(size)]
        bleu_stats = metrics_lib.bleu_statistics(flat_candidates, flat_references)

    def evaluate_selection(selected: np.ndarray) -> float:
        value = 0.0
        if bleu_stats is not None:
            value += objective.bleu_weight * metrics_lib.bleu_from_statistics(bleu_stats[selected].sum(axis=0))
        if objective.distinct_order is not None:
            hypotheses = [flat_candidates[index] for index in selected]
            value += objective.distinct_weight * 100.0 * metrics_lib.distinct_n(hypotheses, objective.distinct_order)
        return value

    # Many grid points select the same candidates, so each selection is evaluated once.
    values_by_selection: Dict[bytes, float] = {}
    grid = []
    for lambda_ in lambda_grid:
        for gamma in gamma_grid:
            selected = offsets + scores.best(lambda_, gamma)
            key = selected.tobytes()
            if key not in values_by_selection:
                values_by_selection[key] = evaluate_selection(selected)
            grid.append({"lambda": float(lambda_), "gamma": float(gamma), "objective": values_by_selection[key]})
    logger.info(
        "tuned on %s: %d grid points, %d distinct selections", nbest.path, len(grid), len(values_by_selection)
    )

    ordered = sorted(grid, key=lambda point: (point["lambda"], abs(point["gamma"]), point["gamma"]))
    best = max(ordered, key=lambda point: point["objective"])
    return TuningResult(objective, best["lambda"], best["gamma"], best["objective"], grid)


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


def write_generate_log(path: str, nbest: NbestList, scores: CandidateScores, lambda_: float, gamma: float) -> None:
    """Write the reranked candidates in fairseq-generate's format.

    Per id: S- (source), T- (reference, when the input had T- lines), then
    H- and D- lines for each candidate, best first, scored with the
    reranking score in nats. All text is plain (detokenized), as
    fairseq-generate writes it with --post-process sentencepiece.
    """
    combined = scores.combined(lambda_, gamma)
    rankings = scores.ranking(lambda_, gamma)
    with open(path, "w", encoding="utf-8") as handle:
        for row, sentence_id in enumerate(nbest.ids):
            handle.write(f"S-{sentence_id}\t{nbest.sources[row]}\n")
            if nbest.references is not None:
                handle.write(f"T-{sentence_id}\t{nbest.references[row]}\n")
            for column in rankings[row]:
                text = nbest.candidates[row][column]
                score = float(combined[row, column])
                handle.write(f"H-{sentence_id}\t{score!r}\t{text}\n")
                handle.write(f"D-{sentence_id}\t{score!r}\t{text}\n")


def write_text(path: str, nbest: NbestList, scores: CandidateScores, lambda_: float, gamma: float) -> None:
    """Write the best candidate of each id, one per line, in id order."""
    best = scores.best(lambda_, gamma)
    with open(path, "w", encoding="utf-8") as handle:
        for row, column in enumerate(best):
            handle.write(nbest.candidates[row][column] + "\n")


def write_candidate_scores(
    path: str, nbest: NbestList, scores: CandidateScores, lambda_: float, gamma: float
) -> None:
    """Write one JSON object per candidate with every term of its score (JSON Lines)."""
    combined = scores.combined(lambda_, gamma)
    rankings = scores.ranking(lambda_, gamma)
    with open(path, "w", encoding="utf-8") as handle:
        for row, sentence_id in enumerate(nbest.ids):
            for rank, column in enumerate(rankings[row]):
                record = {
                    "id": sentence_id,
                    "rank": rank,
                    "generate_rank": column,
                    "hypothesis": nbest.candidates[row][column],
                    "log_p": float(scores.forward[row, column]),
                    "log_q": float(scores.backward[row, column]),
                    "length": int(scores.lengths[row, column]),
                    "score": float(combined[row, column]),
                }
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def _float_list(text: str) -> List[float]:
    try:
        values = [float(item) for item in text.split(",") if item.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from error
    if not values or not all(math.isfinite(value) for value in values):
        raise argparse.ArgumentTypeError(f"expected finite comma-separated numbers, got {text!r}")
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ami-rerank",
        description="Rerank the n-best lists of a fairseq-generate log with score = log p(T|S) + "
        "lambda * log q(S|T) + gamma * |T|, where p and q are the forward and backward networks of an "
        "AMI checkpoint, both log-likelihoods are recomputed sums in nats, and |T| counts sentencepiece "
        "tokens including EOS.",
    )
    parser.add_argument("log", metavar="LOG", help="output of fairseq-generate --nbest N (N > 1)")
    parser.add_argument("--checkpoint", required=True, metavar="FILE", help="AMI checkpoint (checkpoint_last.pt)")
    parser.add_argument("--spm-model", required=True, metavar="FILE", help="sentencepiece model of the checkpoint's data")
    parser.add_argument("--data-dir", metavar="DIR", help="binarized data directory, when it moved since training")
    parser.add_argument("--src", metavar="FILE", help="source file, line i for id i (default: the S- lines of LOG)")
    parser.add_argument("--lambda", dest="lambda_", type=float, metavar="L", help="weight of log q(S|T)")
    parser.add_argument("--gamma", type=float, metavar="G", help="reward per target token in nats (default: 0)")
    parser.add_argument(
        "--sentencepiece", choices=("auto", "always", "never"), default="auto",
        help="decode sentencepiece pieces in the logs (auto: when a field contains '\u2581')",
    )
    parser.add_argument("--allow-missing-ids", action="store_true", help="rerank the ids present when some are missing")
    parser.add_argument("--batch-size", type=int, default=64, metavar="N", help="pairs per scoring batch (default: 64)")

    tuning = parser.add_argument_group("tuning lambda and gamma on a validation n-best log")
    tuning.add_argument("--tune-on", metavar="VALID_LOG", help="fairseq-generate --nbest N log of the validation set")
    tuning.add_argument("--tune-ref", metavar="FILE", help="validation references, line i for id i (default: T- lines of VALID_LOG)")
    tuning.add_argument("--tune-src", metavar="FILE", help="validation sources, line i for id i (default: S- lines of VALID_LOG)")
    tuning.add_argument(
        "--tune-metric", default="bleu", metavar="METRIC",
        help="objective: bleu (sacreBLEU, 0-100), distinct-N (100 * corpus distinct-N) or bleu+distinct-N "
        "(BLEU + W * 100 * distinct-N); default: bleu",
    )
    tuning.add_argument("--distinct-weight", type=float, default=1.0, metavar="W", help="W of bleu+distinct-N (default: 1)")
    tuning.add_argument(
        "--lambda-grid", type=_float_list, default=list(DEFAULT_LAMBDA_GRID), metavar="L,...",
        help="lambda values to try (default: " + ",".join(f"{value:g}" for value in DEFAULT_LAMBDA_GRID) + ")",
    )
    tuning.add_argument(
        "--gamma-grid", type=_float_list, default=list(DEFAULT_GAMMA_GRID), metavar="G,...",
        help="gamma values to try (default: " + ",".join(f"{value:g}" for value in DEFAULT_GAMMA_GRID) + ")",
    )
    tuning.add_argument("--tune-json", metavar="FILE", help="write the objective at every grid point to this JSON file")

    output = parser.add_argument_group("output")
    output.add_argument("--output", required=True, metavar="FILE", help="reranked log in fairseq-generate's format")
    output.add_argument("--output-text", metavar="FILE", help="best candidate per id, one per line, in id order")
    output.add_argument("--output-scores", metavar="FILE", help="every candidate's log p, log q, length and score (JSON Lines)")
    return parser


def _check_args(parser: argparse.ArgumentParser, args) -> None:
    if args.tune_on is None:
        for name in ("tune_ref", "tune_src", "tune_json"):
            if getattr(args, name) is not None:
                parser.error(f"--{name.replace('_', '-')} needs --tune-on VALID_LOG")
        if args.lambda_ is None:
            parser.error("pass --lambda (and optionally --gamma), or tune both with --tune-on VALID_LOG")
    elif args.lambda_ is not None or args.gamma is not None:
        parser.error("--tune-on chooses lambda and gamma; drop --lambda/--gamma or drop --tune-on")
    if args.batch_size < 1:
        parser.error(f"--batch-size must be >= 1, got {args.batch_size}")
    for option in ("output_text", "output_scores", "tune_json"):
        path = getattr(args, option)
        if path is not None and os.path.abspath(path) == os.path.abspath(args.output):
            parser.error(f"--{option.replace('_', '-')} and --output are the same file {path}")
    if os.path.abspath(args.output) == os.path.abspath(args.log):
        parser.error(f"--output {args.output} would overwrite the input log; choose another file")


def _read_nbest_from_args(args, log_path: str, source_path: Optional[str]) -> NbestList:
    return read_nbest_log(
        log_path,
        source_lines=read_lines(source_path) if source_path else None,
        source_path=source_path,
        sentencepiece=args.sentencepiece,
        allow_missing_ids=args.allow_missing_ids,
    )


def _tuning_references(args, tune_nbest: NbestList, objective: TuningObjective) -> Optional[List[str]]:
    """Return the references of the tuning log's ids: --tune-ref lines, else its T- lines."""
    if args.tune_ref:
        return _select_lines(read_lines(args.tune_ref), args.tune_ref, tune_nbest, args.allow_missing_ids)
    if objective.needs_references:
        if tune_nbest.references is None:
            raise ValueError(
                f"tuning on {objective.name} needs references, but {args.tune_on} has no T- line for "
                "every id; pass the validation reference file with --tune-ref FILE"
            )
        logger.info("tuning references: the T- lines of %s", args.tune_on)
    return tune_nbest.references


def _print_tuning(args, tune_nbest: NbestList, result: TuningResult) -> None:
    baseline = result.value_at(0.0, 0.0)
    print(f"tuning on {args.tune_on} ({len(tune_nbest.ids)} ids): objective = {result.objective.describe()}")
    print(f"chosen lambda = {result.lambda_:g}, gamma = {result.gamma:g}: objective {result.value:.4f}")
    if baseline is not None:
        print(f"lambda = 0, gamma = 0 (forward network alone): objective {baseline:.4f}")


def _write_outputs(args, nbest: NbestList, scores: CandidateScores, lambda_: float, gamma: float) -> None:
    write_generate_log(args.output, nbest, scores, lambda_, gamma)
    logger.info("wrote %s", args.output)
    if args.output_text:
        write_text(args.output_text, nbest, scores, lambda_, gamma)
        logger.info("wrote %s", args.output_text)
    if args.output_scores:
        write_candidate_scores(args.output_scores, nbest, scores, lambda_, gamma)
        logger.info("wrote %s", args.output_scores)


def _rerank_from_args(args) -> None:
    # Every input is read and checked before the checkpoint is loaded.
    nbest = _read_nbest_from_args(args, args.log, args.src)
    tune_nbest = None
    if args.tune_on:
        objective = parse_objective(args.tune_metric, args.distinct_weight)
        tune_nbest = _read_nbest_from_args(args, args.tune_on, args.tune_src)
        tune_references = _tuning_references(args, tune_nbest, objective)

    from ami.scoring import AMIScorer

    scorer = AMIScorer(args.checkpoint, args.spm_model, data_dir=args.data_dir)
    if tune_nbest is None:
        lambda_ = args.lambda_
        gamma = 0.0 if args.gamma is None else args.gamma
    else:
        tune_scores = score_candidates(scorer, tune_nbest, args.batch_size)
        result = tune(tune_nbest, tune_scores, tune_references, objective, args.lambda_grid, args.gamma_grid)
        lambda_, gamma = result.lambda_, result.gamma
        _print_tuning(args, tune_nbest, result)
        if args.tune_json:
            with open(args.tune_json, "w", encoding="utf-8") as handle:
                json.dump({"tune_on": args.tune_on, "tune_ref": args.tune_ref, **result.to_json()}, handle, indent=2)
                handle.write("\n")
            logger.info("wrote %s", args.tune_json)

    scores = score_candidates(scorer, nbest, args.batch_size)
    _write_outputs(args, nbest, scores, lambda_, gamma)
    changed = int((scores.best(lambda_, gamma) != 0).sum())
    print(
        f"reranked {len(nbest.ids)} ids ({nbest.num_candidates} candidates) of {args.log} with lambda = "
        f"{lambda_:g}, gamma = {gamma:g}: the best candidate changed for {changed} ids"
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``ami-rerank``; returns the exit status (0, or 1 on invalid input or an unwritable output)."""
    logging.basicConfig(
        format="%(asctime)s | %(levelname)s | %(name)s | %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
        level=os.environ.get("LOGLEVEL", "INFO").upper(),
        stream=sys.stderr,
    )
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_args(parser, args)
    try:
        _rerank_from_args(args)
    except (ValueError, OSError) as error:
        logger.error("%s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
