"""Dataset converters and the download helper, on small inputs in each dataset's official format.

Every input text here was written for these tests; none is taken from the
datasets. Nothing touches the network: downloads read file:// URLs or a
stubbed urlopen.
"""

import hashlib
import io
import json
import logging
import tarfile
import urllib.error
import zipfile
from pathlib import Path

import pytest

from ami.data import aclsum, cnndm, dailydialog, download, gigaword, personachat
from ami.data.download import DownloadError, InputFormatError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def read_split(raw_dir: Path, split: str):
    source = (raw_dir / f"{split}.src").read_text(encoding="utf-8").splitlines()
    target = (raw_dir / f"{split}.tgt").read_text(encoding="utf-8").splitlines()
    return list(zip(source, target))


def mtimes(raw_dir: Path):
    return {path.name: path.stat().st_mtime_ns for path in raw_dir.iterdir()}


# ---------------------------------------------------------------------------
# PersonaChat (ParlAI ConvAI2 text format)
# ---------------------------------------------------------------------------

PERSONACHAT_TRAIN = (
    "1 your persona: i like hiking.\n"
    "2 your persona: i have two cats.\n"
    "3 hello , how are you ?\ti am great , just back from a hike .\t\tcats are nice .|i am great , just back from a hike .\n"
    "4 where did you hike ?\tup the hill near my house .\t\tno idea .|up the hill near my house .\n"
    "1 your persona: i bake bread.\n"
    "2 partner's persona: i fix bikes.\n"
    "3 hi !\thello , want some bread ?\n"
)
PERSONACHAT_VALID = (
    "1 your persona: i sing in a choir.\n"
    "2 good morning .\tmorning ! i just came from choir practice .\t\tok .|morning ! i just came from choir practice .\n"
)


@pytest.fixture
def personachat_dir(tmp_path):
    root = tmp_path / "convai2"
    write(root / "train_self_original.txt", PERSONACHAT_TRAIN)
    write(root / "valid_self_original.txt", PERSONACHAT_VALID)
    return root


def test_personachat_pairs_with_persona(personachat_dir, tmp_path):
    raw = tmp_path / "raw"
    counts = personachat.convert(personachat_dir, raw, context_turns=2, use_persona=True)

    assert counts == {"train": 3, "valid": 1, "test": 1}
    assert read_split(raw, "train") == [
        ("i like hiking. <sep> i have two cats. <sep> hello , how are you ?",
         "i am great , just back from a hike ."),
        ("i like hiking. <sep> i have two cats. <sep> i am great , just back from a hike . <sep> where did you hike ?",
         "up the hill near my house ."),
        ("i bake bread. <sep> hi !", "hello , want some bread ?"),
    ]
    expected_valid = [
        ("i sing in a choir. <sep> good morning .", "morning ! i just came from choir practice ."),
    ]
    assert read_split(raw, "valid") == expected_valid
    assert read_split(raw, "test") == expected_valid


def test_personachat_pairs_without_persona(personachat_dir, tmp_path):
    raw = tmp_path / "raw"
    personachat.convert(personachat_dir, raw, context_turns=1, use_persona=False)

    assert read_split(raw, "train") == [
        ("hello , how are you ?", "i am great , just back from a hike ."),
        ("where did you hike ?", "up the hill near my house ."),
        ("hi !", "hello , want some bread ?"),
    ]


def test_personachat_silence_is_not_a_turn(tmp_path):
    path = write(tmp_path / "train_self_original.txt", "1 __SILENCE__\thi there .\n2 hello !\thow are you ?\n")
    episodes = personachat.read_episodes(path)

    pairs = list(personachat.build_pairs(episodes, context_turns=3, use_persona=True))

    assert pairs == [("hi there . <sep> hello !", "how are you ?")]


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("1 your persona: i run.\nhello\tthere\n", 2, "expected a line number"),
        ("1 your persona: i run.\n3 hi\tho\n", 2, "does not follow 1"),
        ("2 hi\tho\n", 1, "does not follow 0"),
        ("1 your persona: i run.\n2 hi there\n", 2, "without a tab"),
        ("1 hi\tho\n2 your persona: i run.\n", 2, "persona line after the dialogue"),
        ("1 hi\t\t\ta|b\n", 1, "empty reply"),
    ],
)
def test_personachat_malformed_line(tmp_path, text, line, message):
    path = write(tmp_path / "train_self_original.txt", text)

    with pytest.raises(InputFormatError) as error:
        personachat.read_episodes(path)

    assert str(error.value).startswith(f"{path}, line {line}:")
    assert message in str(error.value)


