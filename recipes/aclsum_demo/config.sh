# shellcheck shell=bash
# Settings of the ACLSum CPU demo, read by every step: abstract -> "outcome"
# summary, 100 training papers, a 2+2-layer 128-wide transformer, a few
# hundred updates on the CPU. Each ${NAME:-default} can be overridden from the
# environment; mle.yaml and ami.yaml repeat the defaults for
# fairseq-hydra-train (tests/test_recipes.py checks that they agree).
RECIPE=aclsum_demo
TASK_TYPE=summarization
# The demo runs on the CPU unless NGPUS is set.
NGPUS=${NGPUS:-0}

# Data: read from the installed aclsum package (no download).
DOWNLOAD_NAME=""
CONVERTER=ami.data.aclsum
CONVERTER_COMMAND=()
VOCAB_SIZE=${VOCAB_SIZE:-1000}
CONVERTER_ARGS=(--aspect outcome --max-source-words "${MAX_SOURCE_WORDS:-400}")

# Dropout 0.3: with 100 training papers, 0.1 let the baseline emit one memorized
# summary for every test paper in a trial run.
MODEL_ARGS=(--arch ami_transformer_tiny --share-all-embeddings --dropout 0.3)
LR=${LR:-1e-3}
WARMUP=${WARMUP:-100}
LABEL_SMOOTHING=${LABEL_SMOOTHING:-0.1}
NOISE_LR=${NOISE_LR:-1e-3}
MAX_TOKENS=${MAX_TOKENS:-4096}
UPDATE_FREQ=${UPDATE_FREQ:-1}
SEED=${SEED:-1}
LOG_INTERVAL=${LOG_INTERVAL:-20}
# One epoch is a few updates, so validate and save by updates, not by epochs.
CHECKPOINT_ARGS=(--save-interval-updates 50 --validate-interval-updates 50 --keep-interval-updates 1
    --save-interval 1000 --validate-interval 1000 --no-epoch-checkpoints)

MLE_UPDATES=${MLE_UPDATES:-300}
AMI_UPDATES=${AMI_UPDATES:-60}
NOISE_PRETRAIN_UPDATES=${NOISE_PRETRAIN_UPDATES:-10}
AMI_LR=${AMI_LR:-5e-4}
ADVERSARIAL_DIRECTION=${ADVERSARIAL_DIRECTION:-forward}
NUM_SAMPLES=${NUM_SAMPLES:-3}
ADVERSARIAL_WEIGHT=${ADVERSARIAL_WEIGHT:-1.0}

# Decoding (lengths in sentencepiece pieces).
GEN_BATCH_SIZE=${GEN_BATCH_SIZE:-50}
GEN_BEAM=${GEN_BEAM:-4}
GEN_LENPEN=${GEN_LENPEN:-1.0}
GEN_NO_REPEAT_NGRAM=${GEN_NO_REPEAT_NGRAM:-3}
GEN_MAX_LEN_B=${GEN_MAX_LEN_B:-60}
GEN_MIN_LEN=${GEN_MIN_LEN:-5}

EVAL_REFERENCE=raw/test.tgt
HYPOTHESES_MODULE=""
