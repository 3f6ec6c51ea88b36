"""The AMI model: forward network, backward network and noise networks in one.

``AMIModel`` is a fairseq encoder-decoder model whose own ``encoder`` and
``decoder`` are the forward network p(T|S). That is what ``fairseq-generate``
and ``fairseq-interactive`` decode with, so generation costs no more than
with a plain model. The backward network q(S|T) (``backward_network``) has
the same architecture over the same (joined) dictionary, and two small noise
networks perturb the encoder states of the forward network
(``forward_noise``) and of the backward network (``backward_noise``, used
only by the reverse game).

Every parameter is tagged with ``param_group`` = forward, backward,
forward_noise or backward_noise, so that fairseq's composite optimizer (and
the ``ami_adam`` optimizer built on it) keeps a learning rate and schedule
per network and steps only the networks an update trains.
"""

import logging
from typing import Dict, Optional

import torch
from fairseq.dataclass.utils import gen_parser_from_dataclass
from fairseq.models import FairseqEncoderDecoderModel

from ami.noise import NoiseNetwork
from fairseq_plugins.models.config import NoiseNetworkConfig

logger = logging.getLogger(__name__)

PARAM_GROUPS = ("forward", "backward", "forward_noise", "backward_noise")


class FairseqSeq2SeqAdapter:
    """Gives ``ami.game`` a uniform view of a fairseq encoder-decoder.

    Encoder states are returned as [time, batch, channels] with a [time,
    batch] padding mask, whichever layout the encoder family uses.
    """

    def __init__(self, encoder, decoder, family: str, pad: int, eos: int, left_pad_source: bool):
        self.encoder = encoder
        self.decoder = decoder
        self.family = family
        self.pad = pad
        self.eos = eos
        self.left_pad_source = left_pad_source

    @property
    def device(self):
        return self.encoder.embed_tokens.weight.device

    @property
    def embedding_weight(self) -> torch.Tensor:
        return self.encoder.embed_tokens.weight

    def encode(self, src_tokens, src_lengths):
        if self.family != "lstm":
            return self.encoder(src_tokens, src_lengths=src_lengths)
        # fairseq's LSTM encoder packs sequences and needs lengths in decreasing
        # order. Reversed and synthetic batches are not sorted, so sort them here
        # and put the encoder output back in the caller's order.
        order = torch.argsort(src_lengths, descending=True, stable=True)
        if torch.equal(order, torch.arange(order.numel(), device=order.device)):
            return self.encoder(src_tokens, src_lengths=src_lengths)
        encoder_out = self.encoder(src_tokens[order], src_lengths=src_lengths[order])
        return self.encoder.reorder_encoder_out(encoder_out, torch.argsort(order))

    def repeat(self, encoder_out, times: int):
        batch = self.states(encoder_out)[0].size(1)
        order = torch.arange(batch, device=self.device).repeat_interleave(times)
        return self.encoder.reorder_encoder_out(encoder_out, order)

    def states(self, encoder_out):
        if self.family == "transformer":
            states = encoder_out["encoder_out"][0]
            masks = encoder_out["encoder_padding_mask"]
            if len(masks) == 0 or masks[0] is None:
                mask = torch.zeros(states.shape[:2], dtype=torch.bool, device=states.device)
            else:
                mask = masks[0].t()
            return states, mask
        states, _, _, mask = encoder_out
        return states, mask

    def replace_states(self, encoder_out, states):
        if self.family == "transformer":
            replaced = dict(encoder_out)
            replaced["encoder_out"] = [states]
            return replaced
        _, hiddens, cells, mask = encoder_out
        return (states, hiddens, cells, mask)

    def decode(self, prev_output_tokens, encoder_out, incremental_state=None):
        """Return log-probabilities [batch, time, vocab] in float32."""
        decoder_out = self.decoder(
            prev_output_tokens, encoder_out=encoder_out, incremental_state=incremental_state
        )
        return self.decoder.get_normalized_probs(decoder_out, log_probs=True).float()


class AMINetworks:
    """The four parts of an AMI model as ``ami.game.phase_loss`` expects them."""

    def __init__(self, forward, backward, forward_noise, backward_noise):
        self.forward = forward
        self.backward = backward
        self.forward_noise = forward_noise
        self.backward_noise = backward_noise


class AMIModel(FairseqEncoderDecoderModel):
    """Adversarial Mutual Information (Pan et al., ICML 2020) model.

    Subclasses set ``network_class`` (the fairseq model class of both
    networks) and ``family`` (``transformer`` or ``lstm``).
    """

    network_class = None
    family = None

    def __init__(self, args, forward_network, backward_network, forward_noise, backward_noise):
        super().__init__(forward_network.encoder, forward_network.decoder)
        self.args = args
        self.backward_network = backward_network
        self.forward_noise = forward_noise
        self.backward_noise = backward_noise
        self._tag_param_groups()

    def _tag_param_groups(self):
        for name, parameter in self.named_parameters():
            if name.startswith(("encoder.", "decoder.")):
                parameter.param_group = "forward"
            elif name.startswith("backward_network."):
                parameter.param_group = "backward"
            elif name.startswith("forward_noise."):
                parameter.param_group = "forward_noise"
            elif name.startswith("backward_noise."):
                parameter.param_group = "backward_noise"
            else:
                raise RuntimeError(f"parameter {name} belongs to no AMI parameter group")

    @classmethod
    def add_args(cls, parser):
        cls.network_class.add_args(parser)
        gen_parser_from_dataclass(parser, NoiseNetworkConfig())

    @classmethod
    def build_model(cls, args, task):
        from fairseq_plugins.tasks.ami_task import AMITask

        if not isinstance(task, AMITask):
            raise ValueError(
                f"--arch {args.arch} builds an AMI model, which needs --task ami "
                f"(got --task {getattr(args, '_name', None) or type(task).__name__}); "
                "add --task ami and --user-dir fairseq_plugins"
            )
        forward_network = cls.network_class.build_model(args, task)
        backward_network = cls.network_class.build_model(args, task)
        width = cls.encoder_output_dim(args, forward_network.encoder)
        hidden = args.noise_hidden_dim or width
        forward_noise = NoiseNetwork(width, hidden, init_std=args.noise_init_std)
        backward_noise = NoiseNetwork(width, hidden, init_std=args.noise_init_std)
        return cls(args, forward_network, backward_network, forward_noise, backward_noise)

    @staticmethod
    def encoder_output_dim(args, encoder) -> int:
        return getattr(encoder, "output_units", None) or args.encoder_embed_dim

    def networks(self, pad: int, eos: int, left_pad_source: bool) -> AMINetworks:
        forward = FairseqSeq2SeqAdapter(self.encoder, self.decoder, self.family, pad, eos, left_pad_source)
        backward = FairseqSeq2SeqAdapter(
            self.backward_network.encoder, self.backward_network.decoder, self.family,
            pad, eos, left_pad_source,
        )
        return AMINetworks(forward, backward, self.forward_noise, self.backward_noise)

    def load_state_dict(self, state_dict, strict=True, model_cfg=None, args=None):
        if strict:
            for prefix, part in (
                ("backward_network.", "backward network"),
                ("forward_noise.", "forward noise network"),
                ("encoder.", "forward network"),
            ):
                if not any(key.startswith(prefix) for key in state_dict):
                    raise RuntimeError(
                        f"the checkpoint has no {part} parameters (no '{prefix}*' keys), so it "
                        "is not a complete AMI checkpoint. Train with --task ami --arch ami_* "
                        "or start from a checkpoint written by such a run."
                    )
        return super().load_state_dict(state_dict, strict=strict, model_cfg=model_cfg, args=args)
