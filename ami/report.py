"""Plot the training curves of AMI runs and write a Markdown report.

The curves come from the TensorBoard event files that ``fairseq-train
--tensorboard-logdir DIR`` writes to ``DIR/train_inner``, ``DIR/train`` and
``DIR/<valid subset>``. Each such DIR is one run. A run directory may
contain several runs, as ``work/demo/tensorboard/{pretrain,mle,ami}`` does,
and then every plot has one curve per run. The metrics table comes from the
evaluation JSON of ``ami-evaluate --json`` or ``compare_systems``.

Command line (installed as ``ami-report``)::

    ami-report work/demo                       # writes work/demo/report/report.md and PNGs
    ami-report runs/ --eval-json scores.json --output runs/report.md
"""

import argparse
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

logger = logging.getLogger("ami.report")

EVENT_FILE_PATTERN = "events.out.tfevents.*"
TRAIN_SPLITS = ("train_inner", "train")


# ---------------------------------------------------------------------------
# Reading TensorBoard scalars
# ---------------------------------------------------------------------------


@dataclass
class Run:
    """Scalars of one fairseq-train run, as {split: {tag: (updates, values)}}.

    Splits are the directory names fairseq writes: ``train_inner`` (every
    --log-interval updates), ``train`` (every epoch) and one per validation
    subset.
    """

    name: str
    directory: Path
    scalars: Dict[str, Dict[str, Tuple[np.ndarray, np.ndarray]]]
    start_time: float
    offset: int = 0

    def shift_updates(self, offset: int) -> None:
        """Add ``offset`` to every update number, for a run that continued another one."""
        self.offset += offset
        for split in self.scalars.values():
            for tag, (updates, values) in split.items():
                split[tag] = (updates + offset, values)

    @property
    def validation_splits(self) -> List[str]:
        return sorted(split for split in self.scalars if split not in TRAIN_SPLITS)

    def train_series(self, tag: str) -> Optional[Tuple[str, np.ndarray, np.ndarray]]:
        """Return (split, updates, values) of ``tag`` from train_inner, else from train, else None."""
        for split in TRAIN_SPLITS:
            if tag in self.scalars.get(split, {}):
                return (split, *self.scalars[split][tag])
        return None

    def validation_series(self, tag: str) -> List[Tuple[str, np.ndarray, np.ndarray]]:
        """Return (split, updates, values) of ``tag`` for every validation subset that logged it."""
        return [(split, *self.scalars[split][tag]) for split in self.validation_splits if tag in self.scalars[split]]

    @property
    def last_update(self) -> int:
        steps = [int(updates.max()) for split in self.scalars.values() for updates, _ in split.values() if updates.size]
        return max(steps, default=0)


def find_event_directories(root: Path) -> List[Path]:
    """Return every directory under ``root`` (itself included) that contains an event file, sorted."""
    return sorted({path.parent for path in root.rglob(EVENT_FILE_PATTERN) if path.is_file()})


def _read_scalars(directory: Path) -> Tuple[Dict[str, Tuple[np.ndarray, np.ndarray]], float]:
    """Read all scalars of one event directory. Returns ({tag: (steps, values)}, earliest wall time)."""
    from tensorboard.backend.event_processing import event_accumulator

    # size_guidance 0 keeps every event. The default keeps a random sample of 10,000.
    accumulator = event_accumulator.EventAccumulator(
        str(directory), size_guidance={event_accumulator.SCALARS: 0}
    )
    accumulator.Reload()
    scalars = {}
    start = float("inf")
    for tag in accumulator.Tags()["scalars"]:
        events = accumulator.Scalars(tag)
        scalars[tag] = (
            np.array([event.step for event in events], dtype=np.int64),
            np.array([event.value for event in events], dtype=np.float64),
        )
        if events:
            start = min(start, events[0].wall_time)
    return scalars, start


