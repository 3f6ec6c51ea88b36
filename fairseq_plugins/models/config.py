"""Options of the AMI model that are not options of the wrapped fairseq network."""

from dataclasses import dataclass, field
from typing import Optional

from fairseq.dataclass import FairseqDataclass


@dataclass
class NoiseNetworkConfig(FairseqDataclass):
    noise_hidden_dim: Optional[int] = field(
        default=None,
        metadata={"help": "hidden width of the noise network's mean MLP; default: the encoder output width"},
    )
    noise_init_std: float = field(
        default=0.5,
        metadata={"help": "standard deviation of the latent noise at initialisation (the mean starts at 0)"},
    )
