"""Objective terms checked against values computed by hand on tiny tensors."""

import math

import pytest
import torch

from ami import objectives

PAD = 1


def lprobs_from_probs(rows):
    return torch.tensor(rows, dtype=torch.float64).log()


def test_sequence_log_likelihood_sums_and_normalizes():
    # One sequence of 2 tokens + 1 pad over a vocabulary of 3 (index 1 is pad).
    lprobs = lprobs_from_probs([[[0.5, 0.25, 0.25], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]]])
    target = torch.tensor([[0, 2, PAD]])
    total = objectives.sequence_log_likelihood(lprobs, target, PAD, length_normalized=False)
    mean = objectives.sequence_log_likelihood(lprobs, target, PAD, length_normalized=True)
    assert total.item() == pytest.approx(math.log(0.5) + math.log(0.8))
    assert mean.item() == pytest.approx((math.log(0.5) + math.log(0.8)) / 2)


def test_label_smoothed_nll_by_hand():
    lprobs = lprobs_from_probs([[[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]])
    target = torch.tensor([[0, 2]])
    loss, nll = objectives.label_smoothed_nll(lprobs, target, PAD, epsilon=0.1)
    nll_by_hand = -(math.log(0.5) + math.log(0.8))
    smooth_by_hand = -(
        (math.log(0.5) + 2 * math.log(0.25)) / 3 + (2 * math.log(0.1) + math.log(0.8)) / 3
    )
    assert nll.item() == pytest.approx(nll_by_hand)
    assert loss.item() == pytest.approx(0.9 * nll_by_hand + 0.1 * smooth_by_hand)


def test_label_smoothing_zero_equals_nll():
    lprobs = lprobs_from_probs([[[0.5, 0.25, 0.25]]])
    loss, nll = objectives.label_smoothed_nll(lprobs, torch.tensor([[2]]), PAD, 0.0)
    assert loss.item() == pytest.approx(-math.log(0.25))
    assert nll.item() == pytest.approx(-math.log(0.25))


def test_synthetic_weight_is_one_minus_cosine():
    embedding = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    real = torch.tensor([[0, 0, PAD], [0, 2, PAD]])
    synthetic = torch.tensor([[0, PAD, PAD], [2, PAD, PAD]])
    weight = objectives.synthetic_weight(real, synthetic, embedding, PAD)
    # Row 0: both means are (1, 0), cos = 1, w = 0.
    # Row 1: real mean (0.5, 0.5), synthetic mean (0, 1): cos = 0.5 / (sqrt(0.5) * 1).
    assert weight[0].item() == pytest.approx(0.0, abs=1e-6)
    assert weight[1].item() == pytest.approx(1 - 0.5 / math.sqrt(0.5))
    assert not weight.requires_grad


def test_judge_synthetic_loss_per_example_and_capped():
    log_likelihood = torch.tensor([-2.0, -12.0, -3.0], requires_grad=True)
    weight = torch.tensor([0.5, 1.0, 0.0])
    loss = objectives.judge_synthetic_loss(log_likelihood, weight, nll_cap=10.0)
    # -w * min(nll, cap): -0.5 * 2, -1.0 * 10 (capped), -0 * 3.
    assert loss.tolist() == pytest.approx([-1.0, -10.0, 0.0])
    loss.sum().backward()
    # d/d(ll) of -w * (-ll) = w where not capped; the capped example has no gradient.
    assert log_likelihood.grad.tolist() == pytest.approx([0.5, 0.0, 0.0])


def test_judge_synthetic_loss_per_example_cap():
    log_likelihood = torch.tensor([-2.0, -5.0])
    weight = torch.tensor([1.0, 1.0])
    # Caps of 3 and 4 nats: the second example is capped.
    loss = objectives.judge_synthetic_loss(log_likelihood, weight, nll_cap=torch.tensor([3.0, 4.0]))
    assert loss.tolist() == pytest.approx([-2.0, -4.0])


def test_reward_baseline_leave_one_out():
    rewards = torch.tensor([-1.0, -2.0, -3.0, -4.0, -4.0, -4.0])
    baseline = objectives.reward_baseline(rewards, num_samples=3, kind="sample_mean")
    # Example 0: others of -1 are (-2, -3) -> -2.5; of -2: -2; of -3: -1.5.
    assert baseline.tolist() == pytest.approx([-2.5, -2.0, -1.5, -4.0, -4.0, -4.0])
    assert objectives.reward_baseline(rewards, 3, "none").tolist() == [0.0] * 6


def test_reward_baseline_rejects_bad_input():
    with pytest.raises(ValueError, match="at least 2 samples"):
        objectives.reward_baseline(torch.zeros(3), 1, "sample_mean")
    with pytest.raises(ValueError, match="unknown reward baseline"):
        objectives.reward_baseline(torch.zeros(3), 3, "average")


def test_policy_gradient_loss_value_and_gradient():
    log_likelihood = torch.tensor([-1.0, -2.0], requires_grad=True)
    rewards = torch.tensor([-0.5, -1.5], requires_grad=True)
    baseline = torch.tensor([-1.0, -1.0])
    loss = objectives.policy_gradient_loss(log_likelihood, rewards, baseline)
    # -(r - b) * log p: -(0.5)(-1) = 0.5 and -(-0.5)(-2) = -1.0.
    assert loss.tolist() == pytest.approx([0.5, -1.0])
    loss.sum().backward()
    # Gradient descent raises log p of the sample with positive advantage.
    assert log_likelihood.grad.tolist() == pytest.approx([-0.5, 0.5])
    assert rewards.grad is None