def load_runs(
    root: Path, names: Optional[Sequence[str]] = None, offsets: Optional[Dict[str, int]] = None
) -> List[Run]:
    """Read every fairseq run under ``root``, ordered by start time or by ``names``.

    An event directory ``<run>/<split>`` adds the split to the run
    ``<run>``. Run names are the run directories relative to their common
    parent, or the directory's own name when there is one run. ``offsets``
    maps run names to a number of updates added to their update numbers.
    Raises FileNotFoundError when ``root`` has no event file, and
    ValueError when a name in ``names`` or ``offsets`` matches no run.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"run directory {str(root)!r} not found")
    directories = find_event_directories(root)
    if not directories:
        raise FileNotFoundError(
            f"no TensorBoard event files ({EVENT_FILE_PATTERN}) found under {root.resolve()}; pass the "
            "directory given to fairseq-train --tensorboard-logdir, or a directory above it"
        )

    by_run: Dict[Path, Dict[str, Path]] = {}
    for directory in directories:
        by_run.setdefault(directory.parent, {})[directory.name] = directory
    run_directories = sorted(by_run)
    common = Path(os.path.commonpath([str(path) for path in run_directories]))

    runs = []
    for run_directory in run_directories:
        relative = run_directory.relative_to(common).as_posix()
        name = run_directory.name if relative == "." else relative
        scalars, start = {}, float("inf")
        for split, directory in sorted(by_run[run_directory].items()):
            scalars[split], split_start = _read_scalars(directory)
            start = min(start, split_start)
        logger.info(
            "run %s: %s (%s)", name, run_directory, ", ".join(f"{split}: {len(tags)} scalars" for split, tags in scalars.items())
        )
        runs.append(Run(name, run_directory, scalars, start))

    known = {run.name: run for run in runs}
    for option, requested in (("--runs", names or []), ("--offset", list(offsets or {}))):
        unknown = [name for name in requested if name not in known]
        if unknown:
            raise ValueError(
                f"{option} names {', '.join(unknown)} not found under {root}; runs found: {', '.join(known)}"
            )
    for name, offset in (offsets or {}).items():
        known[name].shift_updates(offset)
    if names:
        return [known[name] for name in names]
    return sorted(runs, key=lambda run: (run.start_time, run.name))


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------


@dataclass
class Series:
    """One scalar in a panel: from the training splits or the validation subsets."""

    tag: str
    label: str
    source: str = "train"
    linestyle: str = "-"


@dataclass
class Panel:
    title: str
    ylabel: str
    series: List[Series]


@dataclass
class FigureSpec:
    """A PNG file ``<name>.png`` with one panel per subplot."""

    name: str
    title: str
    panels: List[Panel]
    reverse_game: bool = False


def _game_figures(prefix: str, game: str) -> List[FigureSpec]:
    """Figures of the terms the adversarial game logs, for tags with ``prefix``."""
    reverse = bool(prefix)
    return [
        FigureSpec(
            f"{prefix}reward",
            f"{game}: generator reward and its baseline",
            [
                Panel("reward", "nats per token", [
                    Series(f"{prefix}reward", "reward"),
                    Series(f"{prefix}reward_baseline", "baseline", linestyle="--"),
                ]),
                Panel("policy gradient", "nats per token", [
                    Series(f"{prefix}generator_pg_loss", "pg loss"),
                    Series(f"{prefix}reward_advantage", "mean |advantage|", linestyle=":"),
                ]),
            ],
            reverse,
        ),
        FigureSpec(
            f"{prefix}noise",
            f"{game}: noise network",
            [
                Panel("noise loss", "loss", [
                    Series(f"{prefix}noise_loss", "noise loss"),
                    Series(f"{prefix}noise_kl", "KL to the prior"),
                ]),
                Panel("noise size", "root mean square", [Series(f"{prefix}noise_rms", "noise rms")]),
            ],
            reverse,
        ),
        FigureSpec(
            f"{prefix}judge",
            f"{game}: judge terms on synthetic pairs",
            [
                Panel("judge loss", "nats per token", [Series(f"{prefix}judge_synthetic_loss", "judge loss")]),
                Panel("judge NLL of synthetic pairs", "nats per token", [Series(f"{prefix}judge_synthetic_nll", "judge NLL")]),
                Panel("synthetic weight", "weight", [Series(f"{prefix}synthetic_weight", "weight")]),
            ],
            reverse,
        ),
    ]


FIGURES: List[FigureSpec] = [
    FigureSpec(
        "nll",
        "Negative log-likelihood of real pairs",
        [
            Panel("forward network p(T|S)", "bits per token", [
                Series("forward_nll", "train"), Series("forward_nll", "valid", source="valid"),
            ]),
            Panel("backward network q(S|T)", "bits per token", [
                Series("backward_nll", "train"), Series("backward_nll", "valid", source="valid"),
            ]),
        ],
    ),
    *_game_figures("", "AMI game"),
    FigureSpec(
        "mi_lower_bound",
        "Validation lower bound on I(S;T) - H(S): mean log q(S|T)",
        [Panel("mi_lower_bound", "nats per source sentence", [Series("mi_lower_bound", "valid", source="valid")])],
    ),
    *_game_figures("reverse_", "reverse game"),
]


@dataclass
class FigureResult:
    """A written figure or the reason it was not written, the scalars it lacked and its curve labels."""

    spec: FigureSpec
    path: Optional[Path]
    missing: List[str] = field(default_factory=list)
    reason: str = ""
    labels: List[str] = field(default_factory=list)


def _series_data(run: Run, series: Series) -> List[Tuple[str, np.ndarray, np.ndarray]]:
    if series.source == "train":
        found = run.train_series(series.tag)
        return [found] if found else []
    return run.validation_series(series.tag)


def plot_figure(spec: FigureSpec, runs: List[Run], out_dir: Path) -> FigureResult:
    """Write ``<out_dir>/<spec.name>.png`` with the runs that logged its scalars.

    Panels without data in any run are left out. When no panel has data,
    nothing is written and the result gives the reason. ``missing`` lists
    each scalar that some run lacks, with the runs.
    """
    from matplotlib.figure import Figure

    missing = []
    panels = []
    for panel in spec.panels:
        lines = []
        for series in panel.series:
            absent = []
            for index, run in enumerate(runs):
                found = _series_data(run, series)
                if not found:
                    absent.append(run.name)
                for split, updates, values in found:
                    lines.append((index, run.name, series, split, updates, values))
            if absent:
                where = "validation subsets" if series.source == "valid" else "train_inner or train"
                missing.append(f"{series.tag} ({where}) in run{'s' if len(absent) > 1 else ''} {', '.join(absent)}")
        if lines:
            panels.append((panel, lines))
    if not panels:
        return FigureResult(spec, None, missing, reason="no run logged any of its scalars")

    figure = Figure(figsize=(5.0 * len(panels), 3.8))
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    colors = [f"C{index % 10}" for index in range(len(runs))]
    several_runs = len(runs) > 1
    labels = []
    for ax, (panel, lines) in zip(axes, panels):
        for index, run_name, series, split, updates, values in lines:
            label = series.label if series.source == "train" or split == "valid" else f"{series.label} ({split})"
            if several_runs:
                label = f"{run_name}: {label}"
            marker = "o" if series.source == "valid" else None
            ax.plot(updates, values, color=colors[index], linestyle=series.linestyle, marker=marker,
                    markersize=3, linewidth=1.2, label=label)
            labels.append(label)
        ax.set_title(panel.title)
        ax.set_xlabel("updates")
        ax.set_ylabel(panel.ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    figure.suptitle(spec.title)
    figure.tight_layout()
    path = out_dir / f"{spec.name}.png"
    figure.savefig(path, dpi=110)
    return FigureResult(spec, path, missing, labels=labels)


def plot_all(runs: List[Run], out_dir: Path) -> List[FigureResult]:
    """Write every figure of ``FIGURES`` that has data, and log a note for each missing scalar.

    The reverse-game figures are attempted only when some run logged a
    ``reverse_`` scalar, because forward-only runs never log them.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    has_reverse = any(tag.startswith("reverse_") for run in runs for split in run.scalars.values() for tag in split)
    if not has_reverse:
        logger.info("no run logged reverse_ scalars, so there are no reverse-game plots")
    results = []
    for spec in FIGURES:
        if spec.reverse_game and not has_reverse:
            continue
        result = plot_figure(spec, runs, out_dir)
        for note in result.missing:
            logger.info("%s.png: no %s, so no curve for it there", spec.name, note)
        if result.path is None:
            logger.warning("%s.png not written: %s", spec.name, result.reason)
        else:
            logger.info("wrote %s", result.path)
        results.append(result)
    return results


