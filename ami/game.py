"""The AMI min-max game: synthetic pairs, rewards and the loss of each update.

Two networks take part in a game: a *generator*, which draws synthetic
sequences from latent noise, and a *judge*, which scores how well it can
rebuild the real input from them. In the default ``forward`` game the forward
network p(T|S) generates targets and the backward network q(S|T) judges; in
the ``reverse`` game the backward network generates sources and the forward
network judges. ``both`` plays the two games at once.

- The generator is rewarded with the judge's length-normalised
  log-likelihood of the real input given its synthetic output,
  r = log q(S|T~) / |S|, through a REINFORCE term (no gradient reaches the
  judge).
- The judge raises its likelihood of real pairs (maximum likelihood) and
  lowers it on synthetic pairs, per example, weighted by
  w = 1 - cos(mean embedding of T, mean embedding of T~), until a synthetic
  pair's NLL exceeds the real pair's by a margin.
- The noise network belongs to the generator's side: it is rewarded like the
  generator, through the score function of its Gaussian, regularised by the
  KL divergence to its prior N(0, init_std^2).

Networks are reached through ``Seq2SeqAdapter``-like objects (see
``fairseq_plugins.models.ami_model.FairseqSeq2SeqAdapter``), so this module
does not depend on fairseq.
"""

from dataclasses import dataclass
from typing import Dict, Optional

import torch

from ami import objectives
from ami.batching import shift_right, source_batch, to_right_padding, truncate_at_eos
from ami.schedule import Phase

DECODING_CHOICES = ("teacher_forced", "greedy", "sample")
DIRECTION_CHOICES = ("forward", "reverse", "both")


@dataclass
class GameSettings:
    num_samples: int = 5
    decoding: str = "teacher_forced"
    max_len_a: float = 1.0
    max_len_b: int = 20
    noise_scale: float = 1.0
    reward_baseline: str = "sample_mean"
    adversarial_weight: float = 1.0
    judge_margin: float = 1.0
    noise_kl_weight: float = 0.1
    label_smoothing: float = 0.0

    def __post_init__(self):
        if self.num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {self.num_samples}")
        if self.decoding not in DECODING_CHOICES:
            raise ValueError(f"decoding must be one of {DECODING_CHOICES}, got {self.decoding!r}")
        if self.reward_baseline == "sample_mean" and self.num_samples < 2:
            raise ValueError(
                "reward_baseline 'sample_mean' needs num_samples >= 2; "
                "raise num_samples or use reward_baseline 'none'"
            )


@dataclass
class Synthetic:
    tokens: torch.Tensor  # [batch * K, len], right-padded, each row ends in EOS
    log_likelihood: Optional[torch.Tensor]  # [batch * K], length-normalised, generator grad
    noise_log_density: Optional[torch.Tensor]  # [batch * K], grad into the noise network
    noise_kl: Optional[torch.Tensor]  # scalar, mean KL to the prior over non-pad elements
    noise_rms: float


class LossLog:
    """Sums and counts of logged quantities, in the layout fairseq sums over batches."""

    def __init__(self):
        self.values: Dict[str, float] = {}

    def add(self, name: str, total, count):
        # Tensors stay tensors (detached): converting each to a Python number
        # here would synchronise a GPU once per logged value. The criterion's
        # reduce_metrics converts them.
        if torch.is_tensor(total):
            total = total.detach()
        self.values[name] = self.values.get(name, 0.0) + total
        self.values[name + "__n"] = self.values.get(name + "__n", 0.0) + float(count)


def repeat_rows(tensor: torch.Tensor, times: int) -> torch.Tensor:
    """Repeat each row ``times`` times, keeping copies of one row together."""
    return tensor.repeat_interleave(times, dim=0)


def maximum_likelihood(network, batch, label_smoothing: float):
    """Return (smoothed loss per token, nll sum in nats, ntokens) on a real batch."""
    net_input = batch["net_input"]
    encoder_out = network.encode(net_input["src_tokens"], net_input["src_lengths"])
    lprobs = network.decode(net_input["prev_output_tokens"], encoder_out)
    loss, nll = objectives.label_smoothed_nll(lprobs, batch["target"], network.pad, label_smoothing)
    ntokens = int(batch["target"].ne(network.pad).sum())
    return loss / max(ntokens, 1), nll, ntokens


