"""Read the output of ``fairseq-generate`` into sources, references and hypotheses.

fairseq-generate writes, per test sentence with id i (its index in the test
set), tab-separated lines:

    S-i  <source>
    T-i  <target, i.e. the reference>
    H-i  <score>  <hypothesis in model tokens (BPE pieces unless --post-process)>
    D-i  <score>  <detokenized hypothesis>
    P-i  <per-token log-probabilities>

With ``--nbest N`` each id has N H-/D-/P- lines, best (highest score)
first. Batches finish in any order, so ids are not sorted in the log. Other
lines (logging, the final BLEU line, A-/I-/E- lines) are ignored.

Pitfalls handled here: T- lines come from the binarized target, so words
outside the dictionary appear as ``<unk>``. Pass the raw reference file in
that case. fairseq can also skip sentences, for example with
--skip-invalid-size-inputs-valid-test, which leaves gaps in the ids.
"""

import logging
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Union

logger = logging.getLogger(__name__)

SENTENCEPIECE_SPACE = "\u2581"
_LINE = re.compile(r"^([STHDP])-(\d+)\t")
_SHOWN_IDS = 20


class GenerateLogError(ValueError):
    """A fairseq-generate log that cannot be evaluated as it is."""


@dataclass
class GenerateLog:
    """Parsed fairseq-generate output, sorted by sentence id.

    ``hypotheses[k]`` is the best hypothesis of ``ids[k]`` and ``nbest[k]``
    all of its hypotheses, best first. ``sources`` and ``references`` are
    None unless every id has an S- or T- line respectively. ``hypothesis_field`` is "D" or
    "H". ``sentencepiece_decoded`` lists the fields ("sources",
    "references", "hypotheses") that contained ``▁`` pieces and were
    detokenized here.
    """

    path: str
    ids: List[int]
    hypotheses: List[str]
    nbest: List[List[str]]
    scores: List[float]
    sources: Optional[List[str]]
    references: Optional[List[str]]
    hypothesis_field: str
    sentencepiece_decoded: List[str] = field(default_factory=list)
    missing_ids: List[int] = field(default_factory=list)


def read_lines(path: str) -> List[str]:
    """Read a UTF-8 text file as a list of lines without line terminators.

    Lines are split on "\\n" only (a trailing "\\r" is removed), so Unicode
    line separators inside a segment do not create extra lines, unlike
    ``str.splitlines``. A final newline does not add an empty line. Raises
    ValueError for an empty file and for invalid UTF-8, naming the file and
    line.
    """
    with open(path, "rb") as handle:
        data = handle.read()
    if not data:
        raise ValueError(f"{path} is empty; expected one segment per line")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line_number = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1)
        raise ValueError(
            f"{path}, line {line_number}: invalid UTF-8 ({error.reason} at byte {column} of the line, "
            f"byte {error.start} of the file); "
            "convert the file to UTF-8, e.g. with iconv"
        ) from error
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def decode_sentencepiece(text: str) -> str:
    """Join sentencepiece pieces: ``"".join(pieces).replace("▁", " ").strip()``."""
    return "".join(text.split(" ")).replace(SENTENCEPIECE_SPACE, " ").strip()


def _format_ids(ids: List[int], singular: str = "", plural: str = "") -> str:
    """Return "id 3 <singular>" or "ids 3, 5, ... (N in all) <plural>"."""
    if len(ids) == 1:
        return f"id {ids[0]} {singular}".rstrip()
    shown = ", ".join(str(i) for i in ids[:_SHOWN_IDS])
    more = f", ... ({len(ids)} in all)" if len(ids) > _SHOWN_IDS else ""
    return f"ids {shown}{more} {plural}".rstrip()


