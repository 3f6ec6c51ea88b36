"""Article-to-highlights pairs from CNN/DailyMail (non-anonymized, See et al. 2017).

Inputs, below the ``--from`` directory:

- the ``.story`` files of ``cnn_stories.tgz`` and ``dailymail_stories.tgz``
  (``cnn/stories/`` and ``dailymail/stories/``);
- the URL lists ``all_train.txt``, ``all_val.txt`` and ``all_test.txt`` from
  abisee/cnn-dailymail. A story's file name is the hex SHA-1 of its URL plus
  ``.story``, as in that repository's ``make_datafiles.py``.

A ``.story`` file contains the article's paragraphs, then the highlights,
each after a line ``@highlight``. Blank lines separate all of them. As in
``make_datafiles.py``, every non-empty line after the first ``@highlight`` is
a highlight. Stories without article text (abisee/cnn-dailymail reports 114)
or without highlights are dropped from every split, with a count in the log.

Outputs in ``raw/``:

- ``{split}.src``: the article text as distributed (not lowercased, not
  tokenized), paragraphs joined with a space and cut after
  ``max_source_words`` words;
- ``{split}.tgt``: the highlights joined with `` <n> ``. ``<n>`` is a
  sentencepiece user-defined symbol, so the model can learn where a summary
  sentence ends and ``<n>`` stays one token;
- ``test.summary.txt``: the test references for ``ami-evaluate --ref``, one
  summary per line, with the sentence boundaries made visible to its
  sentence splitter (ROUGE-Lsum): each highlight ends with ``.`` when it
  ends in no sentence-final punctuation. rouge-score drops punctuation, so
  the added periods change no ROUGE-1/2/L token;
- ``test.summary_sentences.txt``: the same references with one sentence per
  line and an empty line after each summary, for external ROUGE tools.

``python -m ami.data.cnndm hypotheses --generate-log LOG --out FILE`` turns
fairseq-generate output into hypotheses in the form of ``test.summary.txt``.
"""

import argparse
import hashlib
import logging
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from ami.data import download
from ami.data.download import InputFormatError, normalize_whitespace, truncate_words
from ami.data.parallel import SPLITS, atomic_open

logger = logging.getLogger(__name__)

CONVERTER_VERSION = 1
DEFAULT_VOCAB_SIZE = 32000
DEFAULT_MAX_SOURCE_WORDS = 400
SENTENCE_MARKER = "<n>"
HIGHLIGHT = "@highlight"
URL_LISTS = {"train": "all_train.txt", "valid": "all_val.txt", "test": "all_test.txt"}
REFERENCE_FILE = "test.summary.txt"
REFERENCE_SENTENCES_FILE = "test.summary_sentences.txt"
# Characters that end a sentence (closing quotes and brackets included).
_SENTENCE_END = (".", "!", "?", "\u2026", '"', "'", "\u2019", "\u201d", ")")

Story = Tuple[str, List[str]]


def story_file_name(url: str) -> str:
    """Return the ``.story`` file name of a URL: hex SHA-1 of its UTF-8 bytes."""
    return hashlib.sha1(url.encode("utf-8")).hexdigest() + ".story"


def read_url_list(path) -> List[str]:
    """Read one URL per line (blank lines skipped); raise InputFormatError for a non-URL line."""
    urls = []
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            url = line.strip()
            if not url:
                continue
            if not url.startswith(("http://", "https://")):
                raise InputFormatError(path, line_number, f"expected a URL, got {url[:60]!r}")
            urls.append(url)
    return urls


def parse_story(path) -> Story:
    """Return (article text, highlights) of a ``.story`` file.

    Raises InputFormatError when an ``@highlight`` line is the last
    non-empty line, because its highlight is missing.
    """
    article: List[str] = []
    highlights: List[str] = []
    in_highlights = False
    pending_line = None
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            text = normalize_whitespace(line)
            if not text:
                continue
            if text == HIGHLIGHT:
                in_highlights = True
                pending_line = line_number
            elif in_highlights:
                highlights.append(text)
                pending_line = None
            else:
                article.append(text)
    if pending_line is not None:
        raise InputFormatError(path, pending_line, f"{HIGHLIGHT} is not followed by a highlight")
    return " ".join(article), highlights


