"""The ``ami`` task: language-pair data served in both directions, and the
update logic of Adversarial Mutual Information training (Pan et al., "Adversarial
Mutual Information for Text Generation", ICML 2020).

The data is read as by fairseq's ``translation`` task (binarized with
``fairseq-preprocess --joined-dictionary``). Every batch also carries the
reversed pair (target -> source) under ``sample["backward"]`` for the
backward network.

``train_step`` picks the phase of each update from ``update_num`` (see
``ami.schedule``), lets the criterion compute that phase's loss, and
``optimizer_step`` steps only the optimizer groups of the networks the phase
trains, so the other networks stay untouched.
"""

import logging
import os
from dataclasses import dataclass, field

import torch
from fairseq import utils
from fairseq.data import BaseWrapperDataset, data_utils, indexed_dataset
from fairseq.dataclass import ChoiceEnum
from fairseq.tasks import register_task
from fairseq.tasks.translation import TranslationConfig, TranslationTask

from ami.batching import reverse_pair_batch
from ami.game import DIRECTION_CHOICES, active_groups
from ami.schedule import Phase, Schedule

logger = logging.getLogger(__name__)


@dataclass
class AMIConfig(TranslationConfig):
    pretrain_updates: int = field(
        default=0,
        metadata={
            "help": "number of updates, from update 0, of maximum-likelihood pretraining "
            "of both networks. Set it to --max-update for a maximum-likelihood baseline"
        },
    )
    noise_pretrain_updates: int = field(
        default=0,
        metadata={"help": "number of noise-network-only updates after pretraining, before the adversarial stage"},
    )
    forward_updates_per_cycle: int = field(
        default=1, metadata={"help": "forward-network updates in each adversarial cycle"}
    )
    backward_updates_per_cycle: int = field(
        default=1, metadata={"help": "backward-network updates in each adversarial cycle (they follow the forward updates)"}
    )
    adversarial_direction: ChoiceEnum(DIRECTION_CHOICES) = field(
        default="forward",
        metadata={
            "help": "which game to play: forward (the forward network generates synthetic targets, "
            "the backward network judges), reverse (the backward network generates synthetic "
            "sources, the forward network judges) or both"
        },
    )


class BidirectionalPairDataset(BaseWrapperDataset):
    """A language-pair dataset whose batches also hold the reversed pair."""

    def __init__(self, dataset, pad: int, eos: int, left_pad_source: bool):
        super().__init__(dataset)
        self.pad = pad
        self.eos = eos
        self.left_pad_source = left_pad_source

    def collater(self, samples):
        batch = self.dataset.collater(samples)
        if batch and "target" in batch and batch["target"] is not None:
            batch["backward"] = reverse_pair_batch(batch, self.pad, self.eos, self.left_pad_source)
        return batch


