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
    None when the log has no S- or T- lines. ``hypothesis_field`` is "D" or
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

    def flat_nbest(self) -> Dict[str, List[str]]:
        """Return every hypothesis with its source and reference repeated to match.

        Keys: "hypotheses", "sources", "references" (the latter two None when
        absent); used to evaluate all n-best hypotheses instead of the best.
        """
        hypotheses: List[str] = []
        sources: Optional[List[str]] = [] if self.sources is not None else None
        references: Optional[List[str]] = [] if self.references is not None else None
        for index, candidates in enumerate(self.nbest):
            hypotheses.extend(candidates)
            if sources is not None:
                sources.extend([self.sources[index]] * len(candidates))
            if references is not None:
                references.extend([self.references[index]] * len(candidates))
        return {"hypotheses": hypotheses, "sources": sources, "references": references}


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
        raise ValueError(
            f"{path}, line {line_number}: invalid UTF-8 ({error.reason} at byte {error.start}); "
            "convert the file to UTF-8, e.g. with iconv"
        ) from error
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def decode_sentencepiece(text: str) -> str:
    """Join sentencepiece pieces: ``"".join(pieces).replace("▁", " ").strip()``."""
    return "".join(text.split(" ")).replace(SENTENCEPIECE_SPACE, " ").strip()


def _format_ids(ids: List[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:_SHOWN_IDS])
    return shown + (f", ... ({len(ids)} in all)" if len(ids) > _SHOWN_IDS else "")


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
    (--nbest), the best is the one with the highest score, which is the
    first one in fairseq's own output; ties keep log order.

    ``sentencepiece``: "auto" detokenizes a field (sources, references or
    hypotheses) when any of its lines contains "▁"; "always" and "never"
    force it. fairseq's ``--post-process sentencepiece`` already
    detokenizes, and then "auto" changes nothing.

    Raises GenerateLogError when the log has no H-/D- line, when an id has
    two S- or T- lines (logs of several runs concatenated), when an id has
    an S-/T- line but no hypothesis, when ``require_references`` and an id
    has no T- line, and, unless ``allow_missing_ids``, when the ids are not
    0..max_id without gaps.
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
        raise GenerateLogError(f"{path}: ids {_format_ids(extra)} have H- lines but no D- lines; is the log truncated?")

    for kind in ("S", "T"):
        orphans = sorted(set(singles[kind]) - set(chosen))
        if orphans:
            raise GenerateLogError(
                f"{path}: ids {_format_ids(orphans)} have {kind}- lines but no hypothesis; is the log truncated?"
            )
    ids = sorted(chosen)
    if require_references:
        without_target = [i for i in ids if i not in singles["T"]]
        if without_target:
            raise GenerateLogError(
                f"{path}: ids {_format_ids(without_target)} have a hypothesis but no T- line (reference); "
                "pass the reference file with --ref instead"
            )

    missing = sorted(set(range(ids[-1] + 1)) - set(ids))
    if missing:
        message = (
            f"{path}: ids {_format_ids(missing)} are missing from 0..{ids[-1]}; fairseq may have skipped "
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
    sources = [singles["S"][i] for i in ids] if singles["S"] else None
    references = [singles["T"][i] for i in ids] if singles["T"] else None
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


def _decode_pieces(log: GenerateLog, mode: str) -> None:
    """Detokenize sentencepiece fields in place and record which ones."""
    if mode == "never":
        return

    def wanted(texts: List[str]) -> bool:
        return mode == "always" or any(SENTENCEPIECE_SPACE in text for text in texts)

    if wanted([text for candidates in log.nbest for text in candidates]):
        log.nbest = [[decode_sentencepiece(text) for text in candidates] for candidates in log.nbest]
        log.sentencepiece_decoded.append("hypotheses")
    if log.sources is not None and wanted(log.sources):
        log.sources = [decode_sentencepiece(text) for text in log.sources]
        log.sentencepiece_decoded.append("sources")
    if log.references is not None and wanted(log.references):
        log.references = [decode_sentencepiece(text) for text in log.references]
        log.sentencepiece_decoded.append("references")
    if log.sentencepiece_decoded:
        logger.info("%s: decoded sentencepiece pieces in %s", log.path, ", ".join(log.sentencepiece_decoded))