def test_personachat_missing_file(tmp_path):
    write(tmp_path / "train_self_original.txt", PERSONACHAT_TRAIN)

    with pytest.raises(FileNotFoundError, match="valid_self_original.txt"):
        personachat.convert(tmp_path, tmp_path / "raw")


def test_personachat_conversion_is_idempotent(personachat_dir, tmp_path):
    raw = tmp_path / "raw"
    first = personachat.convert(personachat_dir, raw)
    before = mtimes(raw)

    second = personachat.convert(personachat_dir, raw)

    assert second == first
    assert mtimes(raw) == before


def test_personachat_changed_input_converts_again(personachat_dir, tmp_path):
    raw = tmp_path / "raw"
    personachat.convert(personachat_dir, raw)
    with open(personachat_dir / "valid_self_original.txt", "a", encoding="utf-8") as handle:
        handle.write("3 bye .\tsee you !\n")

    counts = personachat.convert(personachat_dir, raw)

    assert counts["valid"] == 2
    assert read_split(raw, "test")[-1][1] == "see you !"


def test_personachat_limits(personachat_dir, tmp_path):
    counts = personachat.convert(personachat_dir, tmp_path / "raw", limits={"train": 2})

    assert counts["train"] == 2
    assert len(read_split(tmp_path / "raw", "train")) == 2


# ---------------------------------------------------------------------------
# DailyDialog
# ---------------------------------------------------------------------------

DAILYDIALOG_TRAIN = (
    "Hi , Tom ! Are you free at 5 : 30 ? __eou__ I ’ m afraid not . I don ’ t finish until 6 . __eou__ "
    "Then let ’ s meet at ( about ) 7 . __eou__\n"
    "That costs $ 20 , or 10 % less online . __eou__ Great , I ’ ll order it there . __eou__\n"
)
DAILYDIALOG_VALID = "Is the museum open today ? __eou__ Yes , until 8 . __eou__\n"
DAILYDIALOG_TEST = "Where is my umbrella ? __eou__ It ’ s by the door . __eou__\n"


@pytest.fixture
def dailydialog_dir(tmp_path):
    """The archive's layout: train/ extracted, validation and test still zipped."""
    root = tmp_path / "ijcnlp_dailydialog"
    write(root / "train" / "dialogues_train.txt", DAILYDIALOG_TRAIN)
    for split, text in (("validation", DAILYDIALOG_VALID), ("test", DAILYDIALOG_TEST)):
        with zipfile.ZipFile(root / f"{split}.zip", "w") as archive:
            archive.writestr(f"{split}/dialogues_{split}.txt", text)
    write(root / "dialogues_text.txt", DAILYDIALOG_TRAIN + DAILYDIALOG_VALID + DAILYDIALOG_TEST)
    return tmp_path


def test_dailydialog_detokenized_pairs(dailydialog_dir, tmp_path):
    raw = tmp_path / "raw"
    counts = dailydialog.convert(dailydialog_dir, raw, context_turns=2)

    assert counts == {"train": 3, "valid": 1, "test": 1}
    assert read_split(raw, "train") == [
        ("Hi, Tom! Are you free at 5:30?", "I'm afraid not. I don't finish until 6."),
        ("Hi, Tom! Are you free at 5:30? <sep> I'm afraid not. I don't finish until 6.", "Then let's meet at (about) 7."),
        ("That costs $20, or 10% less online.", "Great, I'll order it there."),
    ]
    assert read_split(raw, "valid") == [("Is the museum open today?", "Yes, until 8.")]
    assert read_split(raw, "test") == [("Where is my umbrella?", "It's by the door.")]


def test_dailydialog_keep_tokenization(dailydialog_dir, tmp_path):
    raw = tmp_path / "raw"
    dailydialog.convert(dailydialog_dir, raw, context_turns=1, keep_tokenization=True)

    assert read_split(raw, "test") == [("Where is my umbrella ?", "It ’ s by the door .")]


def test_dailydialog_context_window(tmp_path):
    turns = ["a .", "b .", "c .", "d ."]

    pairs = list(dailydialog.dialogue_pairs(turns, context_turns=2))

    assert pairs == [("a .", "b ."), ("a . <sep> b .", "c ."), ("b . <sep> c .", "d .")]