@register_task("ami", dataclass=AMIConfig)
class AMITask(TranslationTask):
    """Trains a forward network p(T|S) and a backward network q(S|T) in AMI's min-max game."""

    cfg: AMIConfig

    def __init__(self, cfg: AMIConfig, src_dict, tgt_dict):
        super().__init__(cfg, src_dict, tgt_dict)
        self.schedule = Schedule(
            pretrain_updates=cfg.pretrain_updates,
            noise_pretrain_updates=cfg.noise_pretrain_updates,
            forward_updates_per_cycle=cfg.forward_updates_per_cycle,
            backward_updates_per_cycle=cfg.backward_updates_per_cycle,
        )
        self._last_stage = None
        self._warned_batch_multiple = False

    @classmethod
    def setup_task(cls, cfg: AMIConfig, **kwargs):
        paths = utils.split_paths(cfg.data) if cfg.data else []
        if not paths:
            raise ValueError("no data directory given; pass the fairseq-preprocess output directory as the first argument")
        for path in paths:
            if not os.path.isdir(path):
                raise FileNotFoundError(
                    f"data directory {path!r} does not exist; binarize your data with "
                    "fairseq-preprocess --joined-dictionary (or ami-prepare-chitchat) first"
                )

        if cfg.source_lang is None or cfg.target_lang is None:
            cfg.source_lang, cfg.target_lang = data_utils.infer_language_pair(paths[0])
        if cfg.source_lang is None or cfg.target_lang is None:
            raise ValueError(
                f"could not infer the language pair from the files in {paths[0]!r}; "
                "pass --source-lang and --target-lang"
            )

        dicts = {}
        for lang in (cfg.source_lang, cfg.target_lang):
            dict_path = os.path.join(paths[0], f"dict.{lang}.txt")
            if not os.path.isfile(dict_path):
                raise FileNotFoundError(f"dictionary {dict_path!r} not found; rerun fairseq-preprocess")
            dicts[lang] = cls.load_dictionary(dict_path)

        src_dict, tgt_dict = dicts[cfg.source_lang], dicts[cfg.target_lang]
        if src_dict.symbols != tgt_dict.symbols:
            raise ValueError(
                f"dict.{cfg.source_lang}.txt and dict.{cfg.target_lang}.txt in {paths[0]!r} differ, "
                "but the forward and backward networks share one vocabulary; binarize with "
                "fairseq-preprocess --joined-dictionary"
            )
        logger.info("[%s] <-> [%s]: joined dictionary of %d types", cfg.source_lang, cfg.target_lang, len(src_dict))
        # One object for both sides, so that --share-all-embeddings finds equal dictionaries.
        return cls(cfg, src_dict, src_dict)

    def load_dataset(self, split, epoch=1, combine=False, **kwargs):
        self._check_line_counts(split, epoch)
        super().load_dataset(split, epoch=epoch, combine=combine, **kwargs)
        self.datasets[split] = BidirectionalPairDataset(
            self.datasets[split], self.src_dict.pad(), self.src_dict.eos(), self.cfg.left_pad_source
        )

    def _check_line_counts(self, split, epoch):
        paths = utils.split_paths(self.cfg.data)
        data_path = paths[(epoch - 1) % len(paths)]
        src, tgt = self.cfg.source_lang, self.cfg.target_lang
        for first, second in ((src, tgt), (tgt, src)):
            prefix = os.path.join(data_path, f"{split}.{first}-{second}.")
            if indexed_dataset.dataset_exists(prefix + src, impl=self.cfg.dataset_impl):
                break
        else:
            raise FileNotFoundError(
                f"no binarized {split!r} split for {src}-{tgt} in {data_path!r} "
                f"(looked for {split}.{src}-{tgt}.{src}.idx); check the data directory and --{split}-subset"
            )
        sizes = {}
        for lang in (src, tgt):
            dataset = data_utils.load_indexed_dataset(prefix + lang, self.src_dict, self.cfg.dataset_impl)
            if dataset is None:
                raise FileNotFoundError(f"{prefix + lang}.idx/.bin not found in {data_path!r}")
            sizes[lang] = len(dataset)
        if sizes[src] != sizes[tgt]:
            raise ValueError(
                f"{prefix + src} has {sizes[src]} examples but {prefix + tgt} has {sizes[tgt]}; "
                "the source and target files of a split must have the same number of lines. "
                "Fix the raw text and binarize again"
            )

    def build_model(self, cfg, from_checkpoint=False):
        from fairseq_plugins.models.ami_model import AMIModel

        model = super().build_model(cfg, from_checkpoint)
        if not isinstance(model, AMIModel):
            raise ValueError(
                f"--task ami needs an AMI model, got {type(model).__name__}; "
                "use --arch ami_transformer, ami_lstm or one of their variants"
            )
        if model.family == "lstm" and not self.cfg.left_pad_source:
            raise ValueError("fairseq's LSTM encoder expects left-padded sources; drop --left-pad-source False")
        return model

    def get_batch_iterator(self, dataset, *args, required_batch_size_multiple=1, **kwargs):
        # fairseq's batch_by_size drops the last batch when its size is not a
        # multiple of this value, which silently skips up to multiple-1 pairs in
        # validation and in fairseq-generate. Batch sizes of any multiple are used.
        if required_batch_size_multiple != 1 and not self._warned_batch_multiple:
            self._warned_batch_multiple = True
            logger.info(
                "using --required-batch-size-multiple 1 instead of %d, so that no pair is dropped",
                required_batch_size_multiple,
            )
        return super().get_batch_iterator(dataset, *args, required_batch_size_multiple=1, **kwargs)

    def phase(self, update_num: int) -> Phase:
        return self.schedule.phase(update_num)

    def train_step(self, sample, model, criterion, optimizer, update_num, ignore_grad=False):
        model.train()
        model.set_num_updates(update_num)
        stage = self.schedule.stage(update_num)
        if stage != self._last_stage:
            logger.info("update %d: stage %s begins", update_num, stage.value)
            self._last_stage = stage
        phase = self.schedule.phase(update_num)
        with torch.autograd.profiler.record_function("forward"):
            loss, sample_size, logging_output = criterion.phase_loss(
                model, sample, phase, self.cfg.adversarial_direction
            )
        if ignore_grad:
            loss *= 0
        with torch.autograd.profiler.record_function("backward"):
            optimizer.backward(loss)
        return loss, sample_size, logging_output

    def optimizer_step(self, optimizer, model, update_num):
        phase = self.schedule.phase(update_num)
        optimizer.step(groups=active_groups(phase, self.cfg.adversarial_direction))
