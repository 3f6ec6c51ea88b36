"""Raw benchmark data: download it, find its files and write it as parallel text.

The benchmark recipes (``recipes/*/prepare.sh``) get their data in two ways:
``prepare.sh --from DIR`` reads files that the user downloaded by hand, and
``prepare.sh`` alone calls ``python -m ami.data.download NAME --out DIR``
first, which fetches the official files listed in ``DATASET_FILES``.

This module contains what the dataset converters (``ami.data.personachat``,
``dailydialog``, ``gigaword``, ``cnndm``, ``aclsum``) share:

- ``download_file``: HTTP(S) or file:// download into ``NAME.part``, resumed
  with an HTTP Range request after an interruption, checked against a
  SHA-256 digest when one is known and renamed to ``NAME`` only when complete;
- ``extract_archive``: tar or zip extraction into a directory that appears
  only when extraction has finished;
- ``find_input_file``: locate a dataset file below the ``--from`` directory;
- ``InputFormatError``: a malformed input line, reported with file and line;
- ``write_parallel_split`` and the conversion marker: write
  ``raw/{split}.{src,tgt}`` with ``atomic_open`` and skip the conversion when
  the inputs and settings are unchanged since the last complete run.
"""

import argparse
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from ami.data.parallel import PathLike, atomic_open, temporary_sibling

logger = logging.getLogger(__name__)

SOURCE_LANG = "src"
TARGET_LANG = "tgt"
CONVERSION_MARKER = ".converted.json"
EXTRACTION_MARKER = ".extracted.json"
PART_SUFFIX = ".part"
CHUNK_BYTES = 1 << 20
USER_AGENT = "ami-recipes/0.1 (python urllib)"


@dataclass(frozen=True)
class RemoteFile:
    """One official file of a dataset.

    ``sha256`` is None when no published digest is known; such a download is
    checked for completeness (Content-Length) but not for content.
    ``extract`` marks an archive that ``download_dataset`` unpacks.
    """

    url: str
    filename: str
    sha256: Optional[str] = None
    extract: bool = False


_CNNDM_URL_LISTS = "https://raw.githubusercontent.com/abisee/cnn-dailymail/master/url_lists"

# Official locations. The ConvAI2 digest is the one ParlAI's
# parlai/tasks/convai2/build.py checks. No SHA-256 is published for the other
# files (torchtext lists MD5 sums for the CNN/DailyMail story archives only).
# For large files, the Google Drive links return an HTML confirmation page
# instead of the file. download_file detects it and prints the manual steps.
DATASET_FILES: Dict[str, Tuple[RemoteFile, ...]] = {
    "personachat": (
        RemoteFile(
            "http://parl.ai/downloads/convai2/convai2_fix_723.tgz",
            "convai2_fix_723.tgz",
            sha256="d0ae89defe2fd0b0a4221eaa642a457d7d40cef475f54798119c7f3b8dd9361d",
            extract=True,
        ),
    ),
    "dailydialog": (
        RemoteFile("http://yanran.li/files/ijcnlp_dailydialog.zip", "ijcnlp_dailydialog.zip", extract=True),
    ),
    "gigaword": (
        RemoteFile(
            "https://drive.google.com/uc?export=download&id=0B6N7tANPyVeBNmlSX19Ld2xDU1E",
            "gigaword_sumdata.tar.gz",
            extract=True,
        ),
    ),
    # The small URL lists come first, so they are in place even when the
    # story archives have to be downloaded by hand.
    "cnndm": (
        RemoteFile(f"{_CNNDM_URL_LISTS}/all_train.txt", "all_train.txt"),
        RemoteFile(f"{_CNNDM_URL_LISTS}/all_val.txt", "all_val.txt"),
        RemoteFile(f"{_CNNDM_URL_LISTS}/all_test.txt", "all_test.txt"),
        RemoteFile(
            "https://drive.google.com/uc?export=download&id=0BwmD_VLjROrfTHk4NFg2SndKcjQ",
            "cnn_stories.tgz",
            extract=True,
        ),
        RemoteFile(
            "https://drive.google.com/uc?export=download&id=0BwmD_VLjROrfM1BxdkxVaTY2bWs",
            "dailymail_stories.tgz",
            extract=True,
        ),
    ),
}


