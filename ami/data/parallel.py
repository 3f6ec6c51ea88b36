"""Generic preparation of a parallel text corpus for fairseq.

The pipeline is the same for every benchmark recipe: check that source and
target files align line by line, train a sentencepiece model on the training
split, encode every split into space-separated pieces and binarize the result
with ``fairseq-preprocess --joined-dictionary``. ``prepare_parallel_corpus``
runs all steps and skips them when a previous run with the same settings and
the same input files has finished.
"""

import contextlib
import hashlib
import json
import logging
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterable, NamedTuple, Optional, Sequence, Union

import sentencepiece as spm

logger = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]

SPLITS = ("train", "valid", "test")
SPM_MODEL_NAME = "sentencepiece"
MARKER_NAME = ".prepared.json"
# Bump when the layout or content of the prepared output changes, so that
# older prepared directories are rebuilt instead of reused.
MARKER_VERSION = 1
DEFAULT_SEED = 1
SENTENCEPIECE_MODEL_TYPES = ("unigram", "bpe", "char", "word")
# Number of trailing output lines of a failed fairseq-preprocess run that go
# into the exception message. fairseq logs to stdout, so the tail is taken
# from stdout and stderr merged.
OUTPUT_TAIL_LINES = 30


def temporary_sibling(path: PathLike) -> Path:
    """Return an unused hidden name next to ``path`` for staging its replacement.

    Staging in the same directory keeps ``os.replace`` and ``os.rename``
    atomic, because source and destination are on one file system.
    """
    path = Path(path)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")


@contextlib.contextmanager
def atomic_open(path: PathLike, mode: str = "w", encoding: Optional[str] = "utf-8"):
    """Open a temporary file that replaces ``path`` only when the block succeeds.

    On an exception, including KeyboardInterrupt, the temporary file is
    removed and ``path`` is left as it was. The file gets the usual
    permissions from the umask.
    """
    if "b" in mode:
        encoding = None
    temp_path = temporary_sibling(path)
    try:
        with open(temp_path, mode.replace("w", "x"), encoding=encoding) as handle:
            yield handle
        os.replace(temp_path, path)
    except BaseException:
        if temp_path.exists():
            temp_path.unlink()
        raise


def count_lines(path: PathLike) -> int:
    """Count lines the way fairseq-preprocess reads them (UTF-8, universal newlines).

    A last line without a trailing newline counts as a line.
    """
    count = 0
    try:
        with open(path, encoding="utf-8") as handle:
            for _ in handle:
                count += 1
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not valid UTF-8 ({err}). Re-encode it as UTF-8.") from err
    return count


def check_parallel_files(source_path: PathLike, target_path: PathLike) -> int:
    """Check that both files exist and have the same number of lines.

    Returns the line count. Raises FileNotFoundError naming a missing file and
    ValueError naming both files and their line counts when the counts differ,
    because fairseq pairs line i of the source with line i of the target.
    """
    for path in (source_path, target_path):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"parallel corpus file not found: {path}")

    source_lines = count_lines(source_path)
    target_lines = count_lines(target_path)
    if source_lines != target_lines:
        raise ValueError(
            f"parallel files have different line counts: {source_path} has "
            f"{source_lines} lines, {target_path} has {target_lines} lines. "
            "Each source line must align with the target line at the same position."
        )
    return source_lines


