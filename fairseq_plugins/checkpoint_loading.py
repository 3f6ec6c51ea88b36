"""Let fairseq load its own checkpoints under torch's weights-only unpickler.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``, and fairseq
calls it without the argument, so ``fairseq-generate`` and resuming
``fairseq-train`` fail on the non-tensor objects a fairseq checkpoint holds.
Instead of turning weights-only loading off (which would allow arbitrary code
in a pickle to run), this module allow-lists the few plain data types fairseq
writes: ``argparse.Namespace`` (the options of models with legacy arguments)
and numpy scalars and dtypes (metric values such as the best validation
score). It runs when the plugin package is imported, which fairseq does for
``--user-dir`` before it loads any checkpoint.
"""

import argparse
import logging

import numpy as np
import torch

logger = logging.getLogger(__name__)


def _numpy_scalar_reconstructor():
    core = getattr(np, "_core", None) or np.core
    return core.multiarray.scalar


def fairseq_checkpoint_globals():
    """Return the types allowed beyond torch's defaults."""
    dtypes = [np.float64, np.float32, np.float16, np.int64, np.int32, np.bool_]
    return [argparse.Namespace, np.dtype, _numpy_scalar_reconstructor()] + [
        type(np.dtype(dtype)) for dtype in dtypes
    ]


def allow_fairseq_checkpoints():
    add_safe_globals = getattr(torch.serialization, "add_safe_globals", None)
    if add_safe_globals is None:
        # torch older than 2.4 has no allow-list, and its torch.load defaults to full pickle.
        return
    add_safe_globals(fairseq_checkpoint_globals())


allow_fairseq_checkpoints()
