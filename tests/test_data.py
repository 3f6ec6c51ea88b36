"""Tests for ami.data: Chit-Chat pair building and the parallel corpus pipeline.

The end-to-end tests run sentencepiece and fairseq-preprocess for real on
small corpora. The whole file took about 20 s on a 2-core x86 CPU.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2

from ami.data.chitchat import (
    TURN_SEPARATOR,
    build_pairs,
    conversation_turns,
    normalize_text,
    split_for,
    write_raw,
)
from ami.data.parallel import (
    binarize,
    check_parallel_files,
    encode_file,
    prepare_parallel_corpus,
    train_sentencepiece,
)

A = "22578ac2-6317-44d5-8052-0a59076e0b96"
B = "bebad07e-15df-48c3-a04f-67db828503e3"
TWENTY_WORDS = " ".join(f"w{i}" for i in range(20))
TWENTY_ONE_WORDS = " ".join(f"w{i}" for i in range(21))


def message(text, sender):
    return {"text": text, "timestamp": "2018-04-19T19:57:51", "sender": sender}


def conversation(*groups):
    """Build a conversation in the chitchat_dataset format from groups of (text, sender)."""
    return {
        "prompt": "What's the most interesting thing you've learned recently?",
        "ratings": {"witty": "1", "int": 5, "upbeat": 5},
        "start": "2018-04-20T01:57:41",
        "messages": [[message(text, sender) for text, sender in group] for group in groups],
    }


# Turns: "Hello how are you?", "good thanks", "" (empty), "that is sad",
# TWENTY_ONE_WORDS, TWENTY_WORDS, "ok bye". The second group repeats
# sender A, so it joins the first turn.
HAND_WRITTEN = conversation(
    [("Hello", A), ("  how\tare ", A)],
    [("you?", A)],
    [("good", B), ("thanks\x07", B)],
    [("", A), ("   ", A)],
    [("that is sad", B)],
    [(TWENTY_ONE_WORDS, A)],
    [(TWENTY_WORDS, B)],
    [("ok\nbye", A)],
)


def test_normalize_text_whitespace_and_control():
    assert normalize_text("  a\t b\n\nc \u00a0d ") == "a b c d"
    assert normalize_text("bell\x07 and\x00null") == "bell andnull"
    assert normalize_text("lone \ud83d surrogate") == "lone surrogate"


def test_turns_join_consecutive_messages():
    assert conversation_turns(HAND_WRITTEN) == [
        "Hello how are you?",
        "good thanks",
        "",
        "that is sad",
        TWENTY_ONE_WORDS,
        TWENTY_WORDS,
        "ok bye",
    ]


def test_build_pairs_one_context_turn():
    pairs = build_pairs({"conv-1": HAND_WRITTEN}, context_turns=1, max_words=20)

    # Dropped: ("good thanks", "") and ("", "that is sad") for the empty turn,
    # and both pairs that contain the 21-word turn.
    assert split_for("conv-1") == "train"
    assert pairs["train"] == [
        ("Hello how are you?", "good thanks"),
        (TWENTY_WORDS, "ok bye"),
    ]
    assert pairs["valid"] == []
    assert pairs["test"] == []


def test_build_pairs_two_context_turns():
    pairs = build_pairs({"conv-1": HAND_WRITTEN}, context_turns=2, max_words=20)

    # Contexts of two turns count the words of both, not the separator:
    # "that is sad" + TWENTY_ONE_WORDS is too long, and so is
    # TWENTY_ONE_WORDS + TWENTY_WORDS.
    assert pairs["train"] == [("Hello how are you?", "good thanks")]

    pairs = build_pairs({"conv-1": HAND_WRITTEN}, context_turns=2, max_words=45)
    assert pairs["train"] == [
        ("Hello how are you?", "good thanks"),
        (f"that is sad {TURN_SEPARATOR} {TWENTY_ONE_WORDS}", TWENTY_WORDS),
        (f"{TWENTY_ONE_WORDS} {TURN_SEPARATOR} {TWENTY_WORDS}", "ok bye"),
    ]


def test_build_pairs_rejects_bad_settings():
    with pytest.raises(ValueError, match="context_turns"):
        build_pairs({}, context_turns=0)
    with pytest.raises(ValueError, match="max_words"):
        build_pairs({}, max_words=0)


def test_split_for_known_ids():
    # Buckets (MD5 as an integer, mod 100): conv-1 70, conv-16 89,
    # conv-10 92, conv-24 92, conv-20 97.
    assert split_for("conv-1") == "train"
    assert split_for("conv-16") == "train"
    assert split_for("conv-10") == "valid"
    assert split_for("conv-24") == "valid"
    assert split_for("conv-20") == "test"


def test_split_proportions():
    counts = {"train": 0, "valid": 0, "test": 0}
    for index in range(20000):
        counts[split_for(f"conversation-{index}")] += 1
    assert 17600 <= counts["train"] <= 18400
    assert 800 <= counts["valid"] <= 1200
    assert 800 <= counts["test"] <= 1200


def test_split_by_conversation():
    conversations = {
        f"conv-{index}": conversation(
            [(f"hello from c{index}", A)],
            [(f"reply in c{index}", B)],
            [(f"again from c{index}", A)],
        )
        for index in range(1, 31)
    }
    pairs = build_pairs(conversations)

    seen = set()
    for split, split_pairs in pairs.items():
        for context, response in split_pairs:
            conversation_id = "conv-" + context.split()[-1][1:]
            assert response.split()[-1] == context.split()[-1]
            assert split_for(conversation_id) == split
            seen.add(conversation_id)
    assert seen == set(conversations)
    assert sum(len(split_pairs) for split_pairs in pairs.values()) == 60
    assert pairs == build_pairs(dict(reversed(list(conversations.items()))))


def test_write_raw_truncates_and_keeps_mtime(tmp_path):
    pairs = {
        "train": [(f"c{i}", f"r{i}") for i in range(5)],
        "valid": [(f"vc{i}", f"vr{i}") for i in range(3)],
        "test": [("tc", "tr")],
    }
    counts = write_raw(pairs, tmp_path, max_train_pairs=2, max_eval_pairs=2)

    assert counts == {"train": 2, "valid": 2, "test": 1}
    assert (tmp_path / "train.src").read_text() == "c0\nc1\n"
    assert (tmp_path / "train.tgt").read_text() == "r0\nr1\n"
    assert (tmp_path / "valid.src").read_text() == "vc0\nvc1\n"
    assert (tmp_path / "test.tgt").read_text() == "tr\n"

    mtime = (tmp_path / "train.src").stat().st_mtime_ns
    os.utime(tmp_path / "train.src", ns=(mtime - 10**9, mtime - 10**9))
    write_raw(pairs, tmp_path, max_train_pairs=2, max_eval_pairs=2)
    assert (tmp_path / "train.src").stat().st_mtime_ns == mtime - 10**9


def test_write_raw_rejects_line_break(tmp_path):
    with pytest.raises(ValueError, match="line break"):
        write_raw({"train": [("a\nb", "c")]}, tmp_path)


def test_check_parallel_files_mismatch(tmp_path):
    source = tmp_path / "train.src"
    target = tmp_path / "train.tgt"
    source.write_text("one\ntwo\nthree\n")
    target.write_text("uno\ndos\n")

    with pytest.raises(ValueError) as info:
        check_parallel_files(source, target)
    message = str(info.value)
    assert f"{source} has 3 lines" in message
    assert f"{target} has 2 lines" in message


def test_check_parallel_files_missing(tmp_path):
    source = tmp_path / "train.src"
    source.write_text("one\n")
    with pytest.raises(FileNotFoundError, match="train.tgt"):
        check_parallel_files(source, tmp_path / "train.tgt")


def test_check_parallel_files_counts_last_line(tmp_path):
    source = tmp_path / "a.src"
    target = tmp_path / "a.tgt"
    source.write_text("one\ntwo")
    target.write_text("uno\ndos\n")
    assert check_parallel_files(source, target) == 2


def write_corpus(path, lines=300):
    """Write a small synthetic English-like corpus, one sentence per line."""
    words = (
        "the cat dog sat ran on a mat big small red blue house tree runs walks "
        "yesterday morning evening friends played music quietly loudly under over "
        "garden window kitchen coffee water bread apple orange green yellow happy"
    ).split()
    with open(path, "w", encoding="utf-8") as handle:
        for index in range(lines):
            sentence = [words[(index * 7 + step * 3) % len(words)] for step in range(3 + index % 6)]
            handle.write(" ".join(sentence) + "\n")


def test_sentencepiece_vocab_too_large(tmp_path):
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("hello world\nfoo bar\n")

    with pytest.raises(ValueError, match="--vocab-size") as info:
        train_sentencepiece([corpus], tmp_path / "spm", vocab_size=500)
    assert str(corpus) in str(info.value)
    assert isinstance(info.value.__cause__, RuntimeError)


def test_sentencepiece_blank_corpus(tmp_path):
    corpus = tmp_path / "blank.txt"
    corpus.write_text("\n\n\n")
    with pytest.raises(ValueError, match="no usable training lines"):
        train_sentencepiece([corpus], tmp_path / "spm", vocab_size=50)

    corpus.write_text("")
    with pytest.raises(ValueError, match="empty"):
        train_sentencepiece([corpus], tmp_path / "spm", vocab_size=50)


def model_pieces(path):
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(Path(path).read_bytes())
    return [(piece.piece, piece.score) for piece in proto.pieces]


TRAIN_IN_SUBPROCESS = """
import sys
from ami.data.parallel import train_sentencepiece
train_sentencepiece([sys.argv[1]], sys.argv[2], vocab_size=40,
                    user_defined_symbols=["<sep>"], input_sentence_size=int(sys.argv[3]))
