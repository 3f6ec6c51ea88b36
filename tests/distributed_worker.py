"""One rank of the 2-process CPU training test (run by tests/test_distributed.py).

It parses fairseq-train's command line and joins the process group with
fairseq's own distributed set-up (gloo on loopback). It then runs the given
number of updates with fairseq's Trainer on this rank's shard of the data and
saves this rank's parameters to ``<save-dir>/rank<R>.pt``, so the test can
compare the ranks. fairseq-train itself saves checkpoints from rank 0 only.
"""

import sys

import numpy as np
import torch
from fairseq import options, tasks, utils
from fairseq.dataclass.utils import convert_namespace_to_omegaconf
from fairseq.distributed import utils as distributed_utils
from fairseq.trainer import Trainer


def main(cfg):
    # As fairseq-train does: the same seed on every rank gives the same initial model.
    np.random.seed(cfg.common.seed)
    utils.set_torch_seed(cfg.common.seed)
    task = tasks.setup_task(cfg.task)
    task.load_dataset("train")
    model = task.build_model(cfg.model)
    criterion = task.build_criterion(cfg.criterion)
    trainer = Trainer(cfg, task, model, criterion)
    iterator = task.get_batch_iterator(
        task.dataset("train"), max_tokens=cfg.dataset.max_tokens, seed=cfg.common.seed,
        num_shards=trainer.data_parallel_world_size, shard_id=trainer.data_parallel_rank,
    ).next_epoch_itr(shuffle=True)
    for _, sample in zip(range(cfg.optimization.max_update), iterator):
        trainer.train_step([sample])
    state = {name: tensor.detach().cpu() for name, tensor in trainer.model.state_dict().items()}
    torch.save(state, f"{cfg.checkpoint.save_dir}/rank{trainer.data_parallel_rank}.pt")


if __name__ == "__main__":
    torch.set_num_threads(1)
    parser = options.get_training_parser()
    args = options.parse_args_and_arch(parser, sys.argv[1:])
    distributed_utils.call_main(convert_namespace_to_omegaconf(args), main)