class DownloadError(RuntimeError):
    """A failed download. The message explains how to get the file by hand."""


class InputFormatError(ValueError):
    """A malformed line in a dataset file."""

    def __init__(self, path: PathLike, line_number: int, problem: str):
        self.path = str(path)
        self.line_number = line_number
        super().__init__(f"{path}, line {line_number}: {problem}")


# ---------------------------------------------------------------------------
# Download
# ---------------------------------------------------------------------------


def sha256_of(path: PathLike) -> str:
    """Return the hex SHA-256 digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _manual_download_hint(url: str, destination: Path) -> str:
    return (
        f"Download {url} by hand (a browser works for Google Drive links), put it in "
        f"{destination.parent} or any directory DIR, and run prepare.sh --from DIR."
    )


def _content_range_total(header: Optional[str]) -> Optional[int]:
    """Return N from a Content-Range header ``bytes a-b/N`` or ``bytes */N``."""
    if not header:
        return None
    match = re.fullmatch(r"bytes\s+(?:\d+-\d+|\*)/(\d+)", header.strip())
    return int(match.group(1)) if match else None


def write_response(response, part_path: Path, offset: int, chunk_size: int = CHUNK_BYTES) -> int:
    """Write the body of ``response`` to ``part_path`` and return the file's final size.

    ``offset`` > 0 appends to an existing partial file, because the response
    is the reply to a Range request starting there. 0 truncates the file first. Raises
    DownloadError when the body is shorter than its Content-Length, keeping
    the partial file so that the next run resumes it.
    """
    length_header = response.headers.get("Content-Length")
    expected = offset + int(length_header) if length_header and length_header.isdigit() else None
    mode = "ab" if offset > 0 else "wb"
    with open(part_path, mode) as output:
        if offset > 0 and output.tell() != offset:
            raise DownloadError(
                f"{part_path} has {output.tell()} bytes, but the server resumed at byte {offset}; "
                f"delete {part_path} and run again"
            )
        try:
            for chunk in iter(lambda: response.read(chunk_size), b""):
                output.write(chunk)
        except (OSError, HTTPException) as err:
            raise DownloadError(
                f"download into {part_path} was interrupted after {output.tell()} bytes ({err}). "
                "Run the same command again to resume it"
            ) from err
        size = output.tell()
    if expected is not None and size != expected:
        raise DownloadError(
            f"download into {part_path} stopped at {size} of {expected} bytes. "
            "Run the same command again to resume it"
        )
    return size


def finish_download(part_path: Path, destination: Path, sha256: Optional[str]) -> Path:
    """Check the finished ``.part`` file against ``sha256`` and rename it to ``destination``.

    On a digest mismatch the partial file is deleted (resuming it cannot
    repair it) and DownloadError names both digests. Without a known digest
    the file is renamed unchecked and a warning is logged.
    """
    if sha256 is not None:
        actual = sha256_of(part_path)
        if actual != sha256.lower():
            part_path.unlink()
            raise DownloadError(
                f"SHA-256 mismatch for {destination.name}: expected {sha256}, got {actual}. "
                "The download was deleted; run again, or download the file by hand"
            )
        logger.info("%s: SHA-256 verified", destination.name)
    else:
        logger.warning(
            "%s: no published SHA-256 is known, so its content is not verified", destination.name
        )
    os.replace(part_path, destination)
    return destination


def download_file(
    url: str,
    destination: PathLike,
    sha256: Optional[str] = None,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``destination``, resuming an earlier partial download.

    The body goes to ``destination + ".part"``. A second call after an
    interruption sends ``Range: bytes=N-`` and appends when the server
    replies with 206. A reply with 200 (and any file:// URL) contains the
    whole file, which then replaces the partial one. An existing ``destination`` is reused, after checking
    ``sha256`` when it is given. Raises DownloadError, with the manual steps,
    when the network is unreachable, the server fails or the response is an
    HTML page instead of the file.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.is_file():
        if sha256 is not None and sha256_of(destination) != sha256.lower():
            raise DownloadError(
                f"{destination} exists but its SHA-256 does not match {sha256}. "
                "Delete it and run again"
            )
        logger.info("%s exists: not downloading it again", destination)
        return destination

    part_path = destination.with_name(destination.name + PART_SUFFIX)
    offset = part_path.stat().st_size if part_path.is_file() else 0
    headers = {"User-Agent": USER_AGENT}
    if offset > 0:
        headers["Range"] = f"bytes={offset}-"
        logger.info("resuming %s at byte %d", url, offset)
    else:
        logger.info("downloading %s", url)
    request = urllib.request.Request(url, headers=headers)

    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset > 0:
            total = _content_range_total(err.headers.get("Content-Range"))
            if total == offset:
                logger.info("%s was already complete", part_path)
                return finish_download(part_path, destination, sha256)
            part_path.unlink()
            raise DownloadError(
                f"{url}: the server rejected resuming at byte {offset}, so {part_path} was deleted. "
                "Run again to download from the start"
            ) from err
        raise DownloadError(
            f"{url}: HTTP error {err.code} ({err.reason}). {_manual_download_hint(url, destination)}"
        ) from err
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise DownloadError(
            f"could not reach {url} ({reason}); the network may be unreachable. "
            f"{_manual_download_hint(url, destination)}"
        ) from err

    with response:
        status = getattr(response, "status", None)
        content_type = response.headers.get_content_type()
        if content_type == "text/html" and not destination.name.endswith((".html", ".htm")):
            raise DownloadError(
                f"{url} returned an HTML page instead of {destination.name} (Google Drive shows a "
                f"confirmation page for large files). {_manual_download_hint(url, destination)}"
            )
        if status == 206:
            start = re.match(r"bytes\s+(\d+)-", response.headers.get("Content-Range", ""))
            if start is None or int(start.group(1)) != offset:
                raise DownloadError(
                    f"{url} returned an unexpected Content-Range "
                    f"{response.headers.get('Content-Range')!r}; delete {part_path} and run again"
                )
        else:
            # 200, or None for file:// URLs: the body is the whole file.
            offset = 0
        write_response(response, part_path, offset)
    return finish_download(part_path, destination, sha256)


def _safe_tar_members(archive: tarfile.TarFile, target: Path) -> List[tarfile.TarInfo]:
    """Return the members of ``archive``, rejecting paths and links that leave ``target``."""
    members = []
    root = target.resolve()
    for member in archive.getmembers():
        path = (root / member.name).resolve()
        if root != path and root not in path.parents:
            raise DownloadError(f"{archive.name}: member {member.name!r} would be written outside {target}")
        if member.issym() or member.islnk():
            link = (path.parent / member.linkname).resolve()
            if root != link and root not in link.parents:
                raise DownloadError(f"{archive.name}: link {member.name!r} points outside {target}")
        if member.isdev():
            raise DownloadError(f"{archive.name}: member {member.name!r} is a device file")
        members.append(member)
    return members


def extract_archive(archive: PathLike, target: PathLike) -> Path:
    """Extract a .tar(.gz) or .zip ``archive`` into the directory ``target``.

    Extraction goes into a hidden sibling directory that is renamed to
    ``target`` when it is complete. ``target/.extracted.json`` records the
    archive's name and size, so a later call with the same archive returns at
    once. Members that would land outside ``target`` are rejected.
    """
    archive = Path(archive)
    target = Path(target)
    record = {"archive": archive.name, "size": archive.stat().st_size}
    marker = target / EXTRACTION_MARKER
    if marker.is_file() and json.loads(marker.read_text(encoding="utf-8")) == record:
        logger.info("%s is already extracted in %s", archive.name, target)
        return target

    staging = temporary_sibling(target)
    staging.mkdir(parents=True)
    try:
        logger.info("extracting %s into %s", archive, target)
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as handle:
                handle.extractall(staging)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as handle:
                members = _safe_tar_members(handle, staging)
                if hasattr(tarfile, "data_filter"):
                    # Python 3.11.4 and newer: also drop unsafe permission bits.
                    handle.extractall(staging, members=members, filter="data")
                else:
                    handle.extractall(staging, members=members)
        else:
            raise DownloadError(f"{archive} is neither a tar nor a zip archive; delete it and download it again")
        with open(staging / EXTRACTION_MARKER, "w", encoding="utf-8") as output:
            json.dump(record, output)
        if target.exists():
            shutil.rmtree(target)
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def archive_stem(filename: str) -> str:
    """Return ``filename`` without its archive extension (.tar.gz, .tgz, .zip, ...)."""
    for suffix in (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tar", ".zip"):
        if filename.endswith(suffix):
            return filename[: -len(suffix)]
    return filename


def download_dataset(name: str, out_dir: PathLike, timeout: float = 60.0) -> Path:
    """Download (and extract) the official files of dataset ``name`` into ``out_dir``.

    Archives are extracted into ``out_dir/<archive name without extension>``.
    Returns ``out_dir``, the directory to pass to the converter as ``--from``.
    """
    if name not in DATASET_FILES:
        raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(sorted(DATASET_FILES))}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for remote in DATASET_FILES[name]:
        path = download_file(remote.url, out_dir / remote.filename, remote.sha256, timeout=timeout)
        if remote.extract:
            extract_archive(path, out_dir / archive_stem(remote.filename))
    return out_dir


# ---------------------------------------------------------------------------
# Finding input files and writing the raw parallel text
# ---------------------------------------------------------------------------


def find_input_file(root: PathLike, names: Sequence[str], description: str, parent: Optional[str] = None) -> Path:
    """Return the one file called one of ``names`` at or below the directory ``root``.

    ``names`` are tried in order; the first name with a match wins. With
    ``parent``, only files in a directory of that name (case-insensitive) or
    directly in ``root`` count. This separates Gigaword's ``Giga/input.txt`` from
    the DUC test sets' files of the same name. Raises FileNotFoundError when
    nothing matches and ValueError when a name matches several files.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"input directory not found: {root}")
    for name in names:
        direct = root / name
        if direct.is_file():
            return direct
        matches = sorted(
            path for path in root.rglob(name)
            if path.is_file() and (parent is None or path.parent.name.lower() == parent.lower())
        )
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            listed = ", ".join(str(path) for path in matches[:5])
            raise ValueError(
                f"found {len(matches)} files named {name} below {root} ({listed}); "
                "pass --from the directory that contains the one to use"
            )
    where = f" in a directory named {parent}" if parent else ""
    raise FileNotFoundError(
        f"{description} not found: no file named {' or '.join(names)}{where} at or below {root}"
    )


