from fairseq_plugins.optim import ami_adam  # noqa: F401