"""


@pytest.mark.parametrize("input_sentence_size", [0, 150])
def test_sentencepiece_deterministic(tmp_path, input_sentence_size):
    # Train in two processes: sentencepiece's own line sampling gave the same model
    # twice within one process but a different model in each new process.
    corpus = tmp_path / "corpus.txt"
    write_corpus(corpus)
    for name in ("first", "second"):
        subprocess.run(
            [
                sys.executable, "-c", TRAIN_IN_SUBPROCESS,
                str(corpus), str(tmp_path / name), str(input_sentence_size),
            ],
            check=True,
        )

    first = model_pieces(tmp_path / "first.model")
    assert first == model_pieces(tmp_path / "second.model")
    assert TURN_SEPARATOR in [piece for piece, _ in first]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "corpus.txt", "first.model", "first.vocab", "second.model", "second.vocab",
    ]


def test_encode_file_round_trip(tmp_path):
    corpus = tmp_path / "corpus.txt"
    write_corpus(corpus, lines=50)
    model = train_sentencepiece([corpus], tmp_path / "spm", vocab_size=40)
    output = tmp_path / "encoded" / "corpus.spm"

    assert encode_file(model, corpus, output) == 50

    processor = spm.SentencePieceProcessor(model_file=str(model))
    encoded = output.read_text(encoding="utf-8").splitlines()
    original = corpus.read_text(encoding="utf-8").splitlines()
    assert len(encoded) == len(original)
    assert [processor.decode(line.split()) for line in encoded] == original
    assert sorted(path.name for path in output.parent.iterdir()) == ["corpus.spm"]


def write_parallel(raw_dir, lines=200):
    raw_dir.mkdir(parents=True, exist_ok=True)
    for split in ("train", "valid", "test"):
        write_corpus(raw_dir / f"{split}.src", lines)
        write_corpus(raw_dir / f"{split}.tgt", lines)


def test_binarize_failure_names_command(tmp_path):
    destdir = tmp_path / "bin"
    with pytest.raises(RuntimeError) as info:
        binarize(destdir, tmp_path / "missing", None, None, "src", "tgt")
    message = str(info.value)
    assert "fairseq-preprocess failed" in message
    assert "--joined-dictionary" in message
    assert not destdir.exists()
    assert list(tmp_path.iterdir()) == []


def test_prepare_parallel_corpus_reuse(tmp_path, caplog):
    raw_dir = tmp_path / "raw"
    out_dir = tmp_path / "out"
    write_parallel(raw_dir)
    caplog.set_level("INFO", logger="ami.data.parallel")

    first = prepare_parallel_corpus(raw_dir, out_dir, vocab_size=40)
    assert not first.reused
    assert (out_dir / "bin" / "dict.src.txt").is_file()
    assert (out_dir / "bin" / "train.src-tgt.tgt.idx").is_file()
    assert (out_dir / "spm" / "sentencepiece.model").is_file()
    assert (out_dir / "spm" / "test.tgt").is_file()
    assert (out_dir / ".prepared.json").is_file()

    caplog.clear()
    second = prepare_parallel_corpus(raw_dir, out_dir, vocab_size=40)
    assert second.reused
    assert "skipping preparation" in caplog.text

    third = prepare_parallel_corpus(raw_dir, out_dir, vocab_size=45)
    assert not third.reused
    assert '"vocab_size": 45' in (out_dir / ".prepared.json").read_text()
    assert sorted(path.name for path in out_dir.iterdir()) == [".prepared.json", "bin", "spm"]

    forced = prepare_parallel_corpus(raw_dir, out_dir, vocab_size=45, force=True)
    assert not forced.reused


def test_prepare_parallel_corpus_mismatch(tmp_path):
    raw_dir = tmp_path / "raw"
    write_parallel(raw_dir)
    with open(raw_dir / "valid.tgt", "a", encoding="utf-8") as handle:
        handle.write("one more line\n")

    with pytest.raises(ValueError, match="valid.tgt has 201 lines"):
        prepare_parallel_corpus(raw_dir, tmp_path / "out", vocab_size=40)
    assert not (tmp_path / "out").exists()


def test_prepare_chitchat_console_script(tmp_path):
    pytest.importorskip("chitchat_dataset")
    script = Path(sys.executable).parent / "ami-prepare-chitchat"
    assert script.is_file(), f"{script} not found. Install the package with `pip install -e .`"
    out_dir = tmp_path / "chitchat"
    command = [
        str(script), "--out", str(out_dir),
        "--max-train-pairs", "2000", "--max-eval-pairs", "200", "--vocab-size", "500",
    ]

    first = subprocess.run(command, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout + first.stderr
    for name in [
        "dict.src.txt",
        "dict.tgt.txt",
        "train.src-tgt.src.bin",
        "train.src-tgt.src.idx",
        "train.src-tgt.tgt.bin",
        "valid.src-tgt.src.bin",
        "test.src-tgt.tgt.idx",
    ]:
        assert (out_dir / "bin" / name).is_file(), name
    assert (out_dir / "spm" / "sentencepiece.model").is_file()
    assert len((out_dir / "raw" / "train.src").read_text(encoding="utf-8").splitlines()) == 2000
    assert len((out_dir / "raw" / "valid.tgt").read_text(encoding="utf-8").splitlines()) == 200
    assert "train: 2000 pairs" in first.stdout

    dict_mtime = (out_dir / "bin" / "dict.src.txt").stat().st_mtime_ns
    second = subprocess.run(command, capture_output=True, text=True)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "skipping preparation" in second.stdout
    assert "fairseq-preprocess" not in second.stdout
    assert (out_dir / "bin" / "dict.src.txt").stat().st_mtime_ns == dict_mtime
