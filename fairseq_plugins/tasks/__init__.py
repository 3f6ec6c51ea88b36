from fairseq_plugins.tasks import ami_task  # noqa: F401
