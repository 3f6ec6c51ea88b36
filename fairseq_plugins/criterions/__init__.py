from fairseq_plugins.criterions import ami_criterion  # noqa: F401
