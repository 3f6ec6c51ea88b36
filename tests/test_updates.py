"""Each phase's update changes exactly the networks it trains (in-process fairseq Trainer)."""

import pytest
import torch
from fairseq import options, tasks
from fairseq.dataclass.utils import convert_namespace_to_omegaconf
from fairseq.trainer import Trainer

from tests.conftest import TINY_TRAIN_ARGS


def build_trainer(data_dir, save_dir, *extra):
    parser = options.get_training_parser()
    args = options.parse_args_and_arch(
        parser, [str(data_dir), "--save-dir", str(save_dir), *TINY_TRAIN_ARGS, *map(str, extra)]
    )
    cfg = convert_namespace_to_omegaconf(args)
    task = tasks.setup_task(cfg.task)
    task.load_dataset("train")
    model = task.build_model(cfg.model)
    criterion = task.build_criterion(cfg.criterion)
    trainer = Trainer(cfg, task, model, criterion)
    iterator = task.get_batch_iterator(task.dataset("train"), max_tokens=600, seed=1)
    sample = next(iter(iterator.next_epoch_itr(shuffle=False)))
    return trainer, model, sample


def snapshot(model):
    groups = {"forward": {}, "backward": {}, "forward_noise": {}, "backward_noise": {}}
    for name, parameter in model.named_parameters():
        groups[parameter.param_group][name] = parameter.detach().clone()
    return groups


def changed_groups(before, model):
    after = snapshot(model)
    return {
        group for group in before
        if any(not torch.equal(before[group][name], after[group][name]) for name in before[group])
    }


@pytest.fixture(scope="module")
def trainer_parts(tiny_corpus, tmp_path_factory):
    return build_trainer(
        tiny_corpus / "bin", tmp_path_factory.mktemp("ckpt"),
        "--pretrain-updates", 1, "--noise-pretrain-updates", 1,
        # A constant rate, so that no update of the test falls on a zero warmup rate.
        "--lr-schedule", "fixed", "--forward-warmup-updates", 0, "--backward-warmup-updates", 0,
    )


@pytest.mark.parametrize(
    "update_num, expected",
    [
        (0, {"forward", "backward"}),  # pretraining: maximum likelihood of both networks
        (1, {"forward_noise"}),  # noise pretraining
        (2, {"forward", "forward_noise"}),  # adversarial: forward-network update
        (3, {"backward"}),  # adversarial: backward-network update
    ],
)
def test_update_changes_only_its_networks(trainer_parts, update_num, expected):
    trainer, model, sample = trainer_parts
    trainer.set_num_updates(update_num)
    before = snapshot(model)
    trainer.train_step([sample])
    assert changed_groups(before, model) == expected


def test_noise_network_learns_in_adversarial_updates(trainer_parts):
    trainer, model, sample = trainer_parts
    before = {n: p.detach().clone() for n, p in model.forward_noise.named_parameters()}
    for update_num in (4, 6, 8):
        trainer.set_num_updates(update_num)
        trainer.train_step([sample])
    moved = [n for n, p in model.forward_noise.named_parameters() if not torch.equal(before[n], p)]
    assert set(moved) == set(before), f"noise parameters that did not change: {set(before) - set(moved)}"
