"""The terms of the AMI saddle-point objective, as functions of tensors.

Notation: S is the source, T the target, p the forward network p(T|S), q the
backward network q(S|T). In the default ("forward") direction the forward
network is the *generator*: it draws synthetic targets T~ from noisy encoder
states, and the backward network is the *judge*. AMI plays

    min_p max_q  E_real[log q(S|T)] - E_{T~ ~ p}[w(T, T~) log q(S|T~)]

next to maximum likelihood on real pairs for both networks. With the
direction reversed the roles swap (q generates S~, p judges). Every function
here is written for a generator/judge pair and does not care which is which.

All log-likelihoods are in nats. Functions take log-probabilities shaped
[batch, length, vocab] and targets shaped [batch, length] with ``pad``
marking padding.
"""

import torch
import torch.nn.functional as F


def token_log_likelihood(lprobs: torch.Tensor, target: torch.Tensor, pad: int) -> torch.Tensor:
    """Return log p(target_t | ...) per token, zero at padding, shaped like ``target``."""
    picked = lprobs.gather(dim=-1, index=target.unsqueeze(-1)).squeeze(-1)
    return picked.masked_fill(target.eq(pad), 0.0)


def sequence_log_likelihood(
    lprobs: torch.Tensor, target: torch.Tensor, pad: int, length_normalized: bool
) -> torch.Tensor:
    """Return the log-likelihood of each sequence, shape [batch].

    With ``length_normalized`` the sum is divided by the number of non-pad
    tokens, which is how AMI scales rewards and per-example adversarial losses.
    """
    total = token_log_likelihood(lprobs, target, pad).sum(dim=-1)
    if not length_normalized:
        return total
    lengths = target.ne(pad).sum(dim=-1).clamp(min=1)
    return total / lengths.to(total.dtype)


def label_smoothed_nll(
    lprobs: torch.Tensor, target: torch.Tensor, pad: int, epsilon: float
):
    """Return (smoothed loss sum, nll sum) over all non-pad tokens.

    Uses the common definition (uniform mass epsilon spread over the whole
    vocabulary): loss = (1 - eps) * nll + eps * mean_v(-log p_v).
    """
    nll = -token_log_likelihood(lprobs, target, pad)
    nll_sum = nll.sum()
    if epsilon == 0.0:
        return nll_sum, nll_sum
    smooth = -lprobs.mean(dim=-1).masked_fill(target.eq(pad), 0.0)
    loss = (1.0 - epsilon) * nll_sum + epsilon * smooth.sum()
    return loss, nll_sum


def mean_embedding(tokens: torch.Tensor, embedding: torch.Tensor, pad: int) -> torch.Tensor:
    """Return the mean of the word embeddings of each row's non-pad tokens, [batch, dim]."""
    mask = tokens.ne(pad).unsqueeze(-1).to(embedding.dtype)
    summed = (F.embedding(tokens, embedding) * mask).sum(dim=1)
    return summed / mask.sum(dim=1).clamp(min=1.0)


def synthetic_weight(
    real_tokens: torch.Tensor,
    synthetic_tokens: torch.Tensor,
    embedding: torch.Tensor,
    pad: int,
) -> torch.Tensor:
    """Return w = 1 - cos(mean embedding of real, mean embedding of synthetic), [batch].

    A synthetic sequence close to the real one in embedding space gets a weight
    near 0, so the judge is not asked to reject what is nearly the real data.
    Rows of ``real_tokens`` and ``synthetic_tokens`` correspond one to one.
    The weight carries no gradient.
    """
    with torch.no_grad():
        real = mean_embedding(real_tokens, embedding, pad)
        synthetic = mean_embedding(synthetic_tokens, embedding, pad)
        return 1.0 - F.cosine_similarity(real, synthetic, dim=-1, eps=1e-8)


def judge_synthetic_loss(synthetic_log_likelihood: torch.Tensor, weight: torch.Tensor, nll_cap) -> torch.Tensor:
    """Return the judge's loss on synthetic pairs, per example, [N].

    The judge lowers its length-normalised log-likelihood of the real input
    given a synthetic pair, weighted per example: loss_i = -w_i * min(nll_i, cap_i).
    Without the cap the term is unbounded below, because the judge could push a
    likelihood towards zero forever. With it, a synthetic pair whose NLL
    already exceeds the cap adds no gradient. ``nll_cap`` is a number or an [N]
    tensor (the game passes the real pair's NLL plus a margin).
    """
    nll = -synthetic_log_likelihood
    if not torch.is_tensor(nll_cap):
        nll_cap = torch.full_like(nll, float(nll_cap))
    return -weight.detach() * torch.minimum(nll, nll_cap.detach())


def reward_baseline(rewards: torch.Tensor, num_samples: int, kind: str) -> torch.Tensor:
    """Return the baseline subtracted from each reward, shaped like ``rewards``.

    ``rewards`` is [batch * num_samples] with the samples of one example next
    to each other (example-major). ``kind`` is:
      - ``none``: zero, the official release's choice;
      - ``sample_mean``: for each sample, the mean reward of the *other*
        samples of the same example (leave-one-out, so the baseline does not
        depend on the sample it is subtracted from). Needs num_samples >= 2.
    """
    if kind == "none":
        return torch.zeros_like(rewards)
    if kind == "sample_mean":
        if num_samples < 2:
            raise ValueError("the sample_mean reward baseline needs at least 2 samples per example")
        grouped = rewards.view(-1, num_samples)
        others = (grouped.sum(dim=1, keepdim=True) - grouped) / (num_samples - 1)
        return others.reshape(-1)
    raise ValueError(f"unknown reward baseline {kind!r}; expected 'none' or 'sample_mean'")


def policy_gradient_loss(
    sample_log_likelihood: torch.Tensor, rewards: torch.Tensor, baseline: torch.Tensor
) -> torch.Tensor:
    """Return the REINFORCE surrogate loss per sample, [N].

    loss = -(r - b) * log p(sample). Its gradient is the score-function
    estimate of -grad E[r]. Rewards and baseline are detached here, so no
    gradient reaches the judge that computed them.
    """
    advantage = (rewards - baseline).detach()
    return -advantage * sample_log_likelihood
