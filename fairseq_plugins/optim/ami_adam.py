"""``ami_adam``: Adam with a learning rate and schedule per AMI network.

AMI trains the forward network, the backward network and the noise networks
at different speeds (two time-scale updates), and an update of one network
must leave the others untouched. This optimizer is fairseq's composite
optimizer with one Adam instance and one learning-rate scheduler per
parameter group (``forward``, ``backward``, and ``forward_noise`` and
``backward_noise``, which share the noise options), set from flat
command-line options so no YAML is needed. The task steps only the groups
that the current update trains.

It needs ``--lr-scheduler pass_through``: each group schedules its own rate.
"""

from dataclasses import dataclass, field

from fairseq.dataclass import ChoiceEnum, FairseqDataclass
from fairseq.optim import register_optimizer
from fairseq.optim.composite import FairseqCompositeOptimizer
from omegaconf import OmegaConf

from fairseq_plugins.models.ami_model import PARAM_GROUPS

SCHEDULES = ChoiceEnum(["inverse_sqrt", "fixed"])


@dataclass
class AMIAdamConfig(FairseqDataclass):
    forward_lr: float = field(default=5e-4, metadata={"help": "peak learning rate of the forward network"})
    backward_lr: float = field(default=5e-4, metadata={"help": "peak learning rate of the backward network"})
    noise_lr: float = field(default=1e-4, metadata={"help": "peak learning rate of the noise networks"})
    adam_betas: str = field(default="(0.9, 0.98)", metadata={"help": "Adam betas, for every group"})
    adam_eps: float = field(default=1e-8, metadata={"help": "Adam epsilon, for every group"})
    weight_decay: float = field(default=0.0, metadata={"help": "weight decay, for every group"})
    lr_schedule: SCHEDULES = field(
        default="inverse_sqrt",
        metadata={
            "help": "schedule of every group: inverse_sqrt (linear warmup, then decay with "
            "1/sqrt(update)) or fixed (linear warmup, then constant)"
        },
    )
    forward_warmup_updates: int = field(default=4000, metadata={"help": "warmup updates of the forward network's rate"})
    backward_warmup_updates: int = field(default=4000, metadata={"help": "warmup updates of the backward network's rate"})
    noise_warmup_updates: int = field(default=0, metadata={"help": "warmup updates of the noise networks' rate"})


def group_config(cfg: AMIAdamConfig, lr: float, warmup_updates: int):
    optimizer = {
        "_name": "adam",
        "lr": [lr],
        "adam_betas": cfg.adam_betas,
        "adam_eps": cfg.adam_eps,
        "weight_decay": cfg.weight_decay,
        "tpu": False,
    }
    if cfg.lr_schedule == "inverse_sqrt":
        # The schedule needs at least one warmup update to define its decay.
        scheduler = {"_name": "inverse_sqrt", "warmup_updates": max(1, warmup_updates),
                     "warmup_init_lr": 0.0 if warmup_updates > 0 else lr, "lr": [lr]}
    else:
        scheduler = {"_name": "fixed", "warmup_updates": warmup_updates, "lr": [lr],
                     "force_anneal": None, "lr_shrink": 0.1}
    return {"optimizer": optimizer, "lr_scheduler": scheduler}


@register_optimizer("ami_adam", dataclass=AMIAdamConfig)
class AMIAdam(FairseqCompositeOptimizer):
    def __init__(self, cfg: AMIAdamConfig, params):
        untagged = [p for p in params if getattr(p, "param_group", None) not in PARAM_GROUPS]
        if untagged:
            raise ValueError(
                f"--optimizer ami_adam needs an AMI model (--arch ami_*): {len(untagged)} "
                "parameters have no AMI parameter group"
            )
        # The parent class keeps these as class attributes; give each instance its own.
        self.optimizers = {}
        self.lr_schedulers = {}
        composite = OmegaConf.create({
            "_name": "composite",
            "dynamic_groups": False,
            "groups": {
                "forward": group_config(cfg, cfg.forward_lr, cfg.forward_warmup_updates),
                "backward": group_config(cfg, cfg.backward_lr, cfg.backward_warmup_updates),
                "forward_noise": group_config(cfg, cfg.noise_lr, cfg.noise_warmup_updates),
                "backward_noise": group_config(cfg, cfg.noise_lr, cfg.noise_warmup_updates),
            },
        })
        super().__init__(composite, params)
        self.ami_cfg = cfg

    def set_lr(self, lr):
        raise RuntimeError(
            "--optimizer ami_adam schedules each network's learning rate itself; "
            "use --lr-scheduler pass_through"
        )
