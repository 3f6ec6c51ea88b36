"""Data preparation: generic parallel corpora and the bundled Chit-Chat dialogue demo."""

from ami.data.parallel import (
    PreparedCorpus,
    binarize,
    check_parallel_files,
    encode_file,
    prepare_parallel_corpus,
    train_sentencepiece,
)

__all__ = [
    "PreparedCorpus",
    "binarize",
    "check_parallel_files",
    "encode_file",
    "prepare_parallel_corpus",
    "train_sentencepiece",
]