def join_highlights(highlights: Sequence[str]) -> str:
    """Join highlights into the target line, separated by `` <n> ``."""
    return f" {SENTENCE_MARKER} ".join(highlights)


def summary_sentences(target: str) -> List[str]:
    """Split a target or generated line at ``<n>`` into sentences with final punctuation."""
    sentences = []
    for sentence in target.split(SENTENCE_MARKER):
        sentence = sentence.strip()
        if not sentence:
            continue
        if not sentence.endswith(_SENTENCE_END):
            sentence += "."
        sentences.append(sentence)
    return sentences


def summary_for_rouge(target: str) -> str:
    """Return a target or generated line as one line of sentences for ``ami-evaluate``."""
    return " ".join(summary_sentences(target))


def index_stories(from_dir) -> Dict[str, Path]:
    """Map every ``*.story`` file name below ``from_dir`` to its path."""
    index = {}
    for path in Path(from_dir).rglob("*.story"):
        if path.name in index:
            raise ValueError(f"two stories named {path.name}: {index[path.name]} and {path}")
        index[path.name] = path
    return index


def split_stories(
    urls: Sequence[str],
    stories: Dict[str, Path],
    max_source_words: int,
    stats: Dict[str, int],
) -> Iterator[Tuple[str, str]]:
    """Yield (source, target) for the URLs whose story is usable; count the others in ``stats``."""
    for url in urls:
        path = stories.get(story_file_name(url))
        if path is None:
            stats["missing"] = stats.get("missing", 0) + 1
            continue
        article, highlights = parse_story(path)
        if not article:
            stats["empty_article"] = stats.get("empty_article", 0) + 1
            continue
        if not highlights:
            stats["no_highlights"] = stats.get("no_highlights", 0) + 1
            continue
        yield truncate_words(article, max_source_words), join_highlights(highlights)


def input_files(from_dir) -> Dict[str, Path]:
    return {
        split: download.find_input_file(from_dir, [name], f"CNN/DailyMail {split} URL list")
        for split, name in URL_LISTS.items()
    }


def convert(
    from_dir,
    raw_dir,
    max_source_words: int = DEFAULT_MAX_SOURCE_WORDS,
    allow_missing_stories: bool = False,
    limits: Optional[Dict[str, Optional[int]]] = None,
    force: bool = False,
) -> Dict[str, int]:
    """Write the raw splits and the test references; return pairs per split.

    Raises FileNotFoundError when a listed story is missing, unless
    ``allow_missing_stories`` is set (then the missing ones are counted).
    """
    limits = limits or {}
    lists = input_files(from_dir)
    urls = {split: read_url_list(path) for split, path in lists.items()}
    stories = index_stories(from_dir)
    missing = [url for split in SPLITS for url in urls[split] if story_file_name(url) not in stories]
    if missing and not allow_missing_stories:
        raise FileNotFoundError(
            f"{len(missing)} of {sum(len(u) for u in urls.values())} listed stories were not found below "
            f"{from_dir}, for example {story_file_name(missing[0])} ({missing[0]}). Extract both "
            "cnn_stories.tgz and dailymail_stories.tgz there, or pass --allow-missing-stories"
        )
    record = {
        "converter": "cnndm",
        "version": CONVERTER_VERSION,
        "settings": {
            "max_source_words": max_source_words,
            "allow_missing_stories": allow_missing_stories,
            "limits": limits,
        },
        # There are too many story files to fingerprint, so their count is used instead.
        "inputs": download.input_fingerprint(lists.values()) + [["stories", len(stories)]],
    }

    def write_splits(raw_dir: Path) -> Dict[str, int]:
        counts = {}
        for split in SPLITS:
            stats: Dict[str, int] = {}
            pairs = split_stories(urls[split], stories, max_source_words, stats)
            counts[split] = download.write_parallel_split(raw_dir, split, pairs, limits.get(split))
            if stats:
                logger.info("%s: left out %s", split, ", ".join(f"{n} {reason}" for reason, n in sorted(stats.items())))
        write_references(raw_dir)
        return counts

    return download.convert_once(
        raw_dir, record, write_splits, force=force, extra_outputs=(REFERENCE_FILE, REFERENCE_SENTENCES_FILE)
    )


