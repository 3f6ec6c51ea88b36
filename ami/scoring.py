"""Score text pairs with the networks of a trained AMI checkpoint.

``AMIScorer`` loads a checkpoint written by ``fairseq-train --task ami`` and
returns, per pair, the log-likelihood of the source under the backward
network, log q(S|T), or of the target under the forward network, log p(T|S).
The evaluation's mutual-information lower bound (mean log q(S|T_hyp)) and
backward-network reranking are built on it. Text is encoded with the
sentencepiece model used to prepare the data, so callers pass plain text.
"""

import logging
import os
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import torch

from ami import objectives
from ami.batching import shift_right

logger = logging.getLogger(__name__)


class AMIScorer:
    def __init__(self, checkpoint, spm_model, data_dir: Optional[str] = None, cpu: bool = True):
        import fairseq_plugins  # noqa: F401  (registers the AMI task and models)
        import sentencepiece
        from fairseq import checkpoint_utils

        checkpoint = Path(checkpoint)
        if not checkpoint.is_file():
            raise FileNotFoundError(f"checkpoint {str(checkpoint)!r} not found")
        if not Path(spm_model).is_file():
            raise FileNotFoundError(f"sentencepiece model {str(spm_model)!r} not found")
        overrides = {"data": str(data_dir)} if data_dir else None
        models, _, task = checkpoint_utils.load_model_ensemble_and_task([str(checkpoint)], arg_overrides=overrides)
        self.model = models[0].eval()
        if not cpu and torch.cuda.is_available():
            self.model = self.model.cuda()
        self.task = task
        self.dictionary = task.source_dictionary
        self.networks = self.model.networks(
            self.dictionary.pad(), self.dictionary.eos(), task.cfg.left_pad_source
        )
        self.spm = sentencepiece.SentencePieceProcessor(model_file=str(spm_model))
        self.device = next(self.model.parameters()).device

    def encode(self, text: str) -> torch.Tensor:
        pieces = " ".join(self.spm.encode(text, out_type=str))
        return self.dictionary.encode_line(pieces, add_if_not_exist=False, append_eos=True).long()

    def _score(self, network, inputs: Sequence[str], outputs: Sequence[str], batch_size: int):
        from fairseq.data.data_utils import collate_tokens

        if len(inputs) != len(outputs):
            raise ValueError(f"got {len(inputs)} inputs but {len(outputs)} outputs; they must pair up")
        pad, eos = self.dictionary.pad(), self.dictionary.eos()
        encoded_in = [self.encode(text) for text in inputs]
        encoded_out = [self.encode(text) for text in outputs]
        order = sorted(range(len(inputs)), key=lambda i: (len(encoded_in[i]), len(encoded_out[i])))
        totals = np.zeros(len(inputs))
        lengths = np.zeros(len(inputs), dtype=np.int64)
        with torch.no_grad():
            for start in range(0, len(order), batch_size):
                rows = order[start:start + batch_size]
                src = collate_tokens([encoded_in[i] for i in rows], pad, eos,
                                     left_pad=self.task.cfg.left_pad_source).to(self.device)
                src_lengths = torch.tensor([len(encoded_in[i]) for i in rows], device=self.device)
                target = collate_tokens([encoded_out[i] for i in rows], pad, eos, left_pad=False).to(self.device)
                lprobs = network.decode(shift_right(target, pad, eos), network.encode(src, src_lengths))
                scores = objectives.sequence_log_likelihood(lprobs, target, pad, length_normalized=False)
                totals[rows] = scores.cpu().numpy()
                lengths[rows] = target.ne(pad).sum(dim=1).cpu().numpy()
        return totals, lengths

    def backward_log_likelihood(self, sources: Sequence[str], targets: Sequence[str], batch_size: int = 64):
        """Return (log q(S|T) per pair in nats, source lengths in tokens incl. EOS)."""
        return self._score(self.networks.backward, targets, sources, batch_size)

    def forward_log_likelihood(self, sources: Sequence[str], targets: Sequence[str], batch_size: int = 64):
        """Return (log p(T|S) per pair in nats, target lengths in tokens incl. EOS)."""
        return self._score(self.networks.forward, sources, targets, batch_size)


def mi_lower_bound(scorer: AMIScorer, sources: Sequence[str], hypotheses: Sequence[str]) -> dict:
    """Return the mean of log q(S|T_hyp) over pairs, in nats per sentence and per token.

    Up to the constant H(S), this is the variational (Barber-Agakov) lower
    bound on the mutual information between sources and generated outputs.
    """
    totals, lengths = scorer.backward_log_likelihood(sources, hypotheses)
    return {
        "mi_lower_bound": float(totals.mean()),
        "mi_lower_bound_per_token": float(totals.sum() / max(lengths.sum(), 1)),
        "per_sentence": totals.tolist(),
    }


def register_mi_bound_metric():
    """Register ``mi_bound`` with ``ami.evaluate``: mean log q(S|T_hyp) under a checkpoint.

    Options (``EvaluationSettings.extra`` or ``--metric-option KEY=VALUE``):
    ``mi_checkpoint`` (an AMI checkpoint), ``mi_spm_model`` (the
    sentencepiece model of its data) and optionally ``mi_data_dir`` (the
    binarized data directory, when it moved since training).
    """
    from ami import evaluate

    if "mi_bound" in evaluate.METRICS:
        return

    @evaluate.register_metric("mi_bound", needs_references=False, needs_sources=True)
    def mi_bound_metric(hyps, refs, srcs, settings):
        extra = settings.extra
        for key in ("mi_checkpoint", "mi_spm_model"):
            if not extra.get(key):
                raise ValueError(f"the mi_bound metric needs the option {key} (--metric-option {key}=PATH)")
        scorer = _cached_scorer(extra["mi_checkpoint"], extra["mi_spm_model"], extra.get("mi_data_dir"))
        totals, lengths = scorer.backward_log_likelihood(srcs, hyps)
        return evaluate.MetricResult.from_segment_values(
            {"mi-bound": totals},
            decimals=2,
            settings={"checkpoint": str(extra["mi_checkpoint"]), "unit": "nats per source sentence"},
            details={"per_token": float(totals.sum() / max(lengths.sum(), 1))},
            note=(
                "mi-bound: mean log q(S|T_hyp) in nats per source, under the backward network of "
                f"{extra['mi_checkpoint']} (the variational lower bound on I(S;T) minus H(S))"
            ),
        )


_SCORERS = {}


def _cached_scorer(checkpoint, spm_model, data_dir):
    key = (str(checkpoint), str(spm_model), str(data_dir))
    if key not in _SCORERS:
        _SCORERS[key] = AMIScorer(checkpoint, spm_model, data_dir=data_dir)
    return _SCORERS[key]


# Importing this module makes the metric available, so that
# ``ami-evaluate --metric-module ami.scoring --metrics mi_bound ...`` finds it.
register_mi_bound_metric()
