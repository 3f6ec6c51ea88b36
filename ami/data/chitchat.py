"""Context-response pairs from the Chit-Chat Challenge dialogue corpus.

The ``chitchat_dataset`` package (MIT licence, BYU PCC lab) ships 7,168 real
English conversations as a dict that maps a conversation UUID to
``{"prompt", "ratings", "start", "messages"}``. ``messages`` is a list of
groups, and each group is a list of ``{"text", "timestamp", "sender"}``
messages. This module turns the conversations into short context-response
pairs, writes them as a parallel corpus and prepares it with
``ami.data.parallel.prepare_parallel_corpus``. The ``ami-prepare-chitchat``
console script runs all of it.
"""

import argparse
import hashlib
import json
import logging
import os
import sys
import time
import unicodedata
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from ami.data.parallel import SPLITS, atomic_open, prepare_parallel_corpus

logger = logging.getLogger(__name__)

# Separator between context turns. It is a sentencepiece user-defined symbol,
# so it stays one token.
TURN_SEPARATOR = "<sep>"
SOURCE_LANG = "src"
TARGET_LANG = "tgt"

Pair = Tuple[str, str]


def normalize_text(text: str) -> str:
    """Collapse all whitespace runs to one space and drop control characters.

    Lone surrogates (category Cs) are dropped too, because they cannot be
    written as UTF-8.
    """
    without_controls = "".join(
        char for char in text if char.isspace() or unicodedata.category(char) not in ("Cc", "Cs")
    )
    return " ".join(without_controls.split())


def conversation_turns(conversation: Mapping) -> List[str]:
    """Return the turns of a conversation in order.

    A turn is the text of all consecutive messages of one sender, joined with
    a space. Consecutive message groups of the same sender become one turn.
    A turn whose messages are all empty stays in the list as an empty string,
    so that the alternation of speakers is preserved.
    """
    turns = []
    current_sender = object()
    current_texts = []
    for group in conversation["messages"]:
        for message in group:
            sender = message["sender"]
            if sender != current_sender and current_texts:
                turns.append(normalize_text(" ".join(current_texts)))
                current_texts = []
            current_sender = sender
            current_texts.append(message["text"] or "")
    if current_texts:
        turns.append(normalize_text(" ".join(current_texts)))
    return turns


def split_for(conversation_id: str) -> str:
    """Assign a conversation to train (90%), valid (5%) or test (5%).

    The split depends only on the MD5 of the ID, so it is stable across runs,
    Python versions and changes to the other conversations.
    """
    bucket = int(hashlib.md5(conversation_id.encode("utf-8")).hexdigest(), 16) % 100
    if bucket < 90:
        return "train"
    if bucket < 95:
        return "valid"
    return "test"


def count_words(turns: Sequence[str]) -> int:
    """Count whitespace-separated words over ``turns``, not counting separators."""
    return sum(len(turn.split()) for turn in turns)


def build_pairs(
    conversations: Mapping[str, Mapping],
    context_turns: int = 1,
    max_words: int = 20,
) -> Dict[str, List[Pair]]:
    """Build ``(context, response)`` pairs, grouped by split.

    Each turn after the first is a response. Its context is the previous
    ``context_turns`` turns (fewer at the start of a conversation) joined with
    `` <sep> ``. A pair is dropped when the response or any of its context
    turns is empty, or when either side has more than ``max_words`` words,
    separators not counted. Conversations are visited in sorted ID order, and
    all pairs of a conversation go to the split chosen by ``split_for``.
    """
    if context_turns < 1:
        raise ValueError(f"context_turns must be at least 1, got {context_turns}")
    if max_words < 1:
        raise ValueError(f"max_words must be at least 1, got {max_words}")

    pairs = {split: [] for split in SPLITS}
    for conversation_id in sorted(conversations):
        turns = conversation_turns(conversations[conversation_id])
        split_pairs = pairs[split_for(conversation_id)]
        for index in range(1, len(turns)):
            context = turns[max(0, index - context_turns):index]
            response = turns[index]
            if not response or not all(context):
                continue
            if count_words(context) > max_words or count_words([response]) > max_words:
                continue
            # NOTE: a literal "<sep>" typed in a message would also become the
            # separator token. chitchat-dataset 0.9.0 contains none.
            split_pairs.append((f" {TURN_SEPARATOR} ".join(context), response))
    return pairs