def parse_generate_log(
    source: Union[str, Iterable[str]],
    require_references: bool = True,
    sentencepiece: str = "auto",
    allow_missing_ids: bool = False,
    name: Optional[str] = None,
) -> GenerateLog:
    """Parse a fairseq-generate log (a path, or an iterable of lines).

    The hypothesis of each id comes from its D- lines, or from its H- lines
    if the log has no D- line at all. With several hypotheses per id
    (--nbest), the best is the one with the highest score. fairseq prints
    it first, and among equal scores the first in the log wins.

    ``sentencepiece``: "auto" detokenizes a field (sources, references or
    hypotheses) when any of its lines contains "▁"; "always" and "never"
    force it. fairseq's ``--post-process sentencepiece`` already
    detokenizes, and then "auto" changes nothing.

    Raises GenerateLogError in these cases:

    * the log has no H- or D- line;
    * an id has two S- or T- lines (logs of several runs concatenated);
    * an id has an S- or T- line but no hypothesis;
    * ``require_references`` is set and an id has no T- line;
    * the ids are not 0..max_id without gaps, unless ``allow_missing_ids``.
    """
    if sentencepiece not in ("auto", "always", "never"):
        raise ValueError(f"invalid sentencepiece mode {sentencepiece!r}; expected auto, always or never")
    if isinstance(source, str):
        path = source
        lines: Iterable[str] = read_lines(source)
    else:
        path = name or "<lines>"
        lines = source

    singles: Dict[str, Dict[int, str]] = {"S": {}, "T": {}}
    candidates: Dict[str, Dict[int, List[tuple]]] = {"H": {}, "D": {}}
    for line_number, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        match = _LINE.match(line)
        if match is None:
            continue
        kind, sentence_id = match.group(1), int(match.group(2))
        rest = line[match.end() :]
        if kind in singles:
            if sentence_id in singles[kind]:
                raise GenerateLogError(
                    f"{path}, line {line_number}: second {kind}- line for id {sentence_id}; "
                    "is the file several fairseq-generate logs concatenated? Evaluate each log separately"
                )
            singles[kind][sentence_id] = rest
        elif kind in candidates:
            score_text, _, text = rest.partition("\t")
            try:
                score = float(score_text)
            except ValueError as error:
                raise GenerateLogError(
                    f"{path}, line {line_number}: expected '{kind}-{sentence_id}<TAB>score<TAB>text', "
                    f"but the score {score_text!r} is not a number"
                ) from error
            candidates[kind].setdefault(sentence_id, []).append((score, text))

    field_name = "D" if candidates["D"] else "H"
    chosen = candidates[field_name]
    if not chosen:
        raise GenerateLogError(
            f"{path} has no H- or D- lines; is it the stdout of fairseq-generate? "
            "(fairseq-interactive and --quiet runs do not print hypotheses)"
        )
    if field_name == "H":
        logger.warning(
            "%s has no D- lines; using H- lines, which are in model tokens unless fairseq-generate "
            "ran with --post-process",
            path,
        )
    elif set(candidates["H"]) - set(chosen):
        extra = sorted(set(candidates["H"]) - set(chosen))
        raise GenerateLogError(f"{path}: {_format_ids(extra, 'has', 'have')} H- lines but no D- lines; is the log truncated?")

    for kind in ("S", "T"):
        orphans = sorted(set(singles[kind]) - set(chosen))
        if orphans:
            raise GenerateLogError(
                f"{path}: {_format_ids(orphans, 'has', 'have')} {kind}- lines but no hypothesis; is the log truncated?"
            )
    ids = sorted(chosen)
    if require_references:
        without_target = [i for i in ids if i not in singles["T"]]
        if without_target:
            raise GenerateLogError(
                f"{path}: {_format_ids(without_target, 'has', 'have')} a hypothesis but no T- line (reference); "
                "pass the reference file with --ref instead"
            )

    missing = sorted(set(range(ids[-1] + 1)) - set(ids))
    if missing:
        message = (
            f"{path}: {_format_ids(missing, 'is', 'are')} missing from 0..{ids[-1]}; fairseq may have skipped "
            "them (e.g. --skip-invalid-size-inputs-valid-test or --max-tokens too small)"
        )
        if not allow_missing_ids:
            raise GenerateLogError(message + "; pass --allow-missing-ids to evaluate the others only")
        logger.warning("%s; evaluating the %d ids present", message, len(ids))

    nbest = []
    scores = []
    for sentence_id in ids:
        ranked = sorted(chosen[sentence_id], key=lambda item: -item[0])
        nbest.append([text for _, text in ranked])
        scores.append(ranked[0][0])
    sources = _complete_field(singles["S"], ids, "S", path)
    references = _complete_field(singles["T"], ids, "T", path)
    if references is not None and any("<unk>" in ref for ref in references):
        logger.warning(
            "%s: T- lines contain <unk> (words outside the target dictionary); "
            "pass the raw reference file with --ref for correct scores",
            path,
        )

    log = GenerateLog(
        path=path,
        ids=ids,
        hypotheses=[],
        nbest=nbest,
        scores=scores,
        sources=sources,
        references=references,
        hypothesis_field=field_name,
        missing_ids=missing,
    )
    _decode_pieces(log, sentencepiece)
    log.hypotheses = [candidates_of_id[0] for candidates_of_id in log.nbest]
    if any("@@ " in hypothesis for hypothesis in log.hypotheses):
        logger.warning(
            "%s: hypotheses contain '@@ ' (subword-nmt BPE); rerun fairseq-generate with "
            "--post-process subword_nmt or remove '@@ ' before evaluating",
            path,
        )
    return log


def _complete_field(lines: Dict[int, str], ids: List[int], kind: str, path: str) -> Optional[List[str]]:
    """Return the lines of ``kind`` in id order, or None unless every id has one."""
    if not lines:
        return None
    absent = [i for i in ids if i not in lines]
    if absent:
        logger.warning(
            "%s: %s no %s- line; ignoring all %s- lines", path, _format_ids(absent, "has", "have"), kind, kind
        )
        return None
    return [lines[i] for i in ids]