def input_fingerprint(paths: Iterable[PathLike]) -> List[list]:
    """Return [resolved path, size, mtime in ns] per input file, for the conversion marker."""
    entries = []
    for path in paths:
        stat = Path(path).stat()
        entries.append([str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns])
    return entries


def split_output_paths(raw_dir: PathLike, split: str) -> Tuple[Path, Path]:
    raw_dir = Path(raw_dir)
    return raw_dir / f"{split}.{SOURCE_LANG}", raw_dir / f"{split}.{TARGET_LANG}"


def previous_conversion(raw_dir: PathLike, record: dict, outputs: Iterable[PathLike]) -> Optional[Dict[str, int]]:
    """Return the pair counts of an earlier conversion with the same ``record``, or None.

    ``record`` contains the converter name, its settings and the input
    fingerprint. None means the conversion must run: the marker is missing,
    unreadable or different, or one of ``outputs`` is missing.
    """
    marker = Path(raw_dir) / CONVERSION_MARKER
    if not marker.is_file():
        return None
    try:
        stored = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        logger.warning("ignoring unreadable %s (%s) and converting again", marker, err)
        return None
    if stored.get("record") != record:
        logger.info("inputs or settings changed since the last conversion into %s, so converting again", raw_dir)
        return None
    missing = [str(path) for path in outputs if not Path(path).is_file()]
    if missing:
        logger.info("%s exists but %s is missing, so converting again", marker, missing[0])
        return None
    return stored["counts"]


