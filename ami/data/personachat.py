"""Context-response pairs from PersonaChat (ConvAI2) in ParlAI's text format.

ParlAI ships ConvAI2 as ``train_self_original.txt`` and
``valid_self_original.txt`` (in ``convai2_fix_723.tgz``). Every line starts
with a line number and a space; the number restarts at 1 with each episode
(one conversation):

    1 your persona: i like to ski.
    2 your persona: i have a dog.
    3 hi , how are you ?\ti am fine , walking my dog .\t\tcand one|cand two|...

``your persona:`` lines describe the speaker whose replies are the targets
(``partner's persona:`` lines, present in the ``both_`` files, are read and
not used). A dialogue line contains the partner's utterance, a tab and the
reply. Then, except in the ``_no_cands`` files, come a tab, an empty reward
field, a tab and ``|``-separated ranking candidates, which are ignored.

Each reply becomes a target. Its source is the last ``context_turns`` turns
of the conversation before it (partner utterances and earlier replies),
optionally preceded by the persona lines, joined with `` <sep> ``.

Splits: the ConvAI2 test set was never released, so, as is usual for
ConvAI2, the validation file serves as both ``valid`` and ``test``. Model
selection on ``valid`` therefore uses the test data, so report results as
validation-set results. The text is kept as distributed: lowercased and
tokenized with spaces around punctuation (no detokenization).
"""

import argparse
import logging
import re
from dataclasses import dataclass, field
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
FILE_NAMES = {"train": "train_self_original.txt", "valid": "valid_self_original.txt"}
YOUR_PERSONA = "your persona:"
PARTNER_PERSONA = "partner's persona:"
# ParlAI's placeholder for "the partner said nothing yet".
SILENCE = "__SILENCE__"
_NUMBERED_LINE = re.compile(r"(\d+) (.*)")

Pair = Tuple[str, str]


@dataclass
class Episode:
    """One conversation: the replying speaker's persona and (utterance, reply) exchanges."""

    first_line: int
    persona: List[str] = field(default_factory=list)
    partner_persona: List[str] = field(default_factory=list)
    exchanges: List[Tuple[str, str]] = field(default_factory=list)


def read_episodes(path) -> List[Episode]:
    """Parse a ParlAI ConvAI2 text file into episodes.

    Raises InputFormatError (file and line) for a line without a leading
    number, a number that neither restarts at 1 nor follows the previous
    line's, a persona line after dialogue lines, a dialogue line without a
    tab or an empty reply. Blank lines are skipped.
    """
    episodes: List[Episode] = []
    current: Optional[Episode] = None
    previous_number = 0
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            match = _NUMBERED_LINE.fullmatch(line)
            if match is None:
                raise InputFormatError(path, line_number, "expected a line number, a space and text")
            number, text = int(match.group(1)), match.group(2)
            if number == 1:
                current = Episode(first_line=line_number)
                episodes.append(current)
            elif current is None or number != previous_number + 1:
                raise InputFormatError(
                    path, line_number,
                    f"line number {number} does not follow {previous_number}; "
                    "numbers must start at 1 in each episode and grow by 1",
                )
            previous_number = number
            _add_line(current, text, path, line_number)
    return episodes


def _add_line(episode: Episode, text: str, path, line_number: int) -> None:
    if text.startswith(YOUR_PERSONA) or text.startswith(PARTNER_PERSONA):
        if episode.exchanges:
            raise InputFormatError(path, line_number, "persona line after the dialogue lines of its episode")
        if text.startswith(YOUR_PERSONA):
            episode.persona.append(normalize_whitespace(text[len(YOUR_PERSONA):]))
        else:
            episode.partner_persona.append(normalize_whitespace(text[len(PARTNER_PERSONA):]))
        return
    fields = text.split("\t")
    if len(fields) < 2:
        raise InputFormatError(
            path, line_number, "dialogue line without a tab between the utterance and the reply"
        )
    utterance = normalize_whitespace(fields[0])
    reply = normalize_whitespace(fields[1])
    if not reply:
        raise InputFormatError(path, line_number, "empty reply (second tab-separated field)")
    episode.exchanges.append((utterance, reply))