def train_sentencepiece(
    input_paths: Sequence[PathLike],
    model_prefix: PathLike,
    vocab_size: int,
    model_type: str = "unigram",
    user_defined_symbols: Iterable[str] = (),
    seed: int = DEFAULT_SEED,
    character_coverage: float = 1.0,
    input_sentence_size: int = 0,
) -> Path:
    """Train a sentencepiece model and return the path of ``<model_prefix>.model``.

    Training is reproducible: sentencepiece runs on one thread, and with the
    default ``input_sentence_size=0`` it reads every input line. A positive
    ``input_sentence_size`` trains on that many non-empty lines, drawn here by
    reservoir sampling with ``random.Random(seed)``. sentencepiece's own sampling is not
    used because in sentencepiece 0.2.3 its result changes from process to
    process even after ``set_random_generator_seed``. Lines longer than
    sentencepiece's ``max_sentence_length`` (4192 bytes by default) are left
    out of training.

    ``user_defined_symbols`` are pieces that are never split, such as a turn
    separator. Raises ValueError when the corpus is empty or too small for
    ``vocab_size``.
    """
    if model_type not in SENTENCEPIECE_MODEL_TYPES:
        raise ValueError(
            f"invalid sentencepiece model_type {model_type!r}, "
            f"expected one of {', '.join(SENTENCEPIECE_MODEL_TYPES)}"
        )
    if vocab_size < 1:
        raise ValueError(f"vocab_size must be positive, got {vocab_size}")
    if input_sentence_size < 0:
        raise ValueError(
            f"input_sentence_size must be 0 (use all lines) or positive, got {input_sentence_size}"
        )
    input_paths = [str(path) for path in input_paths]
    if not input_paths:
        raise ValueError("train_sentencepiece needs at least one input file")
    for path in input_paths:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"sentencepiece training file not found: {path}")
    if all(os.path.getsize(path) == 0 for path in input_paths):
        raise ValueError(
            f"sentencepiece training files are empty: {', '.join(input_paths)}"
        )

    model_prefix = Path(model_prefix)
    model_prefix.parent.mkdir(parents=True, exist_ok=True)
    sample_path = None
    training_paths = input_paths
    if input_sentence_size > 0:
        sample, total = _sample_lines(input_paths, input_sentence_size, seed)
        if total > input_sentence_size:
            logger.info(
                "training sentencepiece on %d of %d lines, sampled with seed %d",
                input_sentence_size, total, seed,
            )
            sample_name = model_prefix.name + ".sample.txt"
            sample_path = temporary_sibling(model_prefix.with_name(sample_name))
            with open(sample_path, "x", encoding="utf-8") as handle:
                handle.writelines(sample)
            training_paths = [str(sample_path)]

    try:
        spm.SentencePieceTrainer.train(
            input=training_paths,
            model_prefix=str(model_prefix),
            vocab_size=vocab_size,
            model_type=model_type,
            character_coverage=character_coverage,
            user_defined_symbols=list(user_defined_symbols),
            num_threads=1,
            minloglevel=2,
        )
    except RuntimeError as err:
        raise _explain_sentencepiece_error(err, input_paths, vocab_size) from err
    finally:
        if sample_path is not None and sample_path.exists():
            sample_path.unlink()
    return model_prefix.with_name(model_prefix.name + ".model")


def _sample_lines(input_paths: Sequence[str], sample_size: int, seed: int):
    """Draw ``sample_size`` non-empty lines uniformly at random by reservoir sampling.

    Returns the sample (each line ending in a newline) and the number of
    non-empty lines read. Memory holds only the sample.
    """
    generator = random.Random(seed)
    sample = []
    total = 0
    for path in input_paths:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                total += 1
                if not line.endswith("\n"):
                    line += "\n"
                if len(sample) < sample_size:
                    sample.append(line)
                    continue
                slot = generator.randrange(total)
                if slot < sample_size:
                    sample[slot] = line
    return sample, total


def _explain_sentencepiece_error(err: RuntimeError, input_paths, vocab_size) -> Exception:
    """Build an exception with an actionable message from sentencepiece's internal error."""
    message = str(err)
    inputs = ", ".join(input_paths)
    if "Vocabulary size too high" in message:
        limit = re.search(r"<=\s*(\d+)", message)
        limit_text = f" (sentencepiece allows at most {limit.group(1)})" if limit else ""
        return ValueError(
            f"vocab_size={vocab_size} is too large for the sentencepiece training "
            f"corpus {inputs}{limit_text}. Lower vocab_size (--vocab-size) or train on more text."
        )
    if "sentences_.empty()" in message:
        return ValueError(
            f"sentencepiece found no usable training lines in {inputs}: every line is "
            "empty or longer than max_sentence_length (4192 bytes). Check that these "
            "are the intended text files."
        )
    return RuntimeError(f"sentencepiece training on {inputs} failed: {message}")


def load_sentencepiece(spm_model: Union[PathLike, spm.SentencePieceProcessor]):
    """Return a SentencePieceProcessor, loading it if ``spm_model`` is a path."""
    if isinstance(spm_model, spm.SentencePieceProcessor):
        return spm_model
    if not os.path.isfile(spm_model):
        raise FileNotFoundError(f"sentencepiece model not found: {spm_model}")
    return spm.SentencePieceProcessor(model_file=str(spm_model))


