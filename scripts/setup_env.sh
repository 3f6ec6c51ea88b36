#!/usr/bin/env bash
# Create the project's virtual environment in .venv (or $AMI_VENV) and
# install everything the plugins, the demo and the tests need.
#
# The order matters:
#   1. torch==2.13.0 first. It is the CPU build; a bare "torch" or an open
#      range would make pip choose a multi-GB CUDA build.
#   2. fairseq-fixed==0.12.3.1 with --no-build-isolation. Its setup.py
#      imports torch, and inside an isolated build pip would fetch a CUDA
#      torch just to compile the extensions.
#   3. The remaining packages and this project in editable mode.
#
# A second run finds the stamp file and returns at once.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
venv=${AMI_VENV:-$here/.venv}
stamp=$venv/.ami-installed
# Bump when the package list below changes, so existing environments update.
env_version=4

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$env_version" ]; then
    exit 0
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
    echo "error: $python is older than Python 3.10; set PYTHON to a newer interpreter" >&2
    exit 1
fi

echo "[setup] creating virtual environment in $venv"
"$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --no-input)

echo "[setup] installing torch==2.13.0 (CPU build)"
"${pip[@]}" torch==2.13.0

echo "[setup] installing fairseq's build dependencies"
"${pip[@]}" "numpy>=1.21.3" cython setuptools wheel

echo "[setup] building fairseq-fixed==0.12.3.1 against that torch (about 3 minutes on 2 cores)"
env -u CUDA_HOME "${pip[@]}" --no-build-isolation fairseq-fixed==0.12.3.1

echo "[setup] installing metrics, tokenizer, logging, dataset and test packages"
# aclsum 0.1.2 (the ACLSum demo's data) declares Requires-Python >=3.11, so
# it is skipped on 3.10, where the demo's prepare.sh then reports it missing.
"${pip[@]}" "sacrebleu>=2,<3" sentencepiece tensorboard rouge-score \
    chitchat-dataset==0.9.0 "aclsum==0.1.2; python_version >= '3.11'" matplotlib pytest

echo "[setup] installing the ami package (editable)"
"${pip[@]}" --no-deps -e "$here"

"$venv/bin/python" -m pip check
echo "$env_version" > "$stamp"
echo "[setup] done: $venv"