def episode_pairs(episode: Episode, context_turns: int, use_persona: bool) -> Iterator[Pair]:
    """Yield (source, reply) pairs of one episode; see the module docstring for the layout."""
    history: List[str] = []
    prefix = episode.persona if use_persona else []
    for utterance, reply in episode.exchanges:
        if utterance and utterance != SILENCE:
            history.append(utterance)
        parts = prefix + history[-context_turns:]
        if parts:
            yield f" {TURN_SEPARATOR} ".join(parts), reply
        history.append(reply)


def build_pairs(episodes: Sequence[Episode], context_turns: int, use_persona: bool) -> Iterator[Pair]:
    """Yield the pairs of all episodes in file order."""
    if context_turns < 1:
        raise ValueError(f"context_turns must be at least 1, got {context_turns}")
    for episode in episodes:
        yield from episode_pairs(episode, context_turns, use_persona)


def input_files(from_dir) -> Dict[str, Path]:
    """Locate the training and validation files below ``from_dir``."""
    return {
        split: download.find_input_file(from_dir, [name], f"PersonaChat {split} file")
        for split, name in FILE_NAMES.items()
    }


def convert(
    from_dir,
    raw_dir,
    context_turns: int = DEFAULT_CONTEXT_TURNS,
    use_persona: bool = True,
    limits: Optional[Dict[str, Optional[int]]] = None,
    force: bool = False,
) -> Dict[str, int]:
    """Write ``raw_dir/{train,valid,test}.{src,tgt}`` from the files below ``from_dir``.

    ``test`` is a copy of ``valid`` (see the module docstring). ``limits``
    maps a split to the maximum number of pairs kept. Returns pairs per split.
    """
    limits = limits or {}
    files = input_files(from_dir)
    record = {
        "converter": "personachat",
        "version": CONVERTER_VERSION,
        "settings": {"context_turns": context_turns, "use_persona": use_persona, "limits": limits},
        "inputs": download.input_fingerprint(files.values()),
    }

    def write_splits(raw_dir: Path) -> Dict[str, int]:
        counts = {}
        for split in SPLITS:
            source_split = "train" if split == "train" else "valid"
            episodes = read_episodes(files[source_split])
            logger.info("%s: %d episodes in %s", split, len(episodes), files[source_split])
            pairs = build_pairs(episodes, context_turns, use_persona)
            counts[split] = download.write_parallel_split(raw_dir, split, pairs, limits.get(split))
        return counts

    return download.convert_once(raw_dir, record, write_splits, force=force)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ami.data.personachat",
        description=(
            "Build context-response pairs from PersonaChat (ParlAI ConvAI2 text files), "
            "train sentencepiece and binarize them for fairseq. test is a copy of valid."
        ),
    )
    parser.add_argument(
        "--from", dest="from_dir", required=True, metavar="DIR",
        help=f"directory with {FILE_NAMES['train']} and {FILE_NAMES['valid']} (searched recursively)",
    )
    parser.add_argument(
        "--context-turns", type=int, default=DEFAULT_CONTEXT_TURNS, metavar="K",
        help=f"number of previous turns in the source (default: {DEFAULT_CONTEXT_TURNS})",
    )
    parser.add_argument(
        "--persona", action=argparse.BooleanOptionalAction, default=True,
        help="put the replying speaker's persona lines before the turns (default: on)",
    )
    download.add_common_arguments(parser, DEFAULT_VOCAB_SIZE)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point of ``python -m ami.data.personachat``."""
    parser = get_parser()
    args = parser.parse_args(argv)
    download.check_common_options(parser, args, {"--context-turns": args.context_turns})
    download.configure_logging()
    download.convert_and_prepare(
        "python -m ami.data.personachat", args,
        lambda raw_dir, limits: convert(
            args.from_dir, raw_dir, args.context_turns, args.persona, limits, args.force
        ),
        user_defined_symbols=(TURN_SEPARATOR,),
    )

if __name__ == "__main__":
    main()