def _decode_pieces(log: GenerateLog, mode: str) -> None:
    """Detokenize sentencepiece fields in place and record which ones."""
    if mode == "never":
        return

    def should_decode(texts: List[str]) -> bool:
        return mode == "always" or any(SENTENCEPIECE_SPACE in text for text in texts)

    if should_decode([text for candidates in log.nbest for text in candidates]):
        log.nbest = [[decode_sentencepiece(text) for text in candidates] for candidates in log.nbest]
        log.sentencepiece_decoded.append("hypotheses")
    if log.sources is not None and should_decode(log.sources):
        log.sources = [decode_sentencepiece(text) for text in log.sources]
        log.sentencepiece_decoded.append("sources")
    if log.references is not None and should_decode(log.references):
        log.references = [decode_sentencepiece(text) for text in log.references]
        log.sentencepiece_decoded.append("references")
    if log.sentencepiece_decoded:
        logger.info("%s: decoded sentencepiece pieces in %s", log.path, ", ".join(log.sentencepiece_decoded))


@dataclass
class AlignedLogs:
    """Hypotheses of several logs on the same ids, with shared references and sources.

    ``systems`` maps each name to its hypotheses. ``description`` records
    the inputs for the JSON report.
    """

    systems: Dict[str, List[str]]
    references: Optional[List[str]]
    sources: Optional[List[str]]
    description: Dict[str, object]


def _select_lines(lines: List[str], path: str, log: GenerateLog, allow_missing_ids: bool) -> List[str]:
    """Return line i of a reference or source file for each id i of ``log``."""
    if log.ids[-1] >= len(lines):
        raise GenerateLogError(f"{log.path} has id {log.ids[-1]} but {path} has only {len(lines)} lines")
    if len(log.ids) != len(lines) and not allow_missing_ids:
        raise GenerateLogError(
            f"{log.path} has {len(log.ids)} ids but {path} has {len(lines)} lines; "
            "pass --allow-missing-ids to evaluate the ids present only"
        )
    return [lines[i] for i in log.ids]


def align_generate_logs(
    paths: List[str],
    names: List[str],
    reference_lines: Optional[List[str]] = None,
    reference_path: Optional[str] = None,
    source_lines: Optional[List[str]] = None,
    source_path: Optional[str] = None,
    require_references: bool = True,
    sentencepiece: str = "auto",
    allow_missing_ids: bool = False,
    nbest_all: bool = False,
) -> AlignedLogs:
    """Parse one log per system and check that they cover the same ids.

    References and sources come from ``reference_lines``/``source_lines``
    (line i for id i) when given, else from the first log's T-/S- lines.
    With ``nbest_all`` every n-best hypothesis is a segment, and references
    and sources are repeated to match. All logs must then have the same
    number of hypotheses per id. Raises GenerateLogError when the logs
    cover different ids or a file is too short for the ids.
    """
    logs = [
        parse_generate_log(
            path,
            require_references=require_references and reference_lines is None,
            sentencepiece=sentencepiece,
            allow_missing_ids=allow_missing_ids,
        )
        for path in paths
    ]
    first = logs[0]
    for log in logs[1:]:
        if log.ids != first.ids:
            only_first = sorted(set(first.ids) - set(log.ids))
            only_other = sorted(set(log.ids) - set(first.ids))
            raise GenerateLogError(
                f"{log.path} and {first.path} cover different ids (only in {first.path}: "
                f"{_format_ids(only_first) if only_first else 'none'}; only in {log.path}: "
                f"{_format_ids(only_other) if only_other else 'none'}); "
                "generate both on the same test set"
            )
        if log.references is not None and first.references is not None and log.references != first.references:
            differing = sum(a != b for a, b in zip(log.references, first.references))
            logger.warning(
                "%d T- lines of %s differ from %s; using those of %s", differing, log.path, first.path, first.path
            )

    references = first.references
    if reference_lines is not None:
        references = _select_lines(reference_lines, reference_path, first, allow_missing_ids)
    sources = first.sources
    if source_lines is not None:
        sources = _select_lines(source_lines, source_path, first, allow_missing_ids)

    systems = {name: log.hypotheses for name, log in zip(names, logs)}
    if nbest_all:
        repeat = [len(candidates) for candidates in first.nbest]
        for log in logs[1:]:
            if [len(candidates) for candidates in log.nbest] != repeat:
                raise GenerateLogError(
                    f"nbest_all needs the same number of hypotheses per id in every log, but {log.path} and "
                    f"{first.path} differ; run fairseq-generate with the same --nbest"
                )
        systems = {name: [text for candidates in log.nbest for text in candidates] for name, log in zip(names, logs)}
        if references is not None:
            references = [ref for ref, times in zip(references, repeat) for _ in range(times)]
        if sources is not None:
            sources = [src for src, times in zip(sources, repeat) for _ in range(times)]
        logger.info("scoring all %d n-best hypotheses", sum(repeat))

    description: Dict[str, object] = {
        "generate_logs": {
            name: {
                "path": log.path,
                "hypothesis_field": log.hypothesis_field,
                "sentencepiece_decoded": log.sentencepiece_decoded,
                "missing_ids": log.missing_ids,
                "nbest": max(len(candidates) for candidates in log.nbest),
            }
            for name, log in zip(names, logs)
        },
        "references": reference_path or (f"T- lines of {first.path}" if first.references is not None else None),
        "sources": source_path or (f"S- lines of {first.path}" if first.sources is not None else None),
        "nbest_all": nbest_all,
    }
    return AlignedLogs(systems, references, sources, description)
