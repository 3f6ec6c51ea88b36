"""Abstract-to-outcome pairs from ACLSum (the ``aclsum`` package).

``aclsum==0.1.2`` (MIT licence in its package metadata) ships
``aclsum/dataset/{train,val,test}.jsonl``: 100, 50 and 100 ACL Anthology
papers, one JSON object per line with the fields

    id, title, summary: {challenge, approach, outcome},
    sentences: {abstract, introduction, conclusion}: [sentence, ...],
    highlights, heuristic_highlights

The three summaries are short texts that the dataset's annotators wrote, in
0.1.2 one sentence each. This converter pairs the paper's abstract (its
sentences joined with spaces, as shipped: tokenized with spaces around
punctuation) with one summary aspect, ``outcome`` by default (written as is,
not tokenized). The shipped split is kept: train, val (written as ``valid``)
and test.

The JSONL files are read directly, located with ``importlib`` without
importing the package (whose ``__init__`` imports ``sienna``, a dependency
that this converter does not need). ``--from DIR`` reads the three files from
a directory instead.

Licences: the package metadata says MIT. The abstracts are text of ACL
Anthology papers, which the Anthology licenses as CC BY-NC-SA 3.0 for
material from before 2016 and CC BY 4.0 from 2016 on; the papers in ACLSum
span both periods.
"""

import argparse
import importlib.util
import json
import logging
from pathlib import Path
from typing import Dict, Iterator, Optional, Sequence, Tuple

from ami.data import download
from ami.data.download import InputFormatError, normalize_whitespace, truncate_words
from ami.data.parallel import SPLITS

logger = logging.getLogger(__name__)

CONVERTER_VERSION = 1
DEFAULT_VOCAB_SIZE = 1000
DEFAULT_MAX_SOURCE_WORDS = 400
ASPECTS = ("challenge", "approach", "outcome")
DEFAULT_ASPECT = "outcome"
# Our split name -> the package's file name.
FILE_NAMES = {"train": "train.jsonl", "valid": "val.jsonl", "test": "test.jsonl"}
PACKAGE_PIN = "aclsum==0.1.2"

Pair = Tuple[str, str]


def package_dataset_dir() -> Path:
    """Return the ``dataset`` directory of the installed ``aclsum`` package.

    ``importlib.util.find_spec`` finds a top-level package without running
    its ``__init__``. Raises FileNotFoundError when the package is missing.
    """
    spec = importlib.util.find_spec("aclsum")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the aclsum package is not installed. Run `make setup` (scripts/setup_env.sh installs "
            f"{PACKAGE_PIN}), or pass --from DIR with {', '.join(FILE_NAMES.values())}"
        )
    dataset_dir = Path(list(spec.submodule_search_locations)[0]) / "dataset"
    if not dataset_dir.is_dir():
        raise FileNotFoundError(f"{dataset_dir} not found; this converter expects the layout of {PACKAGE_PIN}")
    return dataset_dir


def _field(record: dict, path: Sequence[str], expected_type, file_path, line_number: int):
    value = record
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise InputFormatError(file_path, line_number, f"missing field {'.'.join(path)}")
        value = value[key]
    if not isinstance(value, expected_type):
        raise InputFormatError(
            file_path, line_number,
            f"field {'.'.join(path)} is a {type(value).__name__}, expected a {expected_type.__name__}",
        )
    return value