def write_references(raw_dir: Path) -> None:
    """Write ``test.summary.txt`` and ``test.summary_sentences.txt`` from ``test.tgt``."""
    _, target_path = download.split_output_paths(raw_dir, "test")
    with open(target_path, encoding="utf-8") as targets, \
            atomic_open(raw_dir / REFERENCE_FILE) as summaries, \
            atomic_open(raw_dir / REFERENCE_SENTENCES_FILE) as sentences:
        for target in targets:
            target = target.rstrip("\n")
            summaries.write(summary_for_rouge(target) + "\n")
            for sentence in summary_sentences(target):
                sentences.write(sentence + "\n")
            sentences.write("\n")


def write_hypotheses(generate_log, out_path) -> int:
    """Write the best hypothesis per test id of a fairseq-generate log in ROUGE form.

    Hypotheses are sorted by id; a missing id raises an error, because line
    i must match reference i. Returns the number of hypotheses.
    """
    from ami.generate_log import parse_generate_log

    log = parse_generate_log(str(generate_log), require_references=False)
    with atomic_open(out_path) as output:
        for hypothesis in log.hypotheses:
            output.write(summary_for_rouge(hypothesis) + "\n")
    return len(log.hypotheses)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ami.data.cnndm",
        description="CNN/DailyMail for fairseq: prepare the data, or turn generated summaries into ROUGE input.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    prepare = commands.add_parser(
        "prepare", help="build article-highlights pairs, train sentencepiece and binarize them",
    )
    prepare.add_argument(
        "--from", dest="from_dir", required=True, metavar="DIR",
        help="directory with the .story files and the all_{train,val,test}.txt URL lists (searched recursively)",
    )
    prepare.add_argument(
        "--max-source-words", type=int, default=DEFAULT_MAX_SOURCE_WORDS, metavar="N",
        help=f"cut articles after N words, 0 for no limit (default: {DEFAULT_MAX_SOURCE_WORDS})",
    )
    prepare.add_argument(
        "--allow-missing-stories", action="store_true",
        help="leave out listed stories that are not found instead of stopping",
    )
    download.add_common_arguments(prepare, DEFAULT_VOCAB_SIZE)
    hypotheses = commands.add_parser(
        "hypotheses", help="write the hypotheses of a fairseq-generate log, one summary per line",
    )
    hypotheses.add_argument("--generate-log", required=True, metavar="LOG", help="fairseq-generate output")
    hypotheses.add_argument("--out", required=True, metavar="FILE", help="output file")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point of ``python -m ami.data.cnndm``."""
    parser = get_parser()
    args = parser.parse_args(argv)
    download.configure_logging()
    if args.command == "hypotheses":
        try:
            count = write_hypotheses(args.generate_log, args.out)
        except (ValueError, FileNotFoundError) as err:
            raise SystemExit(f"python -m ami.data.cnndm hypotheses: error: {err}") from err
        logger.info("wrote %d hypotheses to %s", count, args.out)
        return

    download.check_common_options(
        parser, args, {"--max-source-words": args.max_source_words}, allow_zero=("--max-source-words",)
    )
    download.convert_and_prepare(
        "python -m ami.data.cnndm prepare", args,
        lambda raw_dir, limits: convert(
            args.from_dir, raw_dir, args.max_source_words, args.allow_missing_stories, limits, args.force
        ),
        user_defined_symbols=(SENTENCE_MARKER,),
    )

if __name__ == "__main__":
    main()
