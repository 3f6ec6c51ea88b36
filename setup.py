"""Package definition for ami, the Adversarial Mutual Information toolkit.

torch and fairseq-fixed are deliberately not in install_requires: torch must be
the CPU build installed first, and fairseq-fixed must be built with
--no-build-isolation after torch. scripts/setup_env.sh does both in order.
"""
from setuptools import find_packages, setup

setup(
    name="ami",
    version="0.1.0",
    description=(
        "Adversarial Mutual Information (Pan et al., ICML 2020) for text "
        "generation, as fairseq plugins"
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["ami", "ami.*", "fairseq_plugins", "fairseq_plugins.*"]),
    install_requires=[
        "numpy>=1.21.3",
        "sacrebleu>=2,<3",
        "sentencepiece",
        "tensorboard",
        "rouge-score",
    ],
    extras_require={
        "demo": ["chitchat-dataset==0.9.0", "matplotlib"],
        "test": ["pytest"],
    },
    entry_points={
        "console_scripts": [
            "ami-prepare-chitchat=ami.data.chitchat:main",
            "ami-evaluate=ami.evaluate:main",
            "ami-rerank=ami.rerank:main",
            "ami-report=ami.report:main",
        ],
    },
)