@pytest.mark.parametrize(
    "line, message",
    [
        ("no separator here", "no __eou__"),
        ("Hello . __eou__ unterminated turn", "text after the last __eou__"),
        ("Hello . __eou__   __eou__", "turn 2 is empty"),
    ],
)
def test_dailydialog_malformed_line(tmp_path, line, message):
    path = write(tmp_path / "train" / "dialogues_train.txt", "Fine . __eou__ Good . __eou__\n" + line + "\n")
    for split in ("validation", "test"):
        write(tmp_path / split / f"dialogues_{split}.txt", DAILYDIALOG_VALID)

    with pytest.raises(InputFormatError) as error:
        dailydialog.convert(tmp_path, tmp_path / "raw")

    assert str(error.value).startswith(f"{path}, line 2:")
    assert message in str(error.value)


def test_dailydialog_without_official_split(tmp_path):
    write(tmp_path / "dialogues_text.txt", DAILYDIALOG_TRAIN)

    with pytest.raises(FileNotFoundError, match="no train/validation/test split"):
        dailydialog.convert(tmp_path, tmp_path / "raw")


def test_dailydialog_conversion_is_idempotent(dailydialog_dir, tmp_path):
    raw = tmp_path / "raw"
    dailydialog.convert(dailydialog_dir, raw)
    before = mtimes(raw)

    dailydialog.convert(dailydialog_dir, raw)

    assert mtimes(raw) == before


# ---------------------------------------------------------------------------
# Gigaword (Rush et al. 2015 split)
# ---------------------------------------------------------------------------


@pytest.fixture
def gigaword_dir(tmp_path):
    root = tmp_path / "sumdata"
    write(root / "train" / "train.article.txt",
          "the city council approved a new budget of ##.# million dollars on tuesday .\n"
          "officials gave no details .\n"
          "a <unk> storm closed the northern highway for # hours .\n")
    write(root / "train" / "train.title.txt", "council approves budget\n\nstorm closes <unk> highway\n")
    write(root / "train" / "valid.article.filter.txt", "the team won its #th straight game .\nno headline here .\n")
    write(root / "train" / "valid.title.filter.txt", "team extends streak\n\n")
    write(root / "Giga" / "input.txt", "UNK\nthe mayor opened the new library on friday .\n")
    write(root / "Giga" / "task1_ref0.txt", "UNK\nmayor opens library\n")
    write(root / "DUC2004" / "input.txt", "a different test set .\n")
    write(root / "DUC2004" / "task1_ref0.txt", "different\n")
    return tmp_path


def test_gigaword_pairs(gigaword_dir, tmp_path):
    raw = tmp_path / "raw"
    counts = gigaword.convert(gigaword_dir, raw)

    assert counts == {"train": 2, "valid": 2, "test": 2}
    assert read_split(raw, "train") == [
        ("the city council approved a new budget of ##.# million dollars on tuesday .", "council approves budget"),
        ("a UNK storm closed the northern highway for # hours .", "storm closes UNK highway"),
    ]
    # Empty titles are dropped from train only.
    assert read_split(raw, "valid") == [
        ("the team won its #th straight game .", "team extends streak"),
        ("no headline here .", ""),
    ]
    # The test set comes from Giga/, not DUC2004/.
    assert read_split(raw, "test") == [("UNK", "UNK"), ("the mayor opened the new library on friday .", "mayor opens library")]


def test_gigaword_unfiltered_valid_names(tmp_path):
    root = tmp_path / "data"
    write(root / "train.article.txt", "a b .\n")
    write(root / "train.title.txt", "a b\n")
    write(root / "valid.article.txt", "c d .\n")
    write(root / "valid.title.txt", "c d\n")
    write(root / "input.txt", "e f .\n")
    write(root / "task1_ref0.txt", "e f\n")

    counts = gigaword.convert(root, tmp_path / "raw")

    assert counts == {"train": 1, "valid": 1, "test": 1}


def test_gigaword_line_count_mismatch(gigaword_dir, tmp_path):
    title_path = gigaword_dir / "sumdata" / "train" / "train.title.txt"
    write(title_path, "council approves budget\n")

    with pytest.raises(InputFormatError) as error:
        gigaword.convert(gigaword_dir, tmp_path / "raw")

    assert "train.article.txt, line 2:" in str(error.value)
    assert "ends before this line" in str(error.value)