def _free_run(network, encoder_out, batch_size: int, max_len: int, sample: bool) -> torch.Tensor:
    """Decode without teacher forcing; return right-padded tokens ending in EOS."""
    tokens = torch.full((batch_size, 1), network.eos, dtype=torch.long, device=network.device)
    finished = torch.zeros(batch_size, dtype=torch.bool, device=network.device)
    incremental_state: Dict[str, Dict[str, Optional[torch.Tensor]]] = {}
    for step in range(max_len):
        lprobs = network.decode(tokens, encoder_out, incremental_state=incremental_state)[:, -1]
        lprobs[:, network.pad] = float("-inf")
        if step == max_len - 1:
            next_tokens = torch.full_like(finished, network.eos, dtype=torch.long)
        elif sample:
            next_tokens = torch.multinomial(lprobs.float().exp(), 1).squeeze(1)
        else:
            next_tokens = lprobs.argmax(dim=-1)
        next_tokens = next_tokens.masked_fill(finished, network.pad)
        tokens = torch.cat([tokens, next_tokens.unsqueeze(1)], dim=1)
        finished |= next_tokens.eq(network.eos)
        if bool(finished.all()):
            break
    return tokens[:, 1:]


def draw_synthetic(
    network,
    noise_network,
    batch,
    settings: GameSettings,
    generator_grad: bool,
    noise_grad: bool,
) -> Synthetic:
    """Draw ``settings.num_samples`` synthetic outputs per example of ``batch``.

    The encoder runs once and its output is repeated K times. The K noise
    draws, the decoder pass and the scoring are each one batched call.
    Decoding modes:
      - ``teacher_forced`` (the official release): the argmax at each position
        of the decoder fed the gold prefix, over noisy encoder states;
      - ``greedy``: free-running argmax over noisy encoder states;
      - ``sample``: free-running ancestral token sampling with clean encoder
        states (token-level randomness instead of latent noise, for ablation).
    """
    k = settings.num_samples
    net_input = batch["net_input"]
    pad, eos = network.pad, network.eos
    grad_context = torch.enable_grad() if generator_grad else torch.no_grad()

    with grad_context:
        encoder_out = network.encode(net_input["src_tokens"], net_input["src_lengths"])
        expanded = network.repeat(encoder_out, k)

    noise_log_density = None
    noise_kl = None
    noise_rms = 0.0
    if settings.decoding != "sample":
        states, padding_mask = network.states(expanded)
        with torch.enable_grad() if noise_grad else torch.no_grad():
            noise, log_density, kl = noise_network(states.detach(), padding_mask)
            keep = (~padding_mask).to(log_density.dtype)
            # log_density, kl and padding_mask are [time, batch]: average over time.
            noise_log_density = (log_density * keep).sum(dim=0) / keep.sum(dim=0).clamp(min=1.0)
            noise_kl = kl.sum() / keep.sum().clamp(min=1.0)
            noise_rms = float(noise.detach().pow(2).sum().div(keep.sum().clamp(min=1.0) * noise.size(-1)).sqrt())
        with grad_context:
            expanded = network.replace_states(expanded, states + settings.noise_scale * noise)

    target = batch["target"]
    if settings.decoding == "teacher_forced":
        prev = repeat_rows(net_input["prev_output_tokens"], k)
        target_k = repeat_rows(target, k)
        with grad_context:
            lprobs = network.decode(prev, expanded)
        raw = lprobs.detach().argmax(dim=-1).masked_fill(target_k.eq(pad), pad)
        # Score each argmax token up to and including the first EOS.
        eos_seen_before = raw.eq(eos).int().cumsum(dim=1) - raw.eq(eos).int()
        scored = raw.ne(pad) & eos_seen_before.eq(0)
        tokens = truncate_at_eos(raw, pad, eos)
        log_likelihood = None
        if generator_grad:
            picked = lprobs.gather(-1, raw.unsqueeze(-1)).squeeze(-1) * scored.to(lprobs.dtype)
            log_likelihood = picked.sum(dim=1) / scored.sum(dim=1).clamp(min=1).to(lprobs.dtype)
    else:
        src_len = int(net_input["src_lengths"].max())
        max_len = max(2, int(settings.max_len_a * src_len + settings.max_len_b))
        with torch.no_grad():
            tokens = _free_run(network, expanded, target.size(0) * k, max_len,
                               sample=settings.decoding == "sample")
            tokens = truncate_at_eos(tokens, pad, eos)
        log_likelihood = None
        if generator_grad:
            with grad_context:
                lprobs = network.decode(shift_right(tokens, pad, eos), expanded)
            log_likelihood = objectives.sequence_log_likelihood(lprobs, tokens, pad, True)

    return Synthetic(tokens, log_likelihood, noise_log_density, noise_kl, noise_rms)


