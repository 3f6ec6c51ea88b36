"""sacrebleu's tokenization of many segments at once.

``tokenize_segments`` returns the tokens that sacrebleu's BLEU extracts
n-grams from, that is ``BLEU(...)._preprocess_segment(text).split()``.
For the default "13a" tokenizer it applies the four regular expressions of
sacrebleu's ``TokenizerRegexp`` once to the whole corpus, joined into one
string. Each replacement is built from ``re.split`` pieces: on Python 3.11
``re.sub`` with group references expands every match in Python, and
100,000 dialogue lines have two million matches. Other tokenizers, and any
sacrebleu whose "13a" rules differ from the ones written here, use
sacrebleu's tokenizer on each distinct segment.

Joining is exact: each segment is padded with a space on both sides, as
sacrebleu pads it, and segments are separated by "\\n". None of the four
rules can match "\\n" between two spaces, and no match can reach across
one, so every segment is rewritten as it would be alone. Tests compare
the result with sacrebleu on many segments.
"""

import logging
import re
from typing import Dict, List, Optional, Sequence

logger = logging.getLogger(__name__)

# sacrebleu's TokenizerRegexp rules as in sacrebleu 2.6, each with how ami
# rebuilds its replacement from the pieces of pattern.split(). The pieces
# alternate between text and the captured groups.
_RULE_1 = r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"  # any of these characters -> " c "
_RULE_2 = r"([^0-9])([\.,])"  # "x." -> "x . " unless x is a digit
_RULE_3 = r"([\.,])([^0-9])"  # ".x" -> " . x" unless x is a digit
_RULE_4 = r"([0-9])(-)"  # "9-" -> "9 - "
_EXPECTED_RULES = [
    (_RULE_1, r" \1 "),
    (_RULE_2, r"\1 \2 "),
    (_RULE_3, r" \1 \2"),
    (_RULE_4, r"\1 \2 "),
]
_PADDED = {".": " . ", ",": " , ", "-": " - "}


def _sacrebleu_rules_match() -> bool:
    """Return whether the installed sacrebleu's 13a rules are the ones rebuilt here."""
    from sacrebleu.tokenizers.tokenizer_re import TokenizerRegexp

    rules = [(pattern.pattern, replacement) for pattern, replacement in TokenizerRegexp()._re]
    return rules == _EXPECTED_RULES


_RULES_MATCH: Optional[bool] = None
_COMPILED = [re.compile(pattern) for pattern, _ in _EXPECTED_RULES]


def _apply_rules(text: str) -> str:
    rule_1, rule_2, rule_3, rule_4 = _COMPILED
    # Rule 1: " \1 " around each character = join the split pieces with spaces.
    text = " ".join(rule_1.split(text))
    # Rules 2 and 4: the second group gains a space on both sides.
    for rule in (rule_2, rule_4):
        pieces = rule.split(text)
        pieces[2::3] = map(_PADDED.__getitem__, pieces[2::3])
        text = "".join(pieces)
    # Rule 3: the first group gains a space on both sides.
    pieces = rule_3.split(text)
    pieces[1::3] = map(_PADDED.__getitem__, pieces[1::3])
    return "".join(pieces)


def _prepare_13a(text: str) -> str:
    """Tokenizer13a's language-independent steps, which work on a segment alone."""
    text = text.replace("<skipped>", "")
    text = text.replace("-\n", "")
    text = text.replace("\n", " ")
    if "&" in text:
        text = text.replace("&quot;", '"')
        text = text.replace("&amp;", "&")
        text = text.replace("&lt;", "<")
        text = text.replace("&gt;", ">")
    return text


def tokenize_13a(texts: Sequence[str]) -> List[List[str]]:
    """Return sacrebleu's 13a tokens of each (right-stripped) text, computed on the joined corpus."""
    prepared = [_prepare_13a(text) if ("<" in text or "&" in text or "\n" in text) else text for text in texts]
    joined = _apply_rules(" " + " \n ".join(prepared) + " ") if prepared else ""
    lines = joined.split("\n")
    if len(lines) != len(texts) and texts:
        raise RuntimeError(
            f"13a tokenization produced {len(lines)} lines for {len(texts)} segments, which is a bug in ami; "
            "pass --bleu-implementation sacrebleu to use sacrebleu's own code"
        )
    return [line.split() for line in lines] if texts else []


def tokenize_segments(texts: Sequence[str], scorer) -> List[List[str]]:
    """Return ``scorer._preprocess_segment(text).split()`` for each text.

    ``scorer`` is a ``sacrebleu.metrics.BLEU``. Distinct texts are
    tokenized once.
    """
    global _RULES_MATCH
    distinct: Dict[str, Optional[List[str]]] = dict.fromkeys(texts)
    keys = list(distinct)
    if scorer.tokenizer.signature() == "13a":
        if _RULES_MATCH is None:
            _RULES_MATCH = _sacrebleu_rules_match()
            if not _RULES_MATCH:
                logger.warning(
                    "this sacrebleu's 13a tokenizer rules differ from those ami rebuilds; "
                    "calling sacrebleu's tokenizer on each segment instead (slower, same scores)"
                )
    if scorer.tokenizer.signature() == "13a" and _RULES_MATCH:
        lowered = [text.lower() for text in keys] if scorer.lowercase else keys
        token_lists = tokenize_13a([text.rstrip() for text in lowered])
    else:
        # NOTE: _preprocess_segment (lowercasing, then the tokenizer) is
        # private sacrebleu API, checked with sacrebleu 2.6. Tests compare the
        # resulting statistics with sacrebleu's own.
        token_lists = [scorer._preprocess_segment(text).split() for text in keys]
    distinct.update(zip(keys, token_lists))
    return [distinct[text] for text in texts]
