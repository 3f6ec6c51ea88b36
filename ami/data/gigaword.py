"""Article-to-headline pairs from the Gigaword split of Rush et al. (2015).

The split as distributed by harvardnlp/sent-summary (the ``sumdata`` folder)
has one sentence per line, aligned by line number:

- ``train/train.article.txt`` and ``train/train.title.txt`` (3,803,957 pairs
  in the Hugging Face ``gigaword`` dataset card);
- ``train/valid.article.filter.txt`` and ``train/valid.title.filter.txt``
  (189,651 pairs; ``valid.article.txt``/``valid.title.txt`` are accepted too);
- ``Giga/input.txt`` and ``Giga/task1_ref0.txt``, the 1,951-pair test set.
  ``DUC2003/`` and ``DUC2004/`` contain files with the same names, so only
  a folder named ``Giga`` (or the ``--from`` directory itself) counts.

The text is already lowercased and tokenized, every digit is replaced by
``#`` and rare words by an unknown-word token. The token is ``<unk>`` in
train and valid but ``UNK`` in test. This converter writes ``UNK`` in every
split, as the Hugging Face loader does, so that sentencepiece trains on one
spelling. ``<unk>`` would also clash with fairseq's own unknown symbol.
``#`` is kept, so outputs and references are compared in the masked form.

Training pairs with an empty title are dropped. Valid and test keep every
line, so the test set stays comparable with published results on it.
"""

import argparse
import itertools
import logging
from pathlib import Path
from typing import Dict, Iterator, Optional, Sequence, Tuple

from ami.data import download
from ami.data.download import InputFormatError
from ami.data.parallel import SPLITS

logger = logging.getLogger(__name__)

CONVERTER_VERSION = 1
DEFAULT_VOCAB_SIZE = 32000
UNKNOWN_WORD = "UNK"

# split -> (article names, title names, required parent folder), names in order of preference.
INPUT_NAMES = {
    "train": (["train.article.txt"], ["train.title.txt"], None),
    "valid": (["valid.article.filter.txt", "valid.article.txt"], ["valid.title.filter.txt", "valid.title.txt"], None),
    "test": (["input.txt"], ["task1_ref0.txt"], "Giga"),
}

Pair = Tuple[str, str]


def clean_line(text: str) -> str:
    """Normalize whitespace and spell the unknown-word token ``UNK``."""
    return " ".join(UNKNOWN_WORD if word == "<unk>" else word for word in text.split())


def read_aligned(article_path, title_path) -> Iterator[Tuple[int, str, str]]:
    """Yield (line number, article, title) from two line-aligned files.

    Raises InputFormatError at the first line that one file has and the
    other lacks, because a length mismatch means the files are not a pair.
    """
    with open(article_path, encoding="utf-8") as articles, open(title_path, encoding="utf-8") as titles:
        for line_number, (article, title) in enumerate(itertools.zip_longest(articles, titles), start=1):
            if article is None or title is None:
                longer, shorter = (title_path, article_path) if article is None else (article_path, title_path)
                raise InputFormatError(
                    longer, line_number, f"{shorter} ends before this line; the two files must have the same number of lines"
                )
            yield line_number, article, title


def split_pairs(article_path, title_path, drop_empty_titles: bool, stats: Dict[str, int]) -> Iterator[Pair]:
    """Yield cleaned (article, title) pairs; count dropped empty titles in ``stats``."""
    for _, article, title in read_aligned(article_path, title_path):
        article, title = clean_line(article), clean_line(title)
        if drop_empty_titles and not title:
            stats["empty_titles"] = stats.get("empty_titles", 0) + 1
            continue
        yield article, title


def input_files(from_dir) -> Dict[str, Tuple[Path, Path]]:
    """Locate (article file, title file) per split below ``from_dir``."""
    files = {}
    for split, (article_names, title_names, parent) in INPUT_NAMES.items():
        article = download.find_input_file(from_dir, article_names, f"Gigaword {split} articles", parent)
        title = download.find_input_file(article.parent, title_names, f"Gigaword {split} titles")
        files[split] = (article, title)
    return files


def convert(
    from_dir,
    raw_dir,
    limits: Optional[Dict[str, Optional[int]]] = None,
    force: bool = False,
) -> Dict[str, int]:
    """Write ``raw_dir/{train,valid,test}.{src,tgt}`` and return pairs per split."""
    limits = limits or {}
    files = input_files(from_dir)
    record = {
        "converter": "gigaword",
        "version": CONVERTER_VERSION,
        "settings": {"limits": limits},
        "inputs": download.input_fingerprint(path for pair in files.values() for path in pair),
    }

    def write_splits(raw_dir: Path) -> Dict[str, int]:
        counts = {}
        for split in SPLITS:
            stats: Dict[str, int] = {}
            article_path, title_path = files[split]
            pairs = split_pairs(article_path, title_path, drop_empty_titles=(split == "train"), stats=stats)
            counts[split] = download.write_parallel_split(raw_dir, split, pairs, limits.get(split))
            if stats.get("empty_titles"):
                logger.info("%s: dropped %d pairs with an empty title", split, stats["empty_titles"])
        return counts

    return download.convert_once(raw_dir, record, write_splits, force=force)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ami.data.gigaword",
        description=(
            "Build article-headline pairs from the Gigaword split of Rush et al. (2015), "
            "train sentencepiece and binarize them for fairseq."
        ),
    )
    parser.add_argument(
        "--from", dest="from_dir", required=True, metavar="DIR",
        help="directory with the extracted sumdata folder (searched recursively)",
    )
    download.add_common_arguments(parser, DEFAULT_VOCAB_SIZE)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point of ``python -m ami.data.gigaword``."""
    parser = get_parser()
    args = parser.parse_args(argv)
    download.check_common_options(parser, args)
    download.configure_logging()
    # NOTE: prepare_parallel_corpus trains sentencepiece on every training
    # line, 7.6 million here (articles and titles). Its memory use on that
    # many lines has not been measured; --max-train-pairs lowers it.
    download.convert_and_prepare(
        "python -m ami.data.gigaword", args,
        lambda raw_dir, limits: convert(args.from_dir, raw_dir, limits, args.force),
    )

if __name__ == "__main__":
    main()