def judge_log_likelihood(judge, synthetic_tokens: torch.Tensor, real_inputs: torch.Tensor):
    """Return the judge's length-normalised log-likelihood of ``real_inputs``
    given ``synthetic_tokens`` as its input, [rows]. Both are right-padded."""
    src_tokens, src_lengths = source_batch(synthetic_tokens, judge.pad, judge.left_pad_source)
    encoder_out = judge.encode(src_tokens, src_lengths)
    lprobs = judge.decode(shift_right(real_inputs, judge.pad, judge.eos), encoder_out)
    return objectives.sequence_log_likelihood(lprobs, real_inputs, judge.pad, True)


def generator_loss(
    generator, judge, noise_network, batch, settings: GameSettings, log: LossLog, prefix: str,
    train_generator: bool, train_noise: bool,
):
    """Return the generator-side adversarial loss (policy gradient and noise terms)."""
    k = settings.num_samples
    synthetic = draw_synthetic(
        generator, noise_network, batch, settings, generator_grad=train_generator, noise_grad=train_noise
    )
    real_inputs = repeat_rows(to_right_padding(batch["net_input"]["src_tokens"], generator.pad), k)
    with torch.no_grad():
        rewards = judge_log_likelihood(judge, synthetic.tokens, real_inputs)
    baseline = objectives.reward_baseline(rewards, k, settings.reward_baseline)
    rows = rewards.numel()
    log.add(prefix + "reward", rewards.sum(), rows)
    log.add(prefix + "reward_baseline", baseline.sum(), rows)
    # With the sample_mean baseline the mean baseline equals the mean reward by
    # construction; the mean absolute advantage shows how much the samples differ.
    log.add(prefix + "reward_advantage", (rewards - baseline).abs().sum(), rows)
    log.add(prefix + "synthetic_len", synthetic.tokens.ne(generator.pad).sum(), rows)
    distinct = torch.unique(synthetic.tokens, dim=0).size(0)
    log.add(prefix + "synthetic_unique", distinct, rows)

    loss = rewards.new_zeros(())
    if train_generator:
        pg = objectives.policy_gradient_loss(synthetic.log_likelihood, rewards, baseline).mean()
        log.add(prefix + "generator_pg_loss", pg * rows, rows)
        loss = loss + pg
    if train_noise and synthetic.noise_log_density is not None:
        noise_pg = objectives.policy_gradient_loss(synthetic.noise_log_density, rewards, baseline).mean()
        noise_loss = noise_pg + settings.noise_kl_weight * synthetic.noise_kl
        log.add(prefix + "noise_loss", noise_loss * rows, rows)
        log.add(prefix + "noise_kl", synthetic.noise_kl * rows, rows)
        loss = loss + noise_loss
    if synthetic.noise_kl is not None:
        log.add(prefix + "noise_rms", synthetic.noise_rms * rows, rows)
    return loss


def judge_loss(generator, judge, noise_network, batch, settings: GameSettings, log: LossLog, prefix: str):
    """Return the judge's loss on synthetic pairs drawn from the frozen generator."""
    k = settings.num_samples
    with torch.no_grad():
        synthetic = draw_synthetic(generator, noise_network, batch, settings, generator_grad=False, noise_grad=False)
    real_inputs = repeat_rows(to_right_padding(batch["net_input"]["src_tokens"], generator.pad), k)
    log_likelihood = judge_log_likelihood(judge, synthetic.tokens, real_inputs)
    with torch.no_grad():
        real_target = to_right_padding(batch["target"], generator.pad)
        real_log_likelihood = repeat_rows(judge_log_likelihood(judge, real_target, real_inputs[::k]), k)
    weight = objectives.synthetic_weight(
        repeat_rows(batch["target"], k), synthetic.tokens, generator.embedding_weight, generator.pad
    )
    per_example = objectives.judge_synthetic_loss(
        log_likelihood, weight, nll_cap=settings.judge_margin - real_log_likelihood
    )
    rows = per_example.numel()
    log.add(prefix + "judge_synthetic_nll", -log_likelihood.detach().sum(), rows)
    log.add(prefix + "judge_real_nll", -real_log_likelihood.sum(), rows)
    log.add(prefix + "synthetic_weight", weight.sum(), rows)
    log.add(prefix + "judge_synthetic_loss", per_example.detach().sum(), rows)
    return per_example.mean()


