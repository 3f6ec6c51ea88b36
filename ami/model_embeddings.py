"""Embedding metrics with the word vectors of a trained AMI checkpoint.

The vectors are the rows of the forward network's encoder embedding table
(``encoder.embed_tokens``), one per sentencepiece piece of the checkpoint's
fairseq dictionary. Text is split into pieces with the sentencepiece model
that prepared the data, so embedding average, vector extrema and greedy
matching (``ami.metrics.embedding_sentence_scores``) run without any
external word vector file.

Library use::

    from ami import metrics
    from ami.model_embeddings import load_model_embeddings

    embeddings = load_model_embeddings("checkpoint_last.pt", "sentencepiece.model")
    metrics.embedding_scores(hyps, refs, embeddings.vectors, tokenize=embeddings.tokenize)

Importing this module registers the ``embedding_model`` metric with
``ami.evaluate``::

    ami-evaluate --hyp out.txt --ref test.tgt --metric-module ami.model_embeddings \\
        --metrics embedding_model --metric-option embedding_checkpoint=CKPT \\
        --metric-option embedding_spm_model=SPM
"""

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

from ami import evaluate
from ami import metrics as metrics_lib

logger = logging.getLogger(__name__)

# fairseq-preprocess pads the dictionary with these names (--padding-factor).
_PADDING_SYMBOL = re.compile(r"madeupword\d{4}")


@dataclass
class ModelEmbeddings:
    """Word vectors of a checkpoint and the tokenizer that splits text into their keys."""

    vectors: metrics_lib.WordVectors
    tokenize: metrics_lib.Tokenizer


def word_vectors_from_scorer(scorer, source: Optional[str] = None) -> metrics_lib.WordVectors:
    """Build {sentencepiece piece: vector} from the forward encoder embeddings of an ``AMIScorer``.

    fairseq's special symbols (``<s>``, ``<pad>``, ``</s>``, ``<unk>``) and
    the dictionary's padding symbols get no vector, so pieces outside the
    dictionary count as tokens without a vector instead of sharing the
    ``<unk>`` row. ``source`` names the table in reports.
    """
    dictionary = scorer.dictionary
    weight = scorer.model.encoder.embed_tokens.weight.detach().cpu().double().numpy()
    if weight.shape[0] != len(dictionary):
        raise ValueError(
            f"the forward encoder embedding table has {weight.shape[0]} rows but the dictionary has "
            f"{len(dictionary)} symbols; pass the binarized data directory the checkpoint was trained on"
        )
    table = {
        symbol: weight[index]
        for index, symbol in enumerate(dictionary.symbols)
        if index >= dictionary.nspecial and not _PADDING_SYMBOL.fullmatch(symbol)
    }
    return metrics_lib.WordVectors.from_mapping(table, source=source or "forward encoder embeddings, sentencepiece pieces")


def sentencepiece_tokenizer(spm, lowercase: bool = False) -> metrics_lib.Tokenizer:
    """Return a tokenizer that splits text into the pieces of the SentencePieceProcessor ``spm``.

    With ``lowercase`` the text is lowercased before it is split.
    """

    def tokenize(text: str):
        if lowercase:
            text = text.lower()
        return spm.encode(text, out_type=str)

    return tokenize


def load_model_embeddings(
    checkpoint: str, spm_model: str, data_dir: Optional[str] = None, lowercase: bool = False
) -> ModelEmbeddings:
    """Load the forward encoder embeddings of an AMI checkpoint and its sentencepiece tokenizer.

    ``spm_model`` is the sentencepiece model that prepared the checkpoint's
    data. ``data_dir`` is the binarized data directory, needed only when it
    moved since training (it contains the dictionary).
    """
    from ami.scoring import AMIScorer

    scorer = AMIScorer(checkpoint, spm_model, data_dir=data_dir)
    source = f"forward encoder embeddings of {checkpoint}, sentencepiece pieces"
    vectors = word_vectors_from_scorer(scorer, source=source)
    logger.info("read %d piece vectors of size %d from %s", len(vectors.table), vectors.dim, checkpoint)
    return ModelEmbeddings(vectors, sentencepiece_tokenizer(scorer.spm, lowercase=lowercase))


# One load per checkpoint when ami-evaluate scores several systems.
_cached_model_embeddings = lru_cache(maxsize=4)(load_model_embeddings)


def register_embedding_model_metric() -> None:
    """Register ``embedding_model`` with ``ami.evaluate``: embedding metrics on checkpoint vectors.

    Options (``EvaluationSettings.extra`` or ``--metric-option KEY=VALUE``):
    ``embedding_checkpoint`` (an AMI checkpoint), ``embedding_spm_model``
    (the sentencepiece model of its data) and optionally
    ``embedding_data_dir`` (the binarized data directory, when it moved
    since training). ``EvaluationSettings.embedding_lowercase`` lowercases
    the text before sentencepiece.
    """
    if "embedding_model" in evaluate.METRICS:
        return

    @evaluate.register_metric("embedding_model")
    def embedding_model_metric(hyps, refs, srcs, settings):
        options = settings.extra
        for key in ("embedding_checkpoint", "embedding_spm_model"):
            if not options.get(key):
                raise ValueError(f"metric embedding_model: missing option {key}; pass --metric-option {key}=PATH")
        embeddings = _cached_model_embeddings(
            str(options["embedding_checkpoint"]),
            str(options["embedding_spm_model"]),
            options.get("embedding_data_dir") or None,
            settings.embedding_lowercase,
        )
        per_segment, info = metrics_lib.embedding_sentence_scores(
            hyps, refs, embeddings.vectors, lowercase=False, tokenize=embeddings.tokenize
        )
        oov_rate = info["oov_tokens"] / info["tokens"] if info["tokens"] else 0.0
        if oov_rate > 0.2:
            logger.warning(
                "%.1f%% of sentencepiece pieces have no vector in %s; is %s the sentencepiece model of this checkpoint?",
                100.0 * oov_rate,
                info["source"],
                options["embedding_spm_model"],
            )
        # The tokenizer lowercases the text before sentencepiece, not the pieces at lookup.
        info["lowercase"] = settings.embedding_lowercase
        values = {f"embedding-model-{name}": array for name, array in per_segment.items()}
        return evaluate.MetricResult.from_segment_values(
            values,
            decimals=4,
            settings={
                "vectors": info["source"],
                "checkpoint": str(options["embedding_checkpoint"]),
                "spm_model": str(options["embedding_spm_model"]),
                "dim": info["dim"],
                "lowercase": settings.embedding_lowercase,
                "tokenization": "sentencepiece pieces",
                "definition": "Liu et al. (2016) average/extrema/greedy cosines; 0 when a side has no known piece",
            },
            details={**info, "oov_rate": oov_rate},
            note=(
                f"embedding-model: average/extrema/greedy cosine (Liu et al., 2016), vectors {info['source']}, "
                f"{100.0 * oov_rate:.1f}% of pieces without a vector"
            ),
        )


# Importing this module makes the metric available, so that
# ``ami-evaluate --metric-module ami.model_embeddings --metrics embedding_model ...`` finds it.
register_embedding_model_metric()
