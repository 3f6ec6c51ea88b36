"""Latent noise sampling: the noise network that perturbs encoder states.

AMI draws synthetic samples by adding learned Gaussian noise to the encoder's
hidden states (the memory the decoder attends to), not to output tokens. For a
hidden state h the noise network predicts a mean and a standard deviation,

    mu = W_mu2 relu(W_mu1 h),    sigma = softplus(W_sigma h + b_sigma),

and a draw is z = mu + sigma * eps with eps ~ N(0, I). The perturbed state is
h + noise_scale * z.

Two deliberate differences from the official release: sigma has its own head
(the release sets sigma = softplus(mu), tying the scale to the mean), and the
heads are initialised so that mu = 0 and sigma = ``init_std`` at the start
(the release keeps PyTorch's default init, which gives sigma of about 0.69).
The prior N(0, init_std^2) is also the reference of ``kl_to_prior``, the
regulariser of the noise network's objective.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def inverse_softplus(value: float) -> float:
    if value <= 0:
        raise ValueError(f"softplus is positive, so its inverse needs a value > 0, got {value}")
    return value + math.log(-math.expm1(-value))


class NoiseNetwork(nn.Module):
    """Position-wise Gaussian noise over encoder states of width ``embed_dim``."""

    def __init__(self, embed_dim: int, hidden_dim: int, init_std: float = 0.5):
        super().__init__()
        self.prior_std = init_std
        self.mean_hidden = nn.Linear(embed_dim, hidden_dim)
        self.mean_out = nn.Linear(hidden_dim, embed_dim)
        self.log_scale = nn.Linear(embed_dim, embed_dim)
        nn.init.zeros_(self.mean_out.weight)
        nn.init.zeros_(self.mean_out.bias)
        nn.init.normal_(self.log_scale.weight, std=0.01)
        nn.init.constant_(self.log_scale.bias, inverse_softplus(init_std))

    def distribution(self, states: torch.Tensor):
        """Return (mean, std), each shaped like ``states``."""
        mean = self.mean_out(F.relu(self.mean_hidden(states)))
        std = F.softplus(self.log_scale(states)) + 1e-5
        return mean, std

    def forward(self, states: torch.Tensor, padding_mask: torch.Tensor = None):
        """Draw one noise sample for ``states``.

        Args:
            states: encoder states, any shape ending in ``embed_dim``. The
                caller decides whether gradients reach the encoder.
            padding_mask: bool tensor of ``states.shape[:-1]``, True at padding;
                noise there is set to zero.

        Returns:
            ``(noise, log_density, kl)``. ``noise`` is detached from the noise
            network's parameters, because the score-function estimator does not
            differentiate through the draw. ``log_density`` is the per-position
            mean of log N(noise; mean, std) over the feature dimension, and
            ``kl`` the per-position mean of KL(N(mean, std) || N(0, prior_std)),
            both with gradients into the noise network and zero at padding.
        """
        mean, std = self.distribution(states)
        with torch.no_grad():
            noise = mean + std * torch.randn_like(std)
        log_density = (
            -torch.log(std) - 0.5 * ((noise - mean) / std) ** 2 - 0.5 * math.log(2 * math.pi)
        ).mean(dim=-1)
        kl = self.kl_to_prior(mean, std).mean(dim=-1)
        if padding_mask is not None:
            keep = (~padding_mask).unsqueeze(-1).to(noise.dtype)
            noise = noise * keep
            log_density = log_density.masked_fill(padding_mask, 0.0)
            kl = kl.masked_fill(padding_mask, 0.0)
        return noise, log_density, kl

    def kl_to_prior(self, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
        """Return KL(N(mean, std^2) || N(0, prior_std^2)) per element."""
        prior_var = self.prior_std ** 2
        return torch.log(self.prior_std / std) + (std ** 2 + mean ** 2) / (2 * prior_var) - 0.5