def test_gigaword_conversion_is_idempotent(gigaword_dir, tmp_path):
    raw = tmp_path / "raw"
    gigaword.convert(gigaword_dir, raw)
    before = mtimes(raw)

    gigaword.convert(gigaword_dir, raw)

    assert mtimes(raw) == before


# ---------------------------------------------------------------------------
# CNN/DailyMail
# ---------------------------------------------------------------------------

# SHA-1 hex digests of the URLs, computed with sha1sum, so that the test
# checks the file naming independently of the code.
CNNDM_STORIES = {
    "http://edition.example.com/2015/04/01/world/harbor-opens/index.html": (
        "ccdbff46a7893fa1b3dd0e60c13c02183073a80a",
        "cnn",
        "(CNN) The new harbor opened on Monday after three years of work.\n\n"
        "Officials said the first ships would arrive in June.\n\n"
        "@highlight\n\nThe harbor opened after three years\n\n"
        "@highlight\n\nFirst ships are due in June.\n",
    ),
    "http://www.example.co.uk/news/article-1/Town-builds-bridge.html": (
        "773eb581f7dcec361c4aa7e3b0751c9edf5d90d5",
        "dailymail",
        "A small town has finished its first bridge.\n\nLocals cheered at the opening.\n\n"
        "@highlight\n\nTown finishes its first bridge!\n",
    ),
    "http://www.example.co.uk/news/article-2/Empty-story.html": (
        "b255d7628b25a72b7724b771a32be340d2f5367d",
        "dailymail",
        "@highlight\n\nThis story has no article text\n",
    ),
    "http://edition.example.com/2015/05/02/sport/final/index.html": (
        "636748319c9de4e2e4c8af99b05e1a41214fcea4",
        "cnn",
        "The home team won the final 2-1.\n\n@highlight\n\nHome team wins the final\n",
    ),
}


@pytest.fixture
def cnndm_dir(tmp_path):
    urls = list(CNNDM_STORIES)
    for url, (digest, source, text) in CNNDM_STORIES.items():
        write(tmp_path / source / "stories" / f"{digest}.story", text)
    write(tmp_path / "url_lists" / "all_train.txt", f"{urls[0]}\n{urls[1]}\n{urls[2]}\n")
    write(tmp_path / "url_lists" / "all_val.txt", f"{urls[3]}\n")
    write(tmp_path / "url_lists" / "all_test.txt", f"{urls[0]}\n{urls[3]}\n")
    return tmp_path


def test_cnndm_story_file_name():
    for url, (digest, _, _) in CNNDM_STORIES.items():
        assert cnndm.story_file_name(url) == f"{digest}.story"


def test_cnndm_pairs_and_references(cnndm_dir, tmp_path):
    raw = tmp_path / "raw"
    counts = cnndm.convert(cnndm_dir, raw, max_source_words=400)

    # The story without article text is dropped.
    assert counts == {"train": 2, "valid": 1, "test": 2}
    assert read_split(raw, "train") == [
        ("(CNN) The new harbor opened on Monday after three years of work. "
         "Officials said the first ships would arrive in June.",
         "The harbor opened after three years <n> First ships are due in June."),
        ("A small town has finished its first bridge. Locals cheered at the opening.",
         "Town finishes its first bridge!"),
    ]
    assert (raw / "test.summary.txt").read_text(encoding="utf-8").splitlines() == [
        "The harbor opened after three years. First ships are due in June.",
        "Home team wins the final.",
    ]
    assert (raw / "test.summary_sentences.txt").read_text(encoding="utf-8") == (
        "The harbor opened after three years.\nFirst ships are due in June.\n\nHome team wins the final.\n\n"
    )


def test_cnndm_source_truncation(cnndm_dir, tmp_path):
    raw = tmp_path / "raw"
    cnndm.convert(cnndm_dir, raw, max_source_words=3)

    assert [source for source, _ in read_split(raw, "valid")] == ["The home team"]


def test_cnndm_missing_story(cnndm_dir, tmp_path):
    (cnndm_dir / "cnn" / "stories" / "636748319c9de4e2e4c8af99b05e1a41214fcea4.story").unlink()

    with pytest.raises(FileNotFoundError, match="2 of 6 listed stories were not found"):
        cnndm.convert(cnndm_dir, tmp_path / "raw")
    counts = cnndm.convert(cnndm_dir, tmp_path / "raw", allow_missing_stories=True)

    assert counts == {"train": 2, "valid": 0, "test": 1}


