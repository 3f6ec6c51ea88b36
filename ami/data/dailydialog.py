"""Context-response pairs from DailyDialog.

``ijcnlp_dailydialog.zip`` contains ``dialogues_text.txt`` (all 13,118
dialogues) and the official split as ``train.zip``, ``validation.zip`` and
``test.zip``, which hold ``train/dialogues_train.txt``,
``validation/dialogues_validation.txt`` and ``test/dialogues_test.txt``.
Each line is one dialogue whose turns each end with ``__eou__``:

    Say , Jim , how about a few beers ? __eou__ That ’ s tempting . __eou__

This converter reads the official split, from extracted folders or directly
from the three inner zip files; ``dialogues_text.txt`` alone has no split and
is rejected. Every turn after the first becomes a target, with the previous
``context_turns`` turns joined by `` <sep> `` as its source.

The text is pre-tokenized, with spaces around punctuation and around the
apostrophe (U+2019) of contractions. By default it is detokenized with the
rules of ``detokenize``, so the model reads and writes ordinary text and the
references are ordinary text too. ``--keep-tokenization`` keeps the
distributed spacing instead.
"""

import argparse
import io
import logging
import re
import zipfile
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from ami.data import download
from ami.data.chitchat import TURN_SEPARATOR
from ami.data.download import InputFormatError, normalize_whitespace
from ami.data.parallel import SPLITS

logger = logging.getLogger(__name__)

CONVERTER_VERSION = 1
DEFAULT_VOCAB_SIZE = 8000
DEFAULT_CONTEXT_TURNS = 3
END_OF_UTTERANCE = "__eou__"
# Our split name -> the official one, used in the folder, zip and file names.
OFFICIAL_SPLITS = {"train": "train", "valid": "validation", "test": "test"}

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'"})
_CONTRACTION = re.compile(r"(\w) ' (s|m|d|t|re|ve|ll)\b", re.IGNORECASE)
_CLOCK_TIME = re.compile(r"(\d) : (\d)")
_SPACE_BEFORE_CLOSING = re.compile(r" +([.,!?;:%)\]}])")
_SPACE_AFTER_OPENING = re.compile(r"([(\[{$]) +")

Pair = Tuple[str, str]


def detokenize(text: str) -> str:
    """Undo DailyDialog's spacing around punctuation.

    The rules run in this order. Curly single quotes become ``'``. ``I ' m``,
    ``don ' t`` and the like lose their spaces. ``5 : 30`` becomes ``5:30``.
    Spaces before ``. , ! ? ; : % ) ] }`` and after ``( [ { $`` are removed.
    Double quotes keep their spaces, because an opening and a closing ``"``
    look the same.
    """
    text = normalize_whitespace(text.translate(_APOSTROPHES))
    text = _CONTRACTION.sub(r"\1'\2", text)
    text = _CLOCK_TIME.sub(r"\1:\2", text)
    text = _SPACE_BEFORE_CLOSING.sub(r"\1", text)
    return _SPACE_AFTER_OPENING.sub(r"\1", text)


def parse_dialogue(line: str, path, line_number: int, keep_tokenization: bool = False) -> List[str]:
    """Split one dialogue line into turns.

    Raises InputFormatError when the line has no ``__eou__``, text follows
    the last ``__eou__`` (a turn without its terminator) or a turn is empty.
    """
    if END_OF_UTTERANCE not in line:
        raise InputFormatError(path, line_number, f"no {END_OF_UTTERANCE} turn terminator")
    *turns, rest = line.split(END_OF_UTTERANCE)
    if rest.strip():
        raise InputFormatError(
            path, line_number, f"text after the last {END_OF_UTTERANCE}: {rest.strip()[:60]!r}"
        )
    cleaned = []
    for index, turn in enumerate(turns, start=1):
        text = normalize_whitespace(turn) if keep_tokenization else detokenize(turn)
        if not text:
            raise InputFormatError(path, line_number, f"turn {index} is empty")
        cleaned.append(text)
    return cleaned


def read_dialogues(lines: Sequence[str], path, keep_tokenization: bool = False) -> List[List[str]]:
    """Parse dialogue lines (blank lines are skipped) into lists of turns."""
    dialogues = []
    for line_number, line in enumerate(lines, start=1):
        if line.strip():
            dialogues.append(parse_dialogue(line.rstrip("\r\n"), path, line_number, keep_tokenization))
    return dialogues


def dialogue_pairs(turns: Sequence[str], context_turns: int) -> Iterator[Pair]:
    """Yield (previous ``context_turns`` turns joined with <sep>, next turn) for one dialogue."""
    for index in range(1, len(turns)):
        context = turns[max(0, index - context_turns):index]
        yield f" {TURN_SEPARATOR} ".join(context), turns[index]