# ---------------------------------------------------------------------------
# Evaluation JSON
# ---------------------------------------------------------------------------


def _has_evaluate_layout(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("scores"), dict) and isinstance(data.get("metrics"), dict)


def _has_comparison_layout(data: Any) -> bool:
    systems = data.get("systems") if isinstance(data, dict) else None
    return isinstance(systems, list) and bool(systems) and all(_has_evaluate_layout(system) for system in systems)


def load_evaluation(path: Path) -> Dict[str, Any]:
    """Read an evaluation JSON in the layout of ``ami.evaluate.compare_systems``.

    A single-system ``ami.evaluate.evaluate`` report is wrapped as one
    system named after the file. Raises ValueError for other JSON.
    """
    with open(path, encoding="utf-8") as handle:
        try:
            data = json.load(handle)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON ({error})") from error
    if _has_comparison_layout(data):
        return data
    if _has_evaluate_layout(data):
        return {"systems": [{"name": Path(path).stem, **data}], "comparisons": []}
    raise ValueError(
        f"{path} is not an evaluation JSON: expected the output of ami-evaluate --json or compare_systems "
        "(a 'systems' list) or of ami.evaluate.evaluate ('scores' and 'metrics')"
    )


def find_evaluations(root: Path) -> List[Path]:
    """Return the JSON files directly in ``root`` that have an evaluation layout."""
    found = []
    for path in sorted(root.glob("*.json")):
        try:
            load_evaluation(path)
        except (ValueError, OSError) as error:
            logger.info("not an evaluation JSON, ignored: %s", error)
            continue
        found.append(path)
    return found


# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------


def _last_value(run: Run, tag: str) -> Optional[Tuple[int, float]]:
    """Return (update, value) of the last validation point of ``tag``, or None."""
    series = run.validation_series(tag)
    if not series:
        return None
    _, updates, values = series[0]
    return int(updates[-1]), float(values[-1])


def final_values_table(runs: List[Run]) -> str:
    """Return a Markdown table of each run's last update and last validation values."""
    columns = [
        ("forward_nll", "valid forward NLL (bits/token)", 3),
        ("backward_nll", "valid backward NLL (bits/token)", 3),
        ("mi_lower_bound", "valid mi_lower_bound (nats/sentence)", 2),
    ]
    lines = [
        "| run | updates | " + " | ".join(title for _, title, _ in columns) + " |",
        "|---|---:|" + "---:|" * len(columns),
    ]
    for run in runs:
        cells = []
        for tag, _, decimals in columns:
            last = _last_value(run, tag)
            cells.append("n/a" if last is None else f"{last[1]:.{decimals}f} (update {last[0]})")
        lines.append(f"| {run.name} | {run.last_update} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def build_markdown(
    root: Path,
    runs: List[Run],
    figures: List[FigureResult],
    evaluations: Dict[Path, Dict[str, Any]],
    output: Path,
) -> str:
    """Return the report: final values, the figures (relative links) and the evaluation tables."""
    from ami.evaluate import format_markdown

    shifted = [f"{run.name} by {run.offset}" for run in runs if run.offset]
    if shifted:
        counting = "Update numbers are shifted with --offset: " + ", ".join(shifted) + "."
    else:
        counting = (
            "Updates count from each run's own start, so a run started with --finetune-from-model counts "
            "from 0 again (shift it with --offset RUN=UPDATES)."
        )
    lines = [
        f"# Training report: {root}",
        "",
        f"{len(runs)} run{'s' if len(runs) > 1 else ''} from TensorBoard event files: "
        + ", ".join(f"{run.name} (`{run.directory}`)" for run in runs)
        + ". "
        + counting,
        "",
        "## Last values",
        "",
        final_values_table(runs),
        "",
        "## Curves",
        "",
        "Training curves come from train_inner (every --log-interval updates), or from train "
        "(every epoch) when a run has no train_inner; points with markers are validation values.",
    ]
    for result in figures:
        lines += ["", f"### {result.spec.title}", ""]
        if result.path is None:
            lines.append(f"Not plotted: {result.reason}.")
            continue
        link = os.path.relpath(result.path, output.parent)
        lines.append(f"![{result.spec.title}]({Path(link).as_posix()})")
        if result.missing:
            lines += ["", "Missing scalars: " + "; ".join(result.missing) + "."]

    lines += ["", "## Evaluation", ""]
    if not evaluations:
        lines.append(f"No evaluation JSON found in {root}; pass one with --eval-json FILE (ami-evaluate --json).")
    for path, report in evaluations.items():
        lines += [f"### {path.name}", "", f"From `{path}`.", "", format_markdown(report), ""]
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ami-report",
        description="Plot the TensorBoard scalars of AMI fairseq-train runs (NLL of both networks, reward "
        "and baseline, noise, judge terms, validation lower bound) and write a Markdown report with the "
        "plots and the metrics table of an evaluation JSON.",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="directory searched recursively for TensorBoard event files")
    parser.add_argument("--output", metavar="FILE", help="Markdown report (default: RUN_DIR/report/report.md)")
    parser.add_argument("--plots-dir", metavar="DIR", help="directory of the PNG files (default: that of --output)")
    parser.add_argument(
        "--eval-json", action="append", default=[], metavar="FILE",
        help="evaluation JSON of ami-evaluate --json or compare_systems; repeatable "
        "(default: every such JSON file directly in RUN_DIR)",
    )
    parser.add_argument("--runs", metavar="NAME,...", help="runs to plot, in this order (default: all, by start time)")
    parser.add_argument(
        "--offset", action="append", default=[], metavar="RUN=UPDATES",
        help="add UPDATES to the update numbers of RUN, e.g. mle=900 for a run that continued 900 "
        "pretraining updates with --finetune-from-model; repeatable",
    )
    return parser