def read_pairs(path, aspect: str = DEFAULT_ASPECT, max_source_words: int = DEFAULT_MAX_SOURCE_WORDS) -> Iterator[Pair]:
    """Yield (abstract, summary) from one ACLSum JSONL file.

    Raises InputFormatError (file and line) for invalid JSON, a missing or
    mistyped field, an empty abstract or an empty summary. Blank lines are
    skipped.
    """
    if aspect not in ASPECTS:
        raise ValueError(f"invalid aspect {aspect!r}; expected one of {', '.join(ASPECTS)}")
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputFormatError(path, line_number, f"invalid JSON ({err.msg} at column {err.colno})") from err
            if not isinstance(record, dict):
                raise InputFormatError(path, line_number, "expected a JSON object")
            sentences = _field(record, ("sentences", "abstract"), list, path, line_number)
            if not all(isinstance(sentence, str) for sentence in sentences):
                raise InputFormatError(path, line_number, "field sentences.abstract must be a list of strings")
            abstract = normalize_whitespace(" ".join(sentences))
            summary = normalize_whitespace(_field(record, ("summary", aspect), str, path, line_number))
            if not abstract:
                raise InputFormatError(path, line_number, "empty abstract")
            if not summary:
                raise InputFormatError(path, line_number, f"empty {aspect} summary")
            yield truncate_words(abstract, max_source_words), summary


def input_files(from_dir=None) -> Dict[str, Path]:
    """Return the JSONL file per split, from ``from_dir`` or the installed package."""
    base = Path(from_dir) if from_dir is not None else package_dataset_dir()
    return {
        split: download.find_input_file(base, [name], f"ACLSum {split} file")
        for split, name in FILE_NAMES.items()
    }


def convert(
    from_dir,
    raw_dir,
    aspect: str = DEFAULT_ASPECT,
    max_source_words: int = DEFAULT_MAX_SOURCE_WORDS,
    limits: Optional[Dict[str, Optional[int]]] = None,
    force: bool = False,
) -> Dict[str, int]:
    """Write ``raw_dir/{train,valid,test}.{src,tgt}``; ``from_dir`` None reads the installed package."""
    if aspect not in ASPECTS:
        raise ValueError(f"invalid aspect {aspect!r}; expected one of {', '.join(ASPECTS)}")
    limits = limits or {}
    files = input_files(from_dir)
    record = {
        "converter": "aclsum",
        "version": CONVERTER_VERSION,
        "settings": {"aspect": aspect, "max_source_words": max_source_words, "limits": limits},
        "inputs": download.input_fingerprint(files.values()),
    }

    def write_splits(raw_dir: Path) -> Dict[str, int]:
        return {
            split: download.write_parallel_split(
                raw_dir, split, read_pairs(files[split], aspect, max_source_words), limits.get(split)
            )
            for split in SPLITS
        }

    return download.convert_once(raw_dir, record, write_splits, force=force)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ami.data.aclsum",
        description=(
            "Build abstract-summary pairs from ACLSum (installed aclsum package or --from DIR), "
            "train sentencepiece and binarize them for fairseq."
        ),
    )
    parser.add_argument(
        "--from", dest="from_dir", default=None, metavar="DIR",
        help=f"directory with {', '.join(FILE_NAMES.values())} (default: the installed {PACKAGE_PIN})",
    )
    parser.add_argument(
        "--aspect", choices=ASPECTS, default=DEFAULT_ASPECT,
        help=f"which summary is the target (default: {DEFAULT_ASPECT})",
    )
    parser.add_argument(
        "--max-source-words", type=int, default=DEFAULT_MAX_SOURCE_WORDS, metavar="N",
        help=f"cut abstracts after N words, 0 for no limit (default: {DEFAULT_MAX_SOURCE_WORDS})",
    )
    download.add_common_arguments(parser, DEFAULT_VOCAB_SIZE)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point of ``python -m ami.data.aclsum``."""
    parser = get_parser()
    args = parser.parse_args(argv)
    download.check_common_options(
        parser, args, {"--max-source-words": args.max_source_words}, allow_zero=("--max-source-words",)
    )
    download.configure_logging()
    download.convert_and_prepare(
        "python -m ami.data.aclsum", args,
        lambda raw_dir, limits: convert(
            args.from_dir, raw_dir, args.aspect, args.max_source_words, limits, args.force
        ),
    )

if __name__ == "__main__":
    main()
