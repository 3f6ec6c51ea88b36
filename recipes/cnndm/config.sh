# shellcheck shell=bash
# Settings of the CNN/DailyMail recipe, read by every step. Each
# ${NAME:-default} can be overridden from the environment; mle.yaml and
# ami.yaml repeat the defaults for fairseq-hydra-train
# (tests/test_recipes.py checks that they agree).
RECIPE=cnndm
TASK_TYPE=summarization

# Data: article (first 400 words) -> highlights joined with " <n> ".
DOWNLOAD_NAME=cnndm
CONVERTER=ami.data.cnndm
CONVERTER_COMMAND=(prepare)
VOCAB_SIZE=${VOCAB_SIZE:-32000}
CONVERTER_ARGS=(--max-source-words "${MAX_SOURCE_WORDS:-400}" --workers "${PREPARE_WORKERS:-4}")

# Model: transformer base (6+6 layers, 512 wide).
MODEL_ARGS=(--arch ami_transformer --share-all-embeddings --dropout 0.1)
LR=${LR:-5e-4}
WARMUP=${WARMUP:-4000}
LABEL_SMOOTHING=${LABEL_SMOOTHING:-0.1}
NOISE_LR=${NOISE_LR:-1e-4}
# Tokens per GPU and step; multiply UPDATE_FREQ to keep the batch when using fewer GPUs.
MAX_TOKENS=${MAX_TOKENS:-8192}
UPDATE_FREQ=${UPDATE_FREQ:-1}
SEED=${SEED:-1}
LOG_INTERVAL=${LOG_INTERVAL:-100}
CHECKPOINT_ARGS=(--save-interval-updates 5000 --keep-interval-updates 1 --no-epoch-checkpoints)

# Baseline: maximum likelihood of both networks for MLE_UPDATES updates.
MLE_UPDATES=${MLE_UPDATES:-100000}
# AMI from the baseline: noise pretraining, then the adversarial game.
AMI_UPDATES=${AMI_UPDATES:-20000}
NOISE_PRETRAIN_UPDATES=${NOISE_PRETRAIN_UPDATES:-1000}
AMI_LR=${AMI_LR:-1e-4}
ADVERSARIAL_DIRECTION=${ADVERSARIAL_DIRECTION:-forward}
NUM_SAMPLES=${NUM_SAMPLES:-3}
ADVERSARIAL_WEIGHT=${ADVERSARIAL_WEIGHT:-1.0}

# Decoding (lengths in sentencepiece pieces).
GEN_BATCH_SIZE=${GEN_BATCH_SIZE:-32}
GEN_BEAM=${GEN_BEAM:-4}
GEN_LENPEN=${GEN_LENPEN:-2.0}
GEN_NO_REPEAT_NGRAM=${GEN_NO_REPEAT_NGRAM:-3}
GEN_MAX_LEN_B=${GEN_MAX_LEN_B:-140}
GEN_MIN_LEN=${GEN_MIN_LEN:-40}

# Evaluation: generated "<n>" markers become sentence ends
# (python -m ami.data.cnndm hypotheses), like the references in test.summary.txt.
EVAL_REFERENCE=raw/test.summary.txt
HYPOTHESES_MODULE=ami.data.cnndm