def phase_loss(networks, sample, phase: Phase, direction: str, settings: GameSettings):
    """Return (loss, LossLog) for one update of ``phase``.

    ``networks`` has attributes ``forward``, ``backward`` (adapters) and
    ``forward_noise``, ``backward_noise`` (noise networks). ``sample`` is a
    fairseq language-pair batch with the reversed batch under ``"backward"``.
    The loss is a mean (per token for likelihood terms, per synthetic sample
    for adversarial terms), so callers report a sample size of 1.
    """
    if direction not in DIRECTION_CHOICES:
        raise ValueError(f"direction must be one of {DIRECTION_CHOICES}, got {direction!r}")
    forward_game = direction in ("forward", "both")
    reverse_game = direction in ("reverse", "both")
    forward_batch, backward_batch = sample, sample["backward"]
    log = LossLog()
    weight = settings.adversarial_weight
    loss = torch.zeros((), device=networks.forward.device)

    def add_mle(network, batch, name):
        per_token, nll, ntokens = maximum_likelihood(network, batch, settings.label_smoothing)
        log.add(name + "_nll", nll, ntokens)
        return per_token

    if phase is Phase.MLE:
        loss = add_mle(networks.forward, forward_batch, "forward") + add_mle(
            networks.backward, backward_batch, "backward"
        )
    elif phase is Phase.NOISE:
        if forward_game:
            loss = loss + generator_loss(networks.forward, networks.backward, networks.forward_noise,
                                         forward_batch, settings, log, "", train_generator=False, train_noise=True)
        if reverse_game:
            loss = loss + generator_loss(networks.backward, networks.forward, networks.backward_noise,
                                         backward_batch, settings, log, "reverse_", train_generator=False, train_noise=True)
    elif phase is Phase.FORWARD:
        loss = add_mle(networks.forward, forward_batch, "forward")
        if forward_game:
            loss = loss + weight * generator_loss(
                networks.forward, networks.backward, networks.forward_noise,
                forward_batch, settings, log, "", train_generator=True, train_noise=True)
        if reverse_game:
            loss = loss + weight * judge_loss(
                networks.backward, networks.forward, networks.backward_noise,
                backward_batch, settings, log, "reverse_")
    elif phase is Phase.BACKWARD:
        loss = add_mle(networks.backward, backward_batch, "backward")
        if forward_game:
            loss = loss + weight * judge_loss(
                networks.forward, networks.backward, networks.forward_noise,
                forward_batch, settings, log, "")
        if reverse_game:
            loss = loss + weight * generator_loss(
                networks.backward, networks.forward, networks.backward_noise,
                backward_batch, settings, log, "reverse_", train_generator=True, train_noise=True)
    else:
        raise ValueError(f"unknown phase {phase!r}")
    log.add("loss", loss.detach(), 1)
    return loss, log


def active_groups(phase: Phase, direction: str):
    """Return the optimizer parameter groups that an update of ``phase`` steps."""
    forward_game = direction in ("forward", "both")
    reverse_game = direction in ("reverse", "both")
    if phase is Phase.MLE:
        return {"forward", "backward"}
    if phase is Phase.NOISE:
        groups = set()
        if forward_game:
            groups.add("forward_noise")
        if reverse_game:
            groups.add("backward_noise")
        return groups
    if phase is Phase.FORWARD:
        return {"forward", "forward_noise"} if forward_game else {"forward"}
    if phase is Phase.BACKWARD:
        return {"backward", "backward_noise"} if reverse_game else {"backward"}
    raise ValueError(f"unknown phase {phase!r}")