def encode_file(
    spm_model: Union[PathLike, spm.SentencePieceProcessor],
    input_path: PathLike,
    output_path: PathLike,
    batch_size: int = 10000,
) -> int:
    """Encode a text file into space-separated sentencepiece pieces, line by line.

    The output is written to a temporary file in the same directory and moved
    into place with ``os.replace``, so an interrupted run leaves no partial
    output. Returns the number of lines written.
    """
    processor = load_sentencepiece(spm_model)
    output_path = Path(output_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(input_path, encoding="utf-8") as source, atomic_open(output_path) as output:
        batch = []
        for line in source:
            batch.append(line.rstrip("\n"))
            if len(batch) >= batch_size:
                count += _write_encoded(processor, batch, output)
                batch = []
        if batch:
            count += _write_encoded(processor, batch, output)
    return count


def _write_encoded(processor, lines, output) -> int:
    for pieces in processor.encode(lines, out_type=str):
        output.write(" ".join(pieces))
        output.write("\n")
    return len(lines)


def find_fairseq_preprocess() -> str:
    """Return the path of the ``fairseq-preprocess`` executable.

    The copy next to the running interpreter comes first, so that a virtual
    environment works without being activated. Then PATH is searched.
    """
    candidate = Path(sys.executable).parent / "fairseq-preprocess"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which("fairseq-preprocess")
    if found is None:
        raise FileNotFoundError(
            f"fairseq-preprocess not found next to {sys.executable} or on PATH. "
            "Install fairseq-fixed into this environment (scripts/setup_env.sh)."
        )
    return found


def binarize(
    destdir: PathLike,
    trainpref: PathLike,
    validpref: Optional[PathLike],
    testpref: Optional[PathLike],
    source_lang: str,
    target_lang: str,
    workers: int = 1,
) -> Path:
    """Binarize text splits with ``fairseq-preprocess --joined-dictionary``.

    ``trainpref`` and friends are fairseq prefixes: ``<prefix>.<lang>`` must
    exist for both languages. fairseq-preprocess writes into a temporary
    directory next to ``destdir``, which is renamed to ``destdir`` only after
    success, so an interrupted run never leaves a complete-looking directory.
    An existing ``destdir`` is replaced. Raises RuntimeError with the command
    and the tail of its output when fairseq-preprocess fails.
    """
    destdir = Path(destdir)
    temp_dir = temporary_sibling(destdir)
    command = [
        find_fairseq_preprocess(),
        "--source-lang", source_lang,
        "--target-lang", target_lang,
        "--trainpref", str(trainpref),
        "--destdir", str(temp_dir),
        "--joined-dictionary",
        "--workers", str(workers),
    ]
    if validpref is not None:
        command += ["--validpref", str(validpref)]
    if testpref is not None:
        command += ["--testpref", str(testpref)]

    logger.info("binarizing into %s: %s", destdir, " ".join(command))
    destdir.parent.mkdir(parents=True, exist_ok=True)
    temp_dir.mkdir()
    try:
        result = subprocess.run(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        if result.returncode != 0:
            tail = "\n".join(result.stdout.splitlines()[-OUTPUT_TAIL_LINES:])
            raise RuntimeError(
                f"fairseq-preprocess failed with exit code {result.returncode}.\n"
                f"command: {' '.join(command)}\n"
                f"last lines of its output:\n{tail}"
            )
        _replace_directory(temp_dir, destdir)
    except BaseException:
        # A failed cleanup must not hide the error that is being raised.
        shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    return destdir


def _replace_directory(source: Path, destination: Path) -> None:
    """Move ``source`` to ``destination``, replacing an existing directory."""
    if destination.exists():
        old = temporary_sibling(destination)
        os.rename(destination, old)
        os.rename(source, destination)
        shutil.rmtree(old)
    else:
        os.rename(source, destination)


class PreparedCorpus(NamedTuple):
    """Locations of a prepared corpus and whether an earlier run was reused."""

    bin_dir: Path
    spm_model: Path
    reused: bool


def _input_fingerprint(paths: Sequence[Path]) -> str:
    """Hash the names, sizes and modification times of the input files.

    Sizes and mtimes instead of contents keep the check fast on large corpora.
    A rewrite with identical size and mtime would go unnoticed.
    """
    entries = []
    for path in paths:
        stat = path.stat()
        entries.append([path.name, stat.st_size, stat.st_mtime_ns])
    return hashlib.sha256(json.dumps(entries).encode("utf-8")).hexdigest()


def prepare_parallel_corpus(
    raw_dir: PathLike,
    out_dir: PathLike,
    source_lang: str = "src",
    target_lang: str = "tgt",
    vocab_size: int = 8000,
    user_defined_symbols: Iterable[str] = (),
    force: bool = False,
    model_type: str = "unigram",
    seed: int = DEFAULT_SEED,
    workers: int = 1,
) -> PreparedCorpus:
    """Turn ``raw_dir/{train,valid,test}.{src,tgt}`` into a fairseq data directory.

    Trains sentencepiece on the training source and target text, writes the
    encoded splits and ``sentencepiece.model`` to ``out_dir/spm/`` and the
    binarized data to ``out_dir/bin/``. ``out_dir/.prepared.json`` records the
    settings and a fingerprint of the input files once all steps have finished.
    A later call with the same settings and unchanged inputs skips the work
    unless ``force`` is set.
    """
    raw_dir = Path(raw_dir)
    out_dir = Path(out_dir)
    spm_dir = out_dir / "spm"
    bin_dir = out_dir / "bin"
    marker_path = out_dir / MARKER_NAME
    spm_model = spm_dir / f"{SPM_MODEL_NAME}.model"

    input_paths = []
    for split in SPLITS:
        source_path = raw_dir / f"{split}.{source_lang}"
        target_path = raw_dir / f"{split}.{target_lang}"
        lines = check_parallel_files(source_path, target_path)
        if lines == 0:
            raise ValueError(
                f"{source_path} and {target_path} are empty, "
                "but every split needs at least one example"
            )
        logger.info("%s split: %d lines in %s", split, lines, source_path.parent)
        input_paths += [source_path, target_path]

    settings = {
        "version": MARKER_VERSION,
        "source_lang": source_lang,
        "target_lang": target_lang,
        "vocab_size": vocab_size,
        "model_type": model_type,
        "user_defined_symbols": list(user_defined_symbols),
        "seed": seed,
        "raw_dir": str(raw_dir.resolve()),
    }
    fingerprint = _input_fingerprint(input_paths)
    record = {"settings": settings, "inputs": fingerprint}

    if not force and _is_prepared(marker_path, record, bin_dir, spm_model, source_lang):
        logger.info(
            "skipping preparation: %s is already prepared with the same settings and "
            "inputs (%s). Pass force=True (--force) to redo it", out_dir, marker_path
        )
        return PreparedCorpus(bin_dir, spm_model, reused=True)

    # Remove the marker first, so that an interrupted rerun is not taken as finished.
    if marker_path.exists():
        marker_path.unlink()

    logger.info(
        "training sentencepiece (%s, vocab_size=%d) on the training split", model_type, vocab_size
    )
    train_sentencepiece(
        [raw_dir / f"train.{source_lang}", raw_dir / f"train.{target_lang}"],
        spm_dir / SPM_MODEL_NAME,
        vocab_size=vocab_size,
        model_type=model_type,
        user_defined_symbols=user_defined_symbols,
        seed=seed,
    )

    processor = load_sentencepiece(spm_model)
    for split in SPLITS:
        for lang in (source_lang, target_lang):
            encode_file(processor, raw_dir / f"{split}.{lang}", spm_dir / f"{split}.{lang}")
    logger.info("encoded all splits into %s", spm_dir)

    binarize(
        bin_dir,
        trainpref=spm_dir / "train",
        validpref=spm_dir / "valid",
        testpref=spm_dir / "test",
        source_lang=source_lang,
        target_lang=target_lang,
        workers=workers,
    )

    _write_json_atomic(marker_path, record)
    logger.info("prepared %s (binarized data in %s)", out_dir, bin_dir)
    return PreparedCorpus(bin_dir, spm_model, reused=False)


def _is_prepared(
    marker_path: Path, record: dict, bin_dir: Path, spm_model: Path, source_lang: str
) -> bool:
    """Return whether the marker matches ``record`` and the main outputs exist."""
    if not marker_path.is_file():
        return False
    try:
        with open(marker_path, encoding="utf-8") as handle:
            previous = json.load(handle)
    except (OSError, json.JSONDecodeError) as err:
        logger.warning("ignoring unreadable %s (%s) and preparing again", marker_path, err)
        return False
    if previous != record:
        logger.info("settings or input files changed since the last run, so preparing again")
        return False
    if not (bin_dir / f"dict.{source_lang}.txt").is_file() or not spm_model.is_file():
        logger.info("%s exists but outputs are missing, so preparing again", marker_path)
        return False
    return True


def _write_json_atomic(path: Path, data: dict) -> None:
    with atomic_open(path) as output:
        json.dump(data, output, indent=2, sort_keys=True)
        output.write("\n")
