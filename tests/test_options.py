"""Every AMI option is a documented dataclass field, and no name clashes with fairseq's own."""

import dataclasses

import pytest
from fairseq.dataclass import FairseqDataclass
from fairseq.tasks.translation import TranslationConfig

import fairseq_plugins  # noqa: F401  (registers the plugins)
from fairseq_plugins.criterions.ami_criterion import AMICriterionConfig
from fairseq_plugins.models.config import NoiseNetworkConfig
from fairseq_plugins.optim.ami_adam import AMIAdamConfig
from fairseq_plugins.tasks.ami_task import AMIConfig

OWN_FIELDS = {
    "task": [f for f in dataclasses.fields(AMIConfig) if f.name not in {g.name for g in dataclasses.fields(TranslationConfig)}],
    "criterion": [f for f in dataclasses.fields(AMICriterionConfig) if f.name not in {g.name for g in dataclasses.fields(FairseqDataclass)}],
    "optimizer": [f for f in dataclasses.fields(AMIAdamConfig) if f.name not in {g.name for g in dataclasses.fields(FairseqDataclass)}],
    "model": [f for f in dataclasses.fields(NoiseNetworkConfig) if f.name not in {g.name for g in dataclasses.fields(FairseqDataclass)}],
}


@pytest.mark.parametrize("component", sorted(OWN_FIELDS))
def test_every_option_has_help(component):
    fields = OWN_FIELDS[component]
    assert fields, f"no options found for {component}"
    missing = [f.name for f in fields if not f.metadata.get("help")]
    assert missing == [], f"{component} options without help text: {missing}"


def test_registered_names_are_ami_prefixed():
    from fairseq.criterions import CRITERION_REGISTRY
    from fairseq.models import ARCH_MODEL_REGISTRY
    from fairseq.optim import OPTIMIZER_REGISTRY
    from fairseq.tasks import TASK_REGISTRY

    assert "ami" in TASK_REGISTRY
    assert "ami" in CRITERION_REGISTRY
    assert "ami_adam" in OPTIMIZER_REGISTRY
    ami_archs = sorted(name for name in ARCH_MODEL_REGISTRY if name.startswith("ami_"))
    assert ami_archs == [
        "ami_lstm", "ami_lstm_small", "ami_lstm_test", "ami_lstm_tiny",
        "ami_transformer", "ami_transformer_small", "ami_transformer_test", "ami_transformer_tiny",
    ]