def write_raw(
    pairs: Mapping[str, Sequence[Pair]],
    raw_dir,
    max_train_pairs: Optional[int] = None,
    max_eval_pairs: Optional[int] = None,
) -> Dict[str, int]:
    """Write ``{train,valid,test}.{src,tgt}`` into ``raw_dir`` and return pairs per split.

    ``max_train_pairs`` keeps the first N training pairs and ``max_eval_pairs``
    the first N of valid and of test, in the order of ``pairs``. A file whose
    content is unchanged is not rewritten, so its modification time stays and
    ``prepare_parallel_corpus`` can reuse earlier work.
    """
    raw_dir = Path(raw_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for split in SPLITS:
        limit = max_train_pairs if split == "train" else max_eval_pairs
        if limit is not None and limit < 1:
            raise ValueError(
                f"the maximum number of {split} pairs must be at least 1, got {limit}"
            )
        selected = list(pairs.get(split, ()))[:limit]
        for context, response in selected:
            for text in (context, response):
                if "\n" in text or "\r" in text:
                    raise ValueError(f"{split} pair contains a line break: {text!r}")
        _write_if_changed(raw_dir / f"{split}.{SOURCE_LANG}", [context for context, _ in selected])
        _write_if_changed(raw_dir / f"{split}.{TARGET_LANG}", [response for _, response in selected])
        counts[split] = len(selected)
    return counts


def _write_if_changed(path: Path, lines: Sequence[str]) -> None:
    content = "".join(line + "\n" for line in lines).encode("utf-8")
    if path.is_file() and path.read_bytes() == content:
        return
    with atomic_open(path, "wb") as output:
        output.write(content)


def load_conversations() -> Dict[str, dict]:
    """Load the conversations bundled with the ``chitchat_dataset`` package."""
    try:
        import chitchat_dataset
    except ImportError as err:
        raise ImportError(
            "the chitchat_dataset package is not installed. Install it with "
            "`pip install chitchat-dataset==0.9.0` or `pip install -e .[demo]`"
        ) from err
    # chitchat_dataset.Dataset opens the file with the locale's encoding, so
    # load the same file here as UTF-8.
    path = Path(chitchat_dataset.__file__).parent / "dataset.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found. This module expects the layout of chitchat-dataset==0.9.0"
        )
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def mean_words(texts: Sequence[str]) -> float:
    """Return the mean number of words per text, not counting separators (0.0 for no texts)."""
    if not texts:
        return 0.0
    total = sum(sum(1 for word in text.split() if word != TURN_SEPARATOR) for text in texts)
    return total / len(texts)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ami-prepare-chitchat",
        description=(
            "Build context-response pairs from the Chit-Chat Challenge corpus "
            "(chitchat_dataset package), train sentencepiece and binarize them for fairseq."
        ),
    )
    parser.add_argument(
        "--out", required=True, metavar="DIR",
        help="output directory, in which raw/, spm/ and bin/ are created",
    )
    parser.add_argument(
        "--context-turns", type=int, metavar="N", default=1,
        help="number of previous turns in the context, joined with <sep> (default: 1)",
    )
    parser.add_argument(
        "--max-words", type=int, metavar="N", default=20,
        help="drop pairs whose context or response has more words than this (default: 20)",
    )
    parser.add_argument(
        "--vocab-size", type=int, metavar="N", default=4000,
        help="sentencepiece vocabulary size (default: 4000)",
    )
    parser.add_argument(
        "--max-train-pairs", type=int, metavar="N", default=None,
        help="keep only the first N training pairs (default: all)",
    )
    parser.add_argument(
        "--max-eval-pairs", type=int, metavar="N", default=None,
        help="keep only the first N valid and N test pairs (default: all)",
    )
    parser.add_argument(
        "--force", action="store_true",
        help="redo sentencepiece training and binarization even if the output is up to date",
    )
    return parser


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point of the ``ami-prepare-chitchat`` console script."""
    parser = get_parser()
    args = parser.parse_args(argv)
    for option, value in [
        ("--context-turns", args.context_turns),
        ("--max-words", args.max_words),
        ("--vocab-size", args.vocab_size),
        ("--max-train-pairs", args.max_train_pairs),
        ("--max-eval-pairs", args.max_eval_pairs),
    ]:
        if value is not None and value < 1:
            parser.error(f"{option} must be at least 1, got {value}")
    logging.basicConfig(
        format="%(asctime)s | %(levelname)s | %(name)s | %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
        level=os.environ.get("LOGLEVEL", "INFO").upper(),
        stream=sys.stdout,
    )
    start = time.perf_counter()
    out_dir = Path(args.out)

    try:
        conversations = load_conversations()
        logger.info("loaded %d conversations from chitchat_dataset", len(conversations))
        pairs = build_pairs(conversations, args.context_turns, args.max_words)
        counts = write_raw(pairs, out_dir / "raw", args.max_train_pairs, args.max_eval_pairs)
        prepared = prepare_parallel_corpus(
            out_dir / "raw",
            out_dir,
            source_lang=SOURCE_LANG,
            target_lang=TARGET_LANG,
            vocab_size=args.vocab_size,
            user_defined_symbols=(TURN_SEPARATOR,),
            force=args.force,
        )
    except (ImportError, ValueError, FileNotFoundError) as err:
        # Expected user errors: show the message without a traceback.
        raise SystemExit(f"ami-prepare-chitchat: error: {err}") from err

    for split in SPLITS:
        selected = pairs[split][:counts[split]]
        logger.info(
            "%s: %d pairs (%d before truncation), mean words src %.2f, tgt %.2f",
            split,
            counts[split],
            len(pairs[split]),
            mean_words([context for context, _ in selected]),
            mean_words([response for _, response in selected]),
        )
    logger.info(
        "done in %.1f s: binarized data in %s, sentencepiece model %s",
        time.perf_counter() - start,
        prepared.bin_dir,
        prepared.spm_model,
    )


if __name__ == "__main__":
    main()