def test_cnndm_highlight_without_text(tmp_path):
    path = write(tmp_path / "broken.story", "Some article text.\n\n@highlight\n\nFine highlight\n\n@highlight\n\n")

    with pytest.raises(InputFormatError) as error:
        cnndm.parse_story(path)

    assert str(error.value).startswith(f"{path}, line 7:")


def test_cnndm_url_list_with_garbage(tmp_path):
    path = write(tmp_path / "all_train.txt", "http://example.com/a.html\nnot a url\n")

    with pytest.raises(InputFormatError, match=r"all_train.txt, line 2: expected a URL"):
        cnndm.read_url_list(path)


def test_cnndm_conversion_is_idempotent(cnndm_dir, tmp_path):
    raw = tmp_path / "raw"
    cnndm.convert(cnndm_dir, raw)
    before = mtimes(raw)

    cnndm.convert(cnndm_dir, raw)

    assert mtimes(raw) == before


def test_cnndm_hypotheses_from_generate_log(tmp_path):
    log = write(tmp_path / "generate.log", (
        "2026-01-01 | INFO | fairseq_cli.generate | loading\n"
        "S-1\tsecond source\n"
        "H-1\t-0.5\t▁Second ▁summary\n"
        "D-1\t-0.5\tSecond summary <n> It has two sentences!\n"
        "S-0\tfirst source\n"
        "H-0\t-0.4\t▁First\n"
        "D-0\t-0.4\tFirst summary\n"
    ))
    output = tmp_path / "hyp.txt"

    count = cnndm.write_hypotheses(log, output)

    assert count == 2
    assert output.read_text(encoding="utf-8").splitlines() == [
        "First summary.",
        "Second summary. It has two sentences!",
    ]


# ---------------------------------------------------------------------------
# ACLSum
# ---------------------------------------------------------------------------


def aclsum_record(paper_id, abstract, outcome):
    return json.dumps({
        "id": paper_id,
        "title": f"Paper {paper_id}",
        "summary": {
            "challenge": f"Challenge of {paper_id}.",
            "approach": f"Approach of {paper_id}.",
            "outcome": outcome,
        },
        "sentences": {"abstract": abstract, "introduction": ["Intro ."], "conclusion": ["End ."]},
        "highlights": {},
        "heuristic_highlights": {},
    })


@pytest.fixture
def aclsum_dir(tmp_path):
    root = tmp_path / "dataset"
    write(root / "train.jsonl",
          aclsum_record("T1", ["We study parsing .", "Our parser is fast ."], "The parser is twice as fast.") + "\n"
          + aclsum_record("T2", ["We collect a corpus ."], "The corpus improves tagging.") + "\n")
    write(root / "val.jsonl", aclsum_record("V1", ["We test models ."], "Models fail on long inputs.") + "\n")
    write(root / "test.jsonl", aclsum_record("S1", ["We translate poems ."], "Poems lose their rhyme.") + "\n")
    return root


def test_aclsum_pairs(aclsum_dir, tmp_path):
    raw = tmp_path / "raw"
    counts = aclsum.convert(aclsum_dir, raw)

    assert counts == {"train": 2, "valid": 1, "test": 1}
    assert read_split(raw, "train") == [
        ("We study parsing . Our parser is fast .", "The parser is twice as fast."),
        ("We collect a corpus .", "The corpus improves tagging."),
    ]
    assert read_split(raw, "valid") == [("We test models .", "Models fail on long inputs.")]


def test_aclsum_other_aspect(aclsum_dir, tmp_path):
    raw = tmp_path / "raw"
    aclsum.convert(aclsum_dir, raw, aspect="challenge")

    assert read_split(raw, "test") == [("We translate poems .", "Challenge of S1.")]


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", "invalid JSON"),
        (json.dumps({"sentences": {"abstract": ["A ."]}}), "missing field summary.outcome"),
        (json.dumps({"sentences": {"abstract": "A ."}, "summary": {"outcome": "B."}}), "field sentences.abstract is a str"),
        (json.dumps({"sentences": {"abstract": []}, "summary": {"outcome": "B."}}), "empty abstract"),
        (json.dumps({"sentences": {"abstract": ["A ."]}, "summary": {"outcome": " "}}), "empty outcome summary"),
    ],
)
def test_aclsum_malformed_line(tmp_path, line, message):
    path = write(tmp_path / "train.jsonl", aclsum_record("T1", ["A ."], "B.") + "\n" + line + "\n")

    with pytest.raises(InputFormatError) as error:
        list(aclsum.read_pairs(path))

    assert str(error.value).startswith(f"{path}, line 2:")
    assert message in str(error.value)


