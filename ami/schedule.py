"""Training schedule: which stage and which phase an update belongs to.

One fairseq-train run goes through three stages, chosen by ``update_num`` (the
number of updates completed before the current one, as fairseq counts them):

1. ``pretrain``: maximum-likelihood training of the forward network p(T|S) and
   the backward network q(S|T) on real pairs; both are updated every step.
2. ``noise_pretrain``: only the noise networks are updated, with the adversarial
   reward of the frozen forward and backward networks.
3. ``adversarial``: the min-max game. Updates cycle through
   ``forward_updates_per_cycle`` forward-network updates followed by
   ``backward_updates_per_cycle`` backward-network updates.

Because the stage is a pure function of ``update_num``, resuming from
``checkpoint_last.pt`` continues the same stage at the same place in the cycle.
"""

import enum
from dataclasses import dataclass


class Stage(str, enum.Enum):
    PRETRAIN = "pretrain"
    NOISE_PRETRAIN = "noise_pretrain"
    ADVERSARIAL = "adversarial"


class Phase(str, enum.Enum):
    """Kind of update: the networks it trains and so the optimizer groups it steps."""

    MLE = "mle"  # forward and backward networks, maximum likelihood only
    NOISE = "noise"  # noise networks only
    FORWARD = "forward"  # forward network (and the forward noise network)
    BACKWARD = "backward"  # backward network (and the backward noise network)


@dataclass(frozen=True)
class Schedule:
    pretrain_updates: int
    noise_pretrain_updates: int
    forward_updates_per_cycle: int = 1
    backward_updates_per_cycle: int = 1

    def __post_init__(self):
        for name in ("pretrain_updates", "noise_pretrain_updates"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("forward_updates_per_cycle", "backward_updates_per_cycle"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.forward_updates_per_cycle + self.backward_updates_per_cycle == 0:
            raise ValueError(
                "forward_updates_per_cycle and backward_updates_per_cycle are both 0, "
                "so the adversarial stage would update nothing; set at least one to 1 or more"
            )

    @property
    def adversarial_start(self) -> int:
        return self.pretrain_updates + self.noise_pretrain_updates

    def stage(self, update_num: int) -> Stage:
        if update_num < 0:
            raise ValueError(f"update_num must be >= 0, got {update_num}")
        if update_num < self.pretrain_updates:
            return Stage.PRETRAIN
        if update_num < self.adversarial_start:
            return Stage.NOISE_PRETRAIN
        return Stage.ADVERSARIAL

    def phase(self, update_num: int) -> Phase:
        stage = self.stage(update_num)
        if stage is Stage.PRETRAIN:
            return Phase.MLE
        if stage is Stage.NOISE_PRETRAIN:
            return Phase.NOISE
        cycle = self.forward_updates_per_cycle + self.backward_updates_per_cycle
        position = (update_num - self.adversarial_start) % cycle
        if position < self.forward_updates_per_cycle:
            return Phase.FORWARD
        return Phase.BACKWARD
