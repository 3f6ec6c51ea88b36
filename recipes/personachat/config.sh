# shellcheck shell=bash
# Settings of the PersonaChat (ConvAI2) recipe, read by every step. Each
# ${NAME:-default} can be overridden from the environment; mle.yaml and
# ami.yaml repeat the defaults for fairseq-hydra-train
# (tests/test_recipes.py checks that they agree).
RECIPE=personachat
TASK_TYPE=dialogue

# Data: source = the replying speaker's persona lines and the last 3 turns.
DOWNLOAD_NAME=personachat
CONVERTER=ami.data.personachat
CONVERTER_COMMAND=()
VOCAB_SIZE=${VOCAB_SIZE:-8000}
CONVERTER_ARGS=(--context-turns "${CONTEXT_TURNS:-3}" --persona)

# Model: ARCH_FAMILY=transformer (3+3 layers, 256 wide) or lstm (2+2 layers,
# 500 wide, the size of the official AMI release's LSTM).
ARCH_FAMILY=${ARCH_FAMILY:-transformer}
case $ARCH_FAMILY in
    transformer)
        MODEL_ARGS=(--arch ami_transformer_small --share-all-embeddings --dropout 0.1)
        LR=${LR:-5e-4}
        WARMUP=${WARMUP:-4000}
        ;;
    lstm)
        MODEL_ARGS=(--arch ami_lstm_small --share-all-embeddings)
        LR=${LR:-1e-3}
        WARMUP=${WARMUP:-1000}
        ;;
    *) die "ARCH_FAMILY must be transformer or lstm, got '$ARCH_FAMILY'" ;;
esac
LABEL_SMOOTHING=${LABEL_SMOOTHING:-0.1}
NOISE_LR=${NOISE_LR:-1e-4}
# Tokens per GPU and step; multiply UPDATE_FREQ to keep the batch when using fewer GPUs.
MAX_TOKENS=${MAX_TOKENS:-4096}
UPDATE_FREQ=${UPDATE_FREQ:-1}
SEED=${SEED:-1}
LOG_INTERVAL=${LOG_INTERVAL:-100}
CHECKPOINT_ARGS=(--save-interval-updates 2000 --keep-interval-updates 1 --no-epoch-checkpoints)

# Baseline: maximum likelihood of both networks for MLE_UPDATES updates.
MLE_UPDATES=${MLE_UPDATES:-30000}
# AMI from the baseline: noise pretraining, then the adversarial game.
AMI_UPDATES=${AMI_UPDATES:-10000}
NOISE_PRETRAIN_UPDATES=${NOISE_PRETRAIN_UPDATES:-1000}
AMI_LR=${AMI_LR:-1e-4}
ADVERSARIAL_DIRECTION=${ADVERSARIAL_DIRECTION:-forward}
NUM_SAMPLES=${NUM_SAMPLES:-5}
ADVERSARIAL_WEIGHT=${ADVERSARIAL_WEIGHT:-1.0}

# Decoding (lengths in sentencepiece pieces).
GEN_BATCH_SIZE=${GEN_BATCH_SIZE:-128}
GEN_BEAM=${GEN_BEAM:-5}
GEN_LENPEN=${GEN_LENPEN:-1.0}
GEN_NO_REPEAT_NGRAM=${GEN_NO_REPEAT_NGRAM:-3}
GEN_MAX_LEN_B=${GEN_MAX_LEN_B:-40}
GEN_MIN_LEN=${GEN_MIN_LEN:-1}

# Evaluation: references as written by the converter.
EVAL_REFERENCE=raw/test.tgt
HYPOTHESES_MODULE=""