def test_aclsum_reads_package_without_importing_it(aclsum_dir, tmp_path, monkeypatch):
    package = tmp_path / "site" / "aclsum"
    write(package / "__init__.py", "raise ImportError('the converter must not import aclsum')\n")
    (aclsum_dir).rename(package / "dataset")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))

    files = aclsum.input_files(None)

    assert files["valid"] == package / "dataset" / "val.jsonl"


def test_aclsum_package_missing(monkeypatch):
    monkeypatch.setattr(aclsum.importlib.util, "find_spec", lambda name: None)

    with pytest.raises(FileNotFoundError, match="make setup"):
        aclsum.input_files(None)


def test_aclsum_conversion_is_idempotent(aclsum_dir, tmp_path):
    raw = tmp_path / "raw"
    aclsum.convert(aclsum_dir, raw)
    before = mtimes(raw)

    aclsum.convert(aclsum_dir, raw)

    assert mtimes(raw) == before


# ---------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------


def test_find_input_file_rejects_ambiguous_names(tmp_path):
    write(tmp_path / "a" / "input.txt", "x\n")
    write(tmp_path / "b" / "input.txt", "y\n")

    with pytest.raises(ValueError, match="found 2 files named input.txt"):
        download.find_input_file(tmp_path, ["input.txt"], "test input")


def test_write_parallel_split_rejects_line_breaks(tmp_path):
    with pytest.raises(ValueError, match="line break"):
        download.write_parallel_split(tmp_path, "train", [("one\ntwo", "target")])

    assert not (tmp_path / "train.src").exists()


# ---------------------------------------------------------------------------
# Download helper (no network: file:// URLs and a stubbed urlopen)
# ---------------------------------------------------------------------------


@pytest.fixture
def remote_file(tmp_path):
    path = tmp_path / "remote" / "archive.bin"
    path.parent.mkdir()
    path.write_bytes(b"0123456789" * 1000)
    return path


def test_download_verifies_sha256_and_renames(remote_file, tmp_path):
    destination = tmp_path / "downloads" / "archive.bin"
    digest = hashlib.sha256(remote_file.read_bytes()).hexdigest()

    result = download.download_file(remote_file.as_uri(), destination, sha256=digest)

    assert result == destination
    assert destination.read_bytes() == remote_file.read_bytes()
    assert not destination.with_name("archive.bin.part").exists()


def test_download_checksum_mismatch(remote_file, tmp_path):
    destination = tmp_path / "downloads" / "archive.bin"

    with pytest.raises(DownloadError, match="SHA-256 mismatch"):
        download.download_file(remote_file.as_uri(), destination, sha256="0" * 64)

    assert not destination.exists()
    assert not destination.with_name("archive.bin.part").exists()


def test_download_without_checksum_warns(remote_file, tmp_path, caplog):
    destination = tmp_path / "archive.bin"

    with caplog.at_level(logging.WARNING, logger="ami.data.download"):
        download.download_file(remote_file.as_uri(), destination)

    assert destination.read_bytes() == remote_file.read_bytes()
    assert "no published SHA-256" in caplog.text


def test_download_reuses_finished_file(remote_file, tmp_path):
    destination = tmp_path / "archive.bin"
    download.download_file(remote_file.as_uri(), destination)
    remote_file.unlink()

    assert download.download_file(remote_file.as_uri(), destination) == destination


class FakeResponse(io.BytesIO):
    """A minimal HTTP response: body, headers and status."""

    def __init__(self, body: bytes, status: int = 200, headers=None):
        super().__init__(body)
        self.status = status
        self.headers = _Headers(headers or {})


class _Headers(dict):
    def get_content_type(self):
        return self.get("Content-Type", "application/octet-stream").split(";")[0]


def test_write_response_appends_to_partial_file(tmp_path):
    part = tmp_path / "file.part"
    part.write_bytes(b"01234")
    response = FakeResponse(b"56789", status=206, headers={"Content-Length": "5"})

    size = download.write_response(response, part, offset=5)

    assert size == 10
    assert part.read_bytes() == b"0123456789"


