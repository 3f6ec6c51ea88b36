"""fairseq plugins for Adversarial Mutual Information: load with --user-dir fairseq_plugins.

Registers the ``ami`` task, the ``ami`` criterion, the ``ami_adam``
optimizer and the ``ami_transformer`` / ``ami_lstm`` model families.
"""

from fairseq_plugins import checkpoint_loading  # noqa: F401  (must run before any checkpoint load)
from fairseq_plugins import criterions, models, optim, tasks  # noqa: F401
