"""Evaluation and report of the demo: one table for the baseline and AMI."""

import json
import logging
from pathlib import Path

from ami.evaluate import EvaluationSettings, compare_systems, format_markdown
from ami.generate_log import parse_generate_log, read_lines
from ami.scoring import register_mi_bound_metric

logger = logging.getLogger("ami.demo")


def write_report(work: Path, data: Path, systems, judge_checkpoint: Path, args) -> str:
    """Evaluate every system's test output, write report.md/json and return the Markdown."""
    register_mi_bound_metric()
    sources = read_lines(str(data / "raw" / "test.src"))
    references = read_lines(str(data / "raw" / "test.tgt"))

    hypotheses = {}
    for name in systems:
        log = parse_generate_log(str(work / f"generate-{name}.log"), require_references=True)
        if len(log.hypotheses) != len(references):
            raise RuntimeError(
                f"generate-{name}.log has {len(log.hypotheses)} hypotheses for {len(references)} test pairs"
            )
        hypotheses[name] = log.hypotheses

    settings = EvaluationSettings(
        metrics=("bleu", "distinct", "entropy", "length", "mi_bound"),
        extra={
            "mi_checkpoint": str(judge_checkpoint),
            "mi_spm_model": str(data / "spm" / "sentencepiece.model"),
            "mi_data_dir": str(data / "bin"),
        },
    )
    logger.info("step 6/6 evaluation: metrics and paired bootstrap over %d test pairs", len(references))
    report = compare_systems(hypotheses, references, sources, settings, num_resamples=1000, seed=args.seed)

    report["demo_settings"] = vars(args)
    report["examples"] = [
        {"source": sources[i], "reference": references[i], **{n: hypotheses[n][i] for n in hypotheses}}
        for i in range(min(8, len(sources)))
    ]
    (work / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")

    markdown = format_markdown(report)
    lines = [markdown, "", "Examples (test pairs 0-7):", ""]
    for example in report["examples"]:
        lines.append(f"- source: {example['source']}")
        lines.append(f"  - reference: {example['reference']}")
        for name in hypotheses:
            lines.append(f"  - {name}: {example[name]}")
    text = "\n".join(lines)
    (work / "report.md").write_text(text + "\n", encoding="utf-8")
    return text