def test_write_response_keeps_short_download_for_resume(tmp_path):
    part = tmp_path / "file.part"
    response = FakeResponse(b"0123", headers={"Content-Length": "10"})

    with pytest.raises(DownloadError, match="stopped at 4 of 10 bytes"):
        download.write_response(response, part, offset=0)

    assert part.read_bytes() == b"0123"


def test_download_resumes_with_range_request(tmp_path, monkeypatch):
    destination = tmp_path / "file.bin"
    destination.with_name("file.bin.part").write_bytes(b"01234")
    requests = []

    def fake_urlopen(request, timeout):
        requests.append(request.get_header("Range"))
        return FakeResponse(b"56789", status=206, headers={"Content-Length": "5", "Content-Range": "bytes 5-9/10"})

    monkeypatch.setattr(download.urllib.request, "urlopen", fake_urlopen)

    download.download_file("https://example.org/file.bin", destination)

    assert requests == ["bytes=5-"]
    assert destination.read_bytes() == b"0123456789"


def test_download_unreachable_network(tmp_path, monkeypatch):
    def fake_urlopen(request, timeout):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(download.urllib.request, "urlopen", fake_urlopen)

    with pytest.raises(DownloadError) as error:
        download.download_file("https://example.org/file.tgz", tmp_path / "file.tgz")

    assert "network may be unreachable" in str(error.value)
    assert "prepare.sh --from DIR" in str(error.value)


def test_download_rejects_html_page(tmp_path, monkeypatch):
    def fake_urlopen(request, timeout):
        return FakeResponse(b"<html>confirm</html>", headers={"Content-Type": "text/html; charset=utf-8"})

    monkeypatch.setattr(download.urllib.request, "urlopen", fake_urlopen)

    with pytest.raises(DownloadError, match="HTML page"):
        download.download_file("https://drive.google.com/uc?id=x", tmp_path / "stories.tgz")

    assert not (tmp_path / "stories.tgz").exists()


def test_extract_archive_once(tmp_path):
    source = write(tmp_path / "content" / "data.txt", "payload\n")
    archive = tmp_path / "data.tgz"
    with tarfile.open(archive, "w:gz") as handle:
        handle.add(source, arcname="folder/data.txt")

    target = download.extract_archive(archive, tmp_path / "data")
    (target / "folder" / "data.txt").write_text("changed\n", encoding="utf-8")
    download.extract_archive(archive, tmp_path / "data")

    assert (target / "folder" / "data.txt").read_text(encoding="utf-8") == "changed\n"


def test_extract_archive_rejects_escaping_member(tmp_path):
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as handle:
        info = tarfile.TarInfo("../outside.txt")
        info.size = 1
        handle.addfile(info, io.BytesIO(b"x"))

    with pytest.raises(DownloadError, match="outside"):
        download.extract_archive(archive, tmp_path / "target")

    assert not (tmp_path / "outside.txt").exists()
    assert not (tmp_path / "target").exists()


def test_every_dataset_has_official_urls():
    for name, files in download.DATASET_FILES.items():
        assert files, name
        for remote in files:
            assert remote.url.startswith(("http://", "https://")), remote.url
            assert remote.sha256 is None or len(remote.sha256) == 64, remote.filename


# ---------------------------------------------------------------------------
# Command lines
# ---------------------------------------------------------------------------


def test_download_list_prints_urls(tmp_path, capsys):
    download.main(["cnndm", "--list", "--out", str(tmp_path)])

    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == [
        "all_train.txt", "all_val.txt", "all_test.txt", "cnn_stories.tgz", "dailymail_stories.tgz"
    ]
    assert all(line.endswith("no published SHA-256") for line in lines)
    assert not any(tmp_path.iterdir())


def test_converter_cli_reports_missing_input(tmp_path):
    with pytest.raises(SystemExit) as error:
        personachat.main(["--from", str(tmp_path / "missing"), "--out", str(tmp_path / "out")])

    assert str(error.value).startswith("python -m ami.data.personachat: error: input directory not found")


def test_converter_cli_rejects_bad_option(tmp_path, capsys):
    with pytest.raises(SystemExit) as error:
        dailydialog.main(["--from", str(tmp_path), "--out", str(tmp_path), "--context-turns", "0"])

    assert error.value.code == 2
    assert "--context-turns must be at least 1, got 0" in capsys.readouterr().err