def locate_split(from_dir, split: str) -> Tuple[Path, Optional[str]]:
    """Return (file, None) for an extracted split file or (zip file, member) for a zipped one."""
    official = OFFICIAL_SPLITS[split]
    file_name = f"dialogues_{official}.txt"
    try:
        return download.find_input_file(from_dir, [file_name], f"DailyDialog {official} split"), None
    except FileNotFoundError:
        pass
    try:
        archive = download.find_input_file(from_dir, [f"{official}.zip"], f"DailyDialog {official} split")
    except FileNotFoundError as err:
        hint = ""
        try:
            download.find_input_file(from_dir, ["dialogues_text.txt"], "DailyDialog text")
            hint = (
                " dialogues_text.txt was found, but it has no train/validation/test split; "
                "use the official train.zip, validation.zip and test.zip from the same archive."
            )
        except FileNotFoundError:
            pass
        raise FileNotFoundError(
            f"DailyDialog {official} split not found below {from_dir}: expected {file_name} "
            f"or {official}.zip.{hint}"
        ) from err
    member = f"{official}/{file_name}"
    with zipfile.ZipFile(archive) as handle:
        if member not in handle.namelist():
            raise FileNotFoundError(f"{archive} has no member {member}")
    return archive, member


def read_split_lines(location: Tuple[Path, Optional[str]]) -> Tuple[List[str], str]:
    """Return the lines of a split file and a name for error messages."""
    path, member = location
    if member is None:
        with open(path, encoding="utf-8") as handle:
            return handle.readlines(), str(path)
    with zipfile.ZipFile(path) as archive, archive.open(member) as raw:
        return io.TextIOWrapper(raw, encoding="utf-8").readlines(), f"{path}:{member}"


def convert(
    from_dir,
    raw_dir,
    context_turns: int = DEFAULT_CONTEXT_TURNS,
    keep_tokenization: bool = False,
    limits: Optional[Dict[str, Optional[int]]] = None,
    force: bool = False,
) -> Dict[str, int]:
    """Write ``raw_dir/{train,valid,test}.{src,tgt}`` from the official split; return pairs per split."""
    if context_turns < 1:
        raise ValueError(f"context_turns must be at least 1, got {context_turns}")
    limits = limits or {}
    locations = {split: locate_split(from_dir, split) for split in SPLITS}
    record = {
        "converter": "dailydialog",
        "version": CONVERTER_VERSION,
        "settings": {"context_turns": context_turns, "keep_tokenization": keep_tokenization, "limits": limits},
        "inputs": download.input_fingerprint(path for path, _ in locations.values()),
        "members": {split: member for split, (_, member) in locations.items()},
    }

    def write_splits(raw_dir: Path) -> Dict[str, int]:
        counts = {}
        for split in SPLITS:
            lines, name = read_split_lines(locations[split])
            dialogues = read_dialogues(lines, name, keep_tokenization)
            logger.info("%s: %d dialogues in %s", split, len(dialogues), name)
            pairs = (pair for turns in dialogues for pair in dialogue_pairs(turns, context_turns))
            counts[split] = download.write_parallel_split(raw_dir, split, pairs, limits.get(split))
        return counts

    return download.convert_once(raw_dir, record, write_splits, force=force)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ami.data.dailydialog",
        description=(
            "Build context-response pairs from DailyDialog's official train/validation/test split, "
            "train sentencepiece and binarize them for fairseq."
        ),
    )
    parser.add_argument(
        "--from", dest="from_dir", required=True, metavar="DIR",
        help="directory with the extracted ijcnlp_dailydialog archive (searched recursively)",
    )
    parser.add_argument(
        "--context-turns", type=int, default=DEFAULT_CONTEXT_TURNS, metavar="K",
        help=f"number of previous turns in the source (default: {DEFAULT_CONTEXT_TURNS})",
    )
    parser.add_argument(
        "--keep-tokenization", action="store_true",
        help="keep the distributed spaces around punctuation instead of detokenizing",
    )
    download.add_common_arguments(parser, DEFAULT_VOCAB_SIZE)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point of ``python -m ami.data.dailydialog``."""
    parser = get_parser()
    args = parser.parse_args(argv)
    download.check_common_options(parser, args, {"--context-turns": args.context_turns})
    download.configure_logging()
    download.convert_and_prepare(
        "python -m ami.data.dailydialog", args,
        lambda raw_dir, limits: convert(
            args.from_dir, raw_dir, args.context_turns, args.keep_tokenization, limits, args.force
        ),
        user_defined_symbols=(TURN_SEPARATOR,),
    )

if __name__ == "__main__":
    main()