def _parse_offsets(values: Sequence[str]) -> Dict[str, int]:
    offsets = {}
    for value in values:
        name, _, number = value.partition("=")
        if not name.strip() or not number.strip().lstrip("-").isdigit():
            raise ValueError(f"invalid --offset {value!r}; expected RUN=UPDATES, e.g. mle=900")
        offsets[name.strip()] = int(number)
    return offsets


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``ami-report``; returns the exit status (0, or 1 on invalid input)."""
    logging.basicConfig(
        format="%(asctime)s | %(levelname)s | %(name)s | %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
        level=os.environ.get("LOGLEVEL", "INFO").upper(),
        stream=sys.stderr,
    )
    # tensorboard's event reader logs every file it finishes at INFO level.
    logging.getLogger("tensorboard").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    root = Path(args.run_dir)
    output = Path(args.output) if args.output else root / "report" / "report.md"
    plots_dir = Path(args.plots_dir) if args.plots_dir else output.parent
    names = [name.strip() for name in args.runs.split(",") if name.strip()] if args.runs else None

    try:
        runs = load_runs(root, names, _parse_offsets(args.offset))
        eval_paths = [Path(path) for path in args.eval_json] if args.eval_json else find_evaluations(root)
        evaluations = {path: load_evaluation(path) for path in eval_paths}
        if not evaluations:
            logger.warning("no evaluation JSON in %s; the report has no metrics table (pass --eval-json FILE)", root)
        figures = plot_all(runs, plots_dir)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(build_markdown(root, runs, figures, evaluations, output), encoding="utf-8")
    except (ValueError, OSError) as error:
        logger.error("%s", error)
        return 1
    written = sum(result.path is not None for result in figures)
    print(f"wrote {output} with {written} plots in {plots_dir} and {len(evaluations)} evaluation tables")
    return 0


if __name__ == "__main__":
    sys.exit(main())
