"""The noise network's distribution, masking and gradient path."""

import math

import pytest
import torch

from ami.noise import NoiseNetwork, inverse_softplus


def test_initial_distribution():
    torch.manual_seed(0)
    network = NoiseNetwork(8, 16, init_std=0.3)
    mean, std = network.distribution(torch.randn(5, 2, 8))
    assert torch.allclose(mean, torch.zeros_like(mean))
    assert std.mean().item() == pytest.approx(0.3, rel=0.05)


def test_padding_gets_no_noise():
    network = NoiseNetwork(4, 4)
    mask = torch.tensor([[False, True], [False, False]])
    noise, log_density, _ = network(torch.randn(2, 2, 4), mask)
    assert torch.all(noise[0, 1] == 0)
    assert log_density[0, 1].item() == 0.0


def test_log_density_matches_normal_and_has_gradient():
    torch.manual_seed(0)
    network = NoiseNetwork(3, 3, init_std=0.5)
    states = torch.randn(1, 1, 3)
    noise, log_density, kl = network(states)
    mean, std = network.distribution(states)
    expected = torch.distributions.Normal(mean, std).log_prob(noise).mean(dim=-1)
    assert log_density.item() == pytest.approx(expected.item(), rel=1e-5)
    log_density.sum().backward()
    assert network.log_scale.bias.grad.abs().sum() > 0
    assert not noise.requires_grad


def test_inverse_softplus():
    assert math.log1p(math.exp(inverse_softplus(0.7))) == pytest.approx(0.7)
    with pytest.raises(ValueError):
        inverse_softplus(0.0)


def test_kl_to_prior_by_hand():
    network = NoiseNetwork(1, 1, init_std=0.5)
    mean = torch.tensor([0.3])
    std = torch.tensor([0.2])
    # KL(N(m, s^2) || N(0, p^2)) = log(p / s) + (s^2 + m^2) / (2 p^2) - 1/2.
    expected = math.log(0.5 / 0.2) + (0.04 + 0.09) / (2 * 0.25) - 0.5
    assert network.kl_to_prior(mean, std).item() == pytest.approx(expected)
    assert network.kl_to_prior(torch.zeros(1), torch.tensor([0.5])).item() == pytest.approx(0.0)
