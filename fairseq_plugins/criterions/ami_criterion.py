"""The ``ami`` criterion: every loss term of Adversarial Mutual Information
training (Pan et al., "Adversarial Mutual Information for Text Generation",
ICML 2020), computed by ``ami.game`` and logged by name.

Training losses depend on the phase the ``ami`` task chose for the update;
validation (``forward``) computes maximum likelihood in both directions and
the mutual-information lower bound estimate E[log q(S|T)].

Logged values are listed below. Likelihoods of real pairs are in bits per
token, as fairseq logs ``nll_loss``. Rewards and adversarial terms are in nats
per token, averaged over synthetic samples.
  forward_nll, backward_nll (and _ppl)  maximum likelihood on real pairs
  reward, reward_baseline                the generator's reward and its baseline
  reward_advantage                       mean |reward - baseline|
  generator_pg_loss                      the generator's policy-gradient term
  judge_synthetic_loss, judge_synthetic_nll, judge_real_nll, synthetic_weight
                                         the judge's term on synthetic pairs and
                                         its NLL of the same examples' real pairs
  noise_loss, noise_kl, noise_rms        the noise network's loss, its KL to the
                                         prior and the root mean square noise
  synthetic_unique, synthetic_len        share of distinct samples, mean length
  mi_lower_bound                         validation: mean log q(S|T) in nats per
                                         source sentence (the bound minus H(S))
Terms of the reverse game carry a ``reverse_`` prefix.
"""

import math
from dataclasses import dataclass, field

import torch
from fairseq import metrics, utils
from fairseq.criterions import FairseqCriterion, register_criterion
from fairseq.dataclass import ChoiceEnum, FairseqDataclass

from ami import game
from ami.game import DECODING_CHOICES, GameSettings, LossLog


@dataclass
class AMICriterionConfig(FairseqDataclass):
    num_samples: int = field(
        default=5, metadata={"help": "synthetic samples (latent noise draws) per example in adversarial updates"}
    )
    synthetic_decoding: ChoiceEnum(DECODING_CHOICES) = field(
        default="teacher_forced",
        metadata={
            "help": "how synthetic sequences are decoded: teacher_forced (argmax under the gold "
            "prefix over noisy encoder states, as the official release), greedy (free-running "
            "argmax over noisy states) or sample (free-running token sampling, no latent noise)"
        },
    )
    synthetic_max_len_a: float = field(
        default=1.0, metadata={"help": "free-running decoding stops after a*source_length+b tokens: a"}
    )
    synthetic_max_len_b: int = field(
        default=20, metadata={"help": "free-running decoding stops after a*source_length+b tokens: b"}
    )
    noise_scale: float = field(
        default=1.0, metadata={"help": "multiplier of the latent noise added to encoder states (lambda)"}
    )
    reward_baseline: ChoiceEnum(["none", "sample_mean"]) = field(
        default="sample_mean",
        metadata={
            "help": "baseline subtracted from the reward: none (the official release) or "
            "sample_mean (mean reward of the other samples of the same example)"
        },
    )
    adversarial_weight: float = field(
        default=1.0, metadata={"help": "weight of the adversarial terms next to maximum likelihood"}
    )
    judge_margin: float = field(
        default=1.0,
        metadata={
            "help": "the judge stops lowering a synthetic pair's likelihood once its NLL exceeds the "
            "real pair's NLL by this many nats per token"
        },
    )
    noise_kl_weight: float = field(
        default=0.1,
        metadata={"help": "weight of the KL divergence between the noise distribution and its prior N(0, noise_init_std^2)"},
    )
    label_smoothing: float = field(
        default=0.0, metadata={"help": "label smoothing of the maximum-likelihood terms (0 disables)"}
    )


@register_criterion("ami", dataclass=AMICriterionConfig)
class AMICriterion(FairseqCriterion):
    def __init__(self, task, num_samples, synthetic_decoding, synthetic_max_len_a, synthetic_max_len_b,
                 noise_scale, reward_baseline, adversarial_weight, judge_margin,
                 noise_kl_weight, label_smoothing):
        from fairseq_plugins.tasks.ami_task import AMITask

        if not isinstance(task, AMITask):
            raise ValueError(
                f"--criterion ami needs --task ami, got {type(task).__name__}; "
                "add --task ami (and --user-dir fairseq_plugins)"
            )
        super().__init__(task)
        self.settings = GameSettings(
            num_samples=num_samples,
            decoding=str(synthetic_decoding),
            max_len_a=synthetic_max_len_a,
            max_len_b=synthetic_max_len_b,
            noise_scale=noise_scale,
            reward_baseline=str(reward_baseline),
            adversarial_weight=adversarial_weight,
            judge_margin=judge_margin,
            noise_kl_weight=noise_kl_weight,
            label_smoothing=label_smoothing,
        )

    def _networks(self, model):
        return model.networks(self.padding_idx, self.task.target_dictionary.eos(), self.task.cfg.left_pad_source)

    def _logging_output(self, sample, log: LossLog):
        output = dict(log.values)
        output["ntokens"] = sample["ntokens"]
        output["nsentences"] = sample["target"].size(0)
        output["sample_size"] = 1
        return output

    def phase_loss(self, model, sample, phase, direction):
        """Return (loss, sample_size, logging_output) of one training update."""
        loss, log = game.phase_loss(self._networks(model), sample, phase, str(direction), self.settings)
        return loss, 1, self._logging_output(sample, log)

    def forward(self, model, sample, reduce=True):
        """Evaluate on real pairs: the loss is the forward network's NLL (bits per token)."""
        networks = self._networks(model)
        log = LossLog()
        _, forward_nll, forward_tokens = game.maximum_likelihood(networks.forward, sample, 0.0)
        _, backward_nll, backward_tokens = game.maximum_likelihood(networks.backward, sample["backward"], 0.0)
        log.add("forward_nll", forward_nll, forward_tokens)
        log.add("backward_nll", backward_nll, backward_tokens)
        log.add("mi_lower_bound", -backward_nll, sample["target"].size(0))
        loss = forward_nll / max(forward_tokens, 1) / math.log(2)
        log.add("loss", loss.detach(), 1)
        return loss, 1, self._logging_output(sample, log)

    @classmethod
    def reduce_metrics(cls, logging_outputs) -> None:
        totals = {}
        for output in logging_outputs:
            for key, value in output.items():
                totals[key] = totals.get(key, 0.0) + utils.item(value)
        for key in sorted(totals):
            if key.endswith("__n") or key + "__n" not in totals:
                continue
            count = totals[key + "__n"]
            if count <= 0:
                continue
            value = totals[key] / count
            if key.endswith("_nll") and not key.startswith(("judge", "reverse_judge")):
                value = value / math.log(2)
                metrics.log_scalar(key, value, count, round=3)
                metrics.log_derived(
                    key[: -len("_nll")] + "_ppl",
                    lambda meters, name=key: utils.get_perplexity(meters[name].avg),
                )
            else:
                metrics.log_scalar(key, value, count, round=4)

    @staticmethod
    def logging_outputs_can_be_summed() -> bool:
        return True