def start_conversion(raw_dir: PathLike) -> Path:
    """Create ``raw_dir`` and remove its marker, so an interrupted run is not taken as finished."""
    raw_dir = Path(raw_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    marker = raw_dir / CONVERSION_MARKER
    if marker.exists():
        marker.unlink()
    return raw_dir


def finish_conversion(raw_dir: PathLike, record: dict, counts: Dict[str, int]) -> None:
    """Write the conversion marker once every output file is in place."""
    with atomic_open(Path(raw_dir) / CONVERSION_MARKER) as output:
        json.dump({"record": record, "counts": counts}, output, indent=2, sort_keys=True)
        output.write("\n")


def convert_once(
    raw_dir: PathLike,
    record: dict,
    write_splits: Callable[[Path], Dict[str, int]],
    force: bool = False,
    extra_outputs: Sequence[str] = (),
) -> Dict[str, int]:
    """Run ``write_splits(raw_dir)`` unless an earlier run with the same ``record`` finished.

    ``write_splits`` writes ``raw_dir/{train,valid,test}.{src,tgt}`` (plus
    ``extra_outputs``, names inside ``raw_dir``) and returns the pairs per
    split. Skipping an up-to-date conversion keeps the files' modification
    times, so ``prepare_parallel_corpus`` can reuse its sentencepiece model
    and binarized data too.
    """
    raw_dir = Path(raw_dir)
    outputs = [path for split in ("train", "valid", "test") for path in split_output_paths(raw_dir, split)]
    outputs += [raw_dir / name for name in extra_outputs]
    if not force:
        counts = previous_conversion(raw_dir, record, outputs)
        if counts is not None:
            logger.info(
                "skipping conversion: %s is up to date with the same inputs and settings "
                "(pass --force to redo it)", raw_dir,
            )
            return counts
    start_conversion(raw_dir)
    counts = write_splits(raw_dir)
    finish_conversion(raw_dir, record, counts)
    return counts


def check_one_line(text: str, split: str, side: str, index: int) -> None:
    """Raise ValueError if ``text`` would not stay one line in fairseq's line-based files."""
    if "\n" in text or "\r" in text:
        raise ValueError(f"{split} pair {index} has a line break in its {side}: {text[:80]!r}")


def write_parallel_split(
    raw_dir: PathLike,
    split: str,
    pairs: Iterable[Tuple[str, str]],
    limit: Optional[int] = None,
) -> int:
    """Write ``pairs`` to ``raw_dir/{split}.src`` and ``.tgt`` and return the number written.

    Both files are written through ``atomic_open``, so they are replaced
    only when every pair has been written. ``limit`` keeps the first N pairs.
    Raises ValueError for a pair whose text contains a line break.
    """
    source_path, target_path = split_output_paths(raw_dir, split)
    count = 0
    with atomic_open(source_path) as source_file, atomic_open(target_path) as target_file:
        for source, target in pairs:
            if limit is not None and count >= limit:
                break
            check_one_line(source, split, "source", count)
            check_one_line(target, split, "target", count)
            source_file.write(source + "\n")
            target_file.write(target + "\n")
            count += 1
    return count


def normalize_whitespace(text: str) -> str:
    """Collapse every run of whitespace (Unicode line separators included) to one space."""
    return " ".join(text.split())


def truncate_words(text: str, max_words: int) -> str:
    """Keep the first ``max_words`` whitespace-separated words (all of them when 0)."""
    if max_words <= 0:
        return text
    words = text.split()
    return text if len(words) <= max_words else " ".join(words[:max_words])


def log_raw_summary(raw_dir: PathLike, counts: Dict[str, int], ignored_tokens: Sequence[str] = ()) -> None:
    """Log the pairs and mean words per side of each split, streaming the files.

    ``ignored_tokens`` (separators and markers) are not counted as words.
    """
    ignored = set(ignored_tokens)
    for split in ("train", "valid", "test"):
        means = []
        for path in split_output_paths(raw_dir, split):
            lines = words = 0
            with open(path, encoding="utf-8") as handle:
                for line in handle:
                    lines += 1
                    words += sum(1 for word in line.split() if word not in ignored)
            means.append(words / lines if lines else 0.0)
        logger.info("%s: %d pairs, mean words src %.1f, tgt %.1f", split, counts[split], means[0], means[1])


# ---------------------------------------------------------------------------
# Command line shared by the converters
# ---------------------------------------------------------------------------


def add_common_arguments(parser: argparse.ArgumentParser, vocab_size: int) -> None:
    """Add the output, limit and sentencepiece options that every converter has."""
    parser.add_argument(
        "--out", required=True, metavar="DIR",
        help="output directory, in which raw/, spm/ and bin/ are created",
    )
    parser.add_argument(
        "--vocab-size", type=int, default=vocab_size, metavar="N",
        help=f"sentencepiece vocabulary size (default: {vocab_size})",
    )
    for split in ("train", "valid", "test"):
        parser.add_argument(
            f"--max-{split}-pairs", type=int, default=None, metavar="N",
            help=f"keep only the first N {split} pairs (default: all)",
        )
    parser.add_argument(
        "--workers", type=int, default=1, metavar="N",
        help="fairseq-preprocess worker processes (default: 1)",
    )
    parser.add_argument(
        "--force", action="store_true",
        help="convert, train sentencepiece and binarize again even if the output is up to date",
    )


def check_positive(parser: argparse.ArgumentParser, values: Dict[str, Optional[int]], allow_zero: Sequence[str] = ()) -> None:
    """Call ``parser.error`` for an option value below 1 (below 0 for ``allow_zero``)."""
    for option, value in values.items():
        minimum = 0 if option in allow_zero else 1
        if value is not None and value < minimum:
            parser.error(f"{option} must be at least {minimum}, got {value}")


def check_common_options(
    parser: argparse.ArgumentParser, args: argparse.Namespace, extra: Optional[Dict[str, Optional[int]]] = None,
    allow_zero: Sequence[str] = (),
) -> None:
    """Check the options of ``add_common_arguments`` and ``extra`` with ``check_positive``."""
    values = dict(extra or {})
    values.update({
        "--vocab-size": args.vocab_size, "--workers": args.workers,
        "--max-train-pairs": args.max_train_pairs, "--max-valid-pairs": args.max_valid_pairs,
        "--max-test-pairs": args.max_test_pairs,
    })
    check_positive(parser, values, allow_zero=allow_zero)


def convert_and_prepare(
    prog: str,
    args: argparse.Namespace,
    convert_raw: Callable[[Path, Dict[str, Optional[int]]], Dict[str, int]],
    user_defined_symbols: Sequence[str] = (),
) -> None:
    """Run the part of a converter's ``main`` that every dataset shares.

    ``convert_raw(raw_dir, limits)`` writes ``OUT/raw`` and returns the pairs
    per split; then sentencepiece and fairseq-preprocess run on it. Expected
    errors (invalid or missing input) end the program with a one-line message
    that starts with ``prog``.
    """
    from ami.data.parallel import prepare_parallel_corpus

    start = time.perf_counter()
    out_dir = Path(args.out)
    limits = {"train": args.max_train_pairs, "valid": args.max_valid_pairs, "test": args.max_test_pairs}
    try:
        counts = convert_raw(out_dir / "raw", limits)
        prepared = prepare_parallel_corpus(
            out_dir / "raw", out_dir, source_lang=SOURCE_LANG, target_lang=TARGET_LANG,
            vocab_size=args.vocab_size, user_defined_symbols=tuple(user_defined_symbols), force=args.force,
            workers=args.workers,
        )
    except (ValueError, FileNotFoundError) as err:
        raise SystemExit(f"{prog}: error: {err}") from err
    log_raw_summary(out_dir / "raw", counts, ignored_tokens=user_defined_symbols)
    logger.info("done in %.1f s: binarized data in %s", time.perf_counter() - start, prepared.bin_dir)


def configure_logging() -> None:
    logging.basicConfig(
        format="%(asctime)s | %(levelname)s | %(name)s | %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
        level=os.environ.get("LOGLEVEL", "INFO").upper(),
        stream=sys.stdout,
    )


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ami.data.download",
        description="Download the official files of a benchmark dataset and extract its archives.",
    )
    parser.add_argument("dataset", choices=sorted(DATASET_FILES), help="dataset to download")
    parser.add_argument("--out", required=True, metavar="DIR", help="download directory (pass it to the converter as --from)")
    parser.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS", help="network timeout per read (default: 60)")
    parser.add_argument("--list", action="store_true", help="print the URLs and known checksums, download nothing")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point of ``python -m ami.data.download``."""
    args = get_parser().parse_args(argv)
    configure_logging()
    if args.list:
        for remote in DATASET_FILES[args.dataset]:
            checksum = remote.sha256 or "no published SHA-256"
            print(f"{remote.filename}\t{remote.url}\t{checksum}")
        return
    try:
        directory = download_dataset(args.dataset, args.out, timeout=args.timeout)
    except (DownloadError, ValueError) as err:
        raise SystemExit(f"python -m ami.data.download: error: {err}") from err
    logger.info("downloaded %s into %s", args.dataset, directory)


if __name__ == "__main__":
    main()
