# shellcheck shell=bash
# Shared code of the benchmark recipes. A recipe step is a small script that
# sources this file and its recipe's config.sh, then calls one recipe_*
# function, for example recipes/personachat/train_mle.sh:
#
#   . "$here/../common.sh"; . "$here/config.sh"; recipe_train_mle "$@"
#
# Options of every step:
#   --dry-run     print each command, fully expanded and shell-quoted, and run
#                 nothing (no file or directory is created)
#   --from DIR    prepare.sh only: read the raw dataset from DIR instead of
#                 downloading it
#   -- ARGS...    extra arguments for the step's main command (fairseq-train,
#                 fairseq-generate, ami-evaluate or the converter)
#
# Environment (all optional):
#   WORK_DIR       output directory (default: work/recipes/<recipe>)
#   AMI_VENV       virtual environment (default: .venv in the repository)
#   NGPUS          GPUs on this machine to train on, 0 for CPU (default: the
#                  number that nvidia-smi lists, 0 without nvidia-smi)
#   PRECISION      fp32 (default) or fp16; bf16 is rejected (see check_precision)
#   NNODES, NODE_RANK, MASTER_ADDR, MASTER_PORT, GPUS_PER_NODE
#                  multi-node training; torchrun launches the training when
#                  NNODES > 1 or GPUS_PER_NODE > 1 (see docs/scaling.md)
#   SYSTEMS        systems that generate.sh and evaluate.sh handle (default: "mle ami")
#   RERANK=1       dialogue recipes: rerank n-best lists with ami-rerank, with
#                  RERANK_LAMBDA/RERANK_GAMMA or tuned on valid (see rerank_system)
# Printed lines that are not commands start with "#", so a dry run's output
# is itself a valid bash script.

AMI_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AMI_PLUGINS=$AMI_REPO/fairseq_plugins

die() {
    echo "error: $*" >&2
    exit 1
}

note() {
    echo "# $*"
}

# Parse the common options into DRY_RUN, FROM_DIR and EXTRA_ARGS.
# Usage: parse_common_args ALLOW_FROM USAGE "$@"
parse_common_args() {
    local allow_from=$1 usage=$2
    shift 2
    DRY_RUN=0
    FROM_DIR=""
    EXTRA_ARGS=()
    while [ $# -gt 0 ]; do
        case $1 in
            --dry-run) DRY_RUN=1 ;;
            --from | --from=*)
                [ "$allow_from" = 1 ] || die "--from is an option of prepare.sh only"
                if [ "$1" = --from ]; then
                    [ $# -ge 2 ] || die "--from needs a directory"
                    FROM_DIR=$2
                    shift
                else
                    FROM_DIR=${1#--from=}
                fi
                [ -n "$FROM_DIR" ] || die "--from needs a directory"
                ;;
            -h | --help)
                echo "$usage"
                exit 0
                ;;
            --)
                shift
                EXTRA_ARGS=("$@")
                break
                ;;
            *) die "unknown option '$1'. Pass options for the main command after '--'. $usage" ;;
        esac
        shift
    done
}

# Print a command; run it unless this is a dry run.
run() {
    printf '+'
    printf ' %q' "$@"
    printf '\n'
    if [ "$DRY_RUN" = 0 ]; then
        "$@"
    fi
}

# Print a command with its stdout redirection. Unless this is a dry run, run
# it into FILE.tmp, which becomes FILE only when the command succeeds.
# Usage: run_to_file FILE COMMAND...
run_to_file() {
    local output=$1
    shift
    printf '+'
    printf ' %q' "$@"
    printf ' > %q\n' "$output"
    if [ "$DRY_RUN" = 1 ]; then
        return 0
    fi
    if "$@" > "$output.tmp"; then
        mv "$output.tmp" "$output"
    else
        local status=$?
        rm -f "$output.tmp"
        return "$status"
    fi
}

# Put the virtual environment's bin/ first on PATH.
activate_venv() {
    local venv=${AMI_VENV:-$AMI_REPO/.venv}
    if [ -x "$venv/bin/python" ]; then
        export VIRTUAL_ENV=$venv
        export PATH=$venv/bin:$PATH
    elif [ "$DRY_RUN" = 1 ]; then
        note "warning: no virtual environment in $venv (run 'make setup'); commands are printed only"
    else
        die "no virtual environment in $venv. Run 'make setup' first, or set AMI_VENV"
    fi
}

# Fail unless PATH (the virtual environment) has the command. Dry runs only print.
require_command() {
    if [ "$DRY_RUN" = 0 ] && ! command -v "$1" > /dev/null 2>&1; then
        die "$1 not found on PATH. $2"
    fi
}

# Fail unless FILE exists; dry runs skip the check because earlier steps did not run.
require_file() {
    if [ "$DRY_RUN" = 0 ] && [ ! -e "$1" ]; then
        die "$1 not found. $2"
    fi
}

is_count() {
    case $1 in
        '' | *[!0-9]*) return 1 ;;
        *) return 0 ;;
    esac
}

detect_gpus() {
    if command -v nvidia-smi > /dev/null 2>&1; then
        nvidia-smi -L 2> /dev/null | grep -c '^GPU' || true
    else
        echo 0
    fi
}

# Accept PRECISION=fp32 or fp16. bf16 is rejected: the command-line parser of
# fairseq 0.12 (fairseq/options.py) turns --bf16 into --tpu, which fails on GPUs.
check_precision() {
    case $PRECISION in
        fp32 | fp16) ;;
        bf16) die "PRECISION=bf16 is not supported: fairseq 0.12's command line turns --bf16 into --tpu. Use PRECISION=fp16" ;;
        *) die "PRECISION must be fp32 or fp16 (bf16 is not supported), got '$PRECISION'" ;;
    esac
}

# Set WORLD_SIZE, LAUNCH (the training launcher) and DEVICE_ARGS from NGPUS,
# PRECISION and the multi-node variables, and print the world size.
setup_devices() {
    NGPUS=${NGPUS:-$(detect_gpus)}
    NNODES=${NNODES:-1}
    NODE_RANK=${NODE_RANK:-0}
    MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
    MASTER_PORT=${MASTER_PORT:-29500}
    GPUS_PER_NODE=${GPUS_PER_NODE:-$NGPUS}
    PRECISION=${PRECISION:-fp32}
    local name
    for name in NGPUS NNODES NODE_RANK MASTER_PORT GPUS_PER_NODE; do
        is_count "${!name}" || die "$name must be a non-negative integer, got '${!name}'"
    done
    [ "$NNODES" -ge 1 ] || die "NNODES must be at least 1, got $NNODES"
    [ "$NODE_RANK" -lt "$NNODES" ] || die "NODE_RANK ($NODE_RANK) must be smaller than NNODES ($NNODES)"
    if [ "$NNODES" = 1 ] && [ "$GPUS_PER_NODE" != "$NGPUS" ]; then
        die "GPUS_PER_NODE ($GPUS_PER_NODE) and NGPUS ($NGPUS) differ on a single node; set one of them"
    fi

    DEVICE_ARGS=()
    check_precision
    # ami_adam is a composite optimizer, which cannot step flattened fp16 gradients.
    [ "$PRECISION" = fp32 ] || DEVICE_ARGS+=(--fp16 --fp16-no-flatten-grads)

    if [ "$GPUS_PER_NODE" = 0 ]; then
        [ "$NNODES" = 1 ] || die "multi-node training needs GPUs; set NGPUS or GPUS_PER_NODE"
        [ "$PRECISION" = fp32 ] || die "PRECISION=$PRECISION needs a GPU; use PRECISION=fp32 with NGPUS=0"
        WORLD_SIZE=1
        DEVICE_ARGS+=(--cpu)
        LAUNCH=(fairseq-train)
        note "world size 1: one process on the CPU (NGPUS=0)"
        return
    fi

    WORLD_SIZE=$((NNODES * GPUS_PER_NODE))
    if [ "$NNODES" -gt 1 ] || [ "$GPUS_PER_NODE" -gt 1 ]; then
        LAUNCH=(torchrun "--nnodes=$NNODES" "--node_rank=$NODE_RANK" "--nproc_per_node=$GPUS_PER_NODE"
            "--master_addr=$MASTER_ADDR" "--master_port=$MASTER_PORT" -m fairseq_cli.train)
        # fairseq reads the rank from torchrun's environment, but it skips
        # distributed setup when its own world size (default: the local GPU
        # count) is 1, so the world size is passed explicitly. legacy_ddp
        # copes with parameters that get no gradient in a step: each AMI
        # update trains only some of the networks.
        DEVICE_ARGS+=(--distributed-world-size "$WORLD_SIZE" --ddp-backend legacy_ddp)
    else
        LAUNCH=(fairseq-train)
    fi
    note "world size $WORLD_SIZE = NNODES $NNODES x GPUS_PER_NODE $GPUS_PER_NODE" \
        "(this node: NODE_RANK $NODE_RANK; rendezvous $MASTER_ADDR:$MASTER_PORT; PRECISION $PRECISION)"
}

# Set GENERATE_DEVICE_ARGS: generation runs in one process, on one GPU or the CPU.
setup_generation_device() {
    NGPUS=${NGPUS:-$(detect_gpus)}
    PRECISION=${PRECISION:-fp32}
    is_count "$NGPUS" || die "NGPUS must be a non-negative integer, got '$NGPUS'"
    GENERATE_DEVICE_ARGS=()
    check_precision
    [ "$PRECISION" = fp32 ] || GENERATE_DEVICE_ARGS+=(--fp16)
    if [ "$NGPUS" = 0 ]; then
        [ "$PRECISION" = fp32 ] || die "PRECISION=$PRECISION needs a GPU; use PRECISION=fp32 with NGPUS=0"
        GENERATE_DEVICE_ARGS+=(--cpu)
    fi
}

# Paths shared by all steps of a recipe; config.sh sets RECIPE first.
set_paths() {
    WORK_DIR=${WORK_DIR:-$AMI_REPO/work/recipes/$RECIPE}
    DATA_DIR=$WORK_DIR/data
    BIN_DIR=$DATA_DIR/bin
    GENERATE_DIR=$WORK_DIR/generate
    read -r -a SYSTEM_NAMES <<< "${SYSTEMS:-mle ami}"
    [ "${#SYSTEM_NAMES[@]}" -gt 0 ] || die "SYSTEMS is empty; expected names such as 'mle ami'"
}

# The checkpoint that generate.sh decodes: the MLE baseline's best by
# validation loss, and the AMI run's last. AMI trades likelihood for mutual
# information, so its validation loss would favour its least adversarial
# checkpoint.
checkpoint_of() {
    case $1 in
        mle) echo "$WORK_DIR/mle/${MLE_CHECKPOINT:-checkpoint_best.pt}" ;;
        ami) echo "$WORK_DIR/ami/${AMI_CHECKPOINT:-checkpoint_last.pt}" ;;
        *) echo "$WORK_DIR/$1/checkpoint_last.pt" ;;
    esac
}

train_common_args() {
    TRAIN_ARGS=(
        "$BIN_DIR" --user-dir "$AMI_PLUGINS" --task ami --criterion ami
        "${MODEL_ARGS[@]}" --label-smoothing "$LABEL_SMOOTHING"
        --optimizer ami_adam --lr-scheduler pass_through --noise-lr "$NOISE_LR"
        --max-tokens "$MAX_TOKENS" --update-freq "$UPDATE_FREQ" --seed "$SEED"
        --skip-invalid-size-inputs-valid-test
        --log-format simple --log-interval "$LOG_INTERVAL"
        "${CHECKPOINT_ARGS[@]}" "${DEVICE_ARGS[@]}"
    )
}

recipe_prepare() {
    local usage="usage: $0 [--dry-run] [--from DIR] [-- CONVERTER_ARGS...]
Convert the $RECIPE dataset into $AMI_REPO/work/recipes/$RECIPE/data (or \$WORK_DIR/data)."
    parse_common_args 1 "$usage" "$@"
    activate_venv
    set_paths
    local from_args=()
    if [ -n "$FROM_DIR" ]; then
        [ "$DRY_RUN" = 1 ] || [ -d "$FROM_DIR" ] || die "--from $FROM_DIR: directory not found"
        from_args=(--from "$FROM_DIR")
    elif [ -n "$DOWNLOAD_NAME" ]; then
        run python -m ami.data.download "$DOWNLOAD_NAME" --out "$WORK_DIR/download"
        from_args=(--from "$WORK_DIR/download")
    fi
    run python -m "$CONVERTER" "${CONVERTER_COMMAND[@]}" "${from_args[@]}" --out "$DATA_DIR" \
        --vocab-size "$VOCAB_SIZE" "${CONVERTER_ARGS[@]}" "${EXTRA_ARGS[@]}"
}

recipe_train_mle() {
    local usage="usage: $0 [--dry-run] [-- FAIRSEQ_TRAIN_ARGS...]
Train the maximum-likelihood baseline of $RECIPE into \$WORK_DIR/mle."
    parse_common_args 0 "$usage" "$@"
    activate_venv
    set_paths
    setup_devices
    require_file "$BIN_DIR/dict.src.txt" "Run prepare.sh first."
    train_common_args
    local save_dir=$WORK_DIR/mle
    run "${LAUNCH[@]}" "${TRAIN_ARGS[@]}" \
        --pretrain-updates "$MLE_UPDATES" --max-update "$MLE_UPDATES" \
        --forward-lr "$LR" --backward-lr "$LR" \
        --forward-warmup-updates "$WARMUP" --backward-warmup-updates "$WARMUP" \
        --save-dir "$save_dir" --tensorboard-logdir "$WORK_DIR/tensorboard/mle" "${EXTRA_ARGS[@]}"
}

recipe_train_ami() {
    local usage="usage: $0 [--dry-run] [-- FAIRSEQ_TRAIN_ARGS...]
Train $RECIPE with AMI into \$WORK_DIR/ami, starting from the baseline's best checkpoint."
    parse_common_args 0 "$usage" "$@"
    activate_venv
    set_paths
    setup_devices
    require_file "$BIN_DIR/dict.src.txt" "Run prepare.sh first."
    local start=$WORK_DIR/mle/checkpoint_best.pt
    require_file "$start" "Run train_mle.sh first."
    train_common_args
    local save_dir=$WORK_DIR/ami
    # The restart uses a constant rate without warmup (--lr-schedule fixed).
    run "${LAUNCH[@]}" "${TRAIN_ARGS[@]}" \
        --finetune-from-model "$start" \
        --pretrain-updates 0 --noise-pretrain-updates "$NOISE_PRETRAIN_UPDATES" --max-update "$AMI_UPDATES" \
        --lr-schedule fixed --forward-lr "$AMI_LR" --backward-lr "$AMI_LR" \
        --forward-warmup-updates 0 --backward-warmup-updates 0 \
        --adversarial-direction "$ADVERSARIAL_DIRECTION" --num-samples "$NUM_SAMPLES" \
        --synthetic-decoding teacher_forced --reward-baseline sample_mean \
        --adversarial-weight "$ADVERSARIAL_WEIGHT" --judge-margin 1.0 --noise-kl-weight 0.1 \
        --save-dir "$save_dir" --tensorboard-logdir "$WORK_DIR/tensorboard/ami" "${EXTRA_ARGS[@]}"
}

generate_command() {
    local checkpoint=$1 subset=$2
    shift 2
    GENERATE_COMMAND=(
        fairseq-generate "$BIN_DIR" --user-dir "$AMI_PLUGINS" --task ami
        --path "$checkpoint" --gen-subset "$subset" --batch-size "$GEN_BATCH_SIZE"
        --beam "$GEN_BEAM" --lenpen "$GEN_LENPEN" --no-repeat-ngram-size "$GEN_NO_REPEAT_NGRAM"
        --max-len-a 0 --max-len-b "$GEN_MAX_LEN_B" --min-len "$GEN_MIN_LEN"
        --post-process sentencepiece "${GENERATE_DEVICE_ARGS[@]}" "$@" "${EXTRA_ARGS[@]}"
    )
}

recipe_generate() {
    local usage="usage: $0 [--dry-run] [-- FAIRSEQ_GENERATE_ARGS...]
Decode the $RECIPE test set with each system in SYSTEMS (default: mle ami) into \$WORK_DIR/generate."
    parse_common_args 0 "$usage" "$@"
    activate_venv
    set_paths
    setup_generation_device
    local rerank=${RERANK:-0}
    if [ "$rerank" = 1 ] && [ "$TASK_TYPE" != dialogue ]; then
        die "RERANK=1 is supported by the dialogue recipes only"
    fi
    run mkdir -p "$GENERATE_DIR"
    local system checkpoint
    for system in "${SYSTEM_NAMES[@]}"; do
        checkpoint=$(checkpoint_of "$system")
        require_file "$checkpoint" "Train the $system system first."
        generate_command "$checkpoint" test
        run_to_file "$GENERATE_DIR/$system.test.log" "${GENERATE_COMMAND[@]}"
        if [ "$rerank" = 1 ]; then
            rerank_system "$system" "$checkpoint"
        fi
    done
}

# Rerank the test n-best list with score = log p(T|S) + lambda log q(S|T) +
# gamma |T| (ami-rerank). RERANK_LAMBDA (and optionally RERANK_GAMMA) fix the
# weights; without them ami-rerank tunes both on the validation n-best list.
rerank_system() {
    local system=$1 checkpoint=$2
    require_command ami-rerank "RERANK=1 needs ami-rerank; reinstall this repository (make setup)."
    local weights=() subsets=(test)
    if [ -n "${RERANK_LAMBDA:-}" ]; then
        weights=(--lambda "$RERANK_LAMBDA")
        if [ -n "${RERANK_GAMMA:-}" ]; then
            weights+=(--gamma "$RERANK_GAMMA")
        fi
    else
        [ -z "${RERANK_GAMMA:-}" ] || die "RERANK_GAMMA needs RERANK_LAMBDA; unset both to tune them on valid"
        weights=(--tune-on "$GENERATE_DIR/$system.valid.nbest.log"
            --tune-json "$GENERATE_DIR/$system+rerank.tuning.json")
        subsets=(valid test)
    fi
    local subset
    for subset in "${subsets[@]}"; do
        generate_command "$checkpoint" "$subset" --nbest "$GEN_BEAM"
        run_to_file "$GENERATE_DIR/$system.$subset.nbest.log" "${GENERATE_COMMAND[@]}"
    done
    run ami-rerank "$GENERATE_DIR/$system.test.nbest.log" --checkpoint "$checkpoint" \
        --spm-model "$DATA_DIR/spm/sentencepiece.model" "${weights[@]}" \
        --output "$GENERATE_DIR/$system+rerank.test.log"
}

recipe_evaluate() {
    local usage="usage: $0 [--dry-run] [-- AMI_EVALUATE_ARGS...]
Score the test outputs of each system in SYSTEMS and write \$WORK_DIR/report.md and report.json."
    parse_common_args 0 "$usage" "$@"
    activate_venv
    set_paths
    local systems=("${SYSTEM_NAMES[@]}") system
    if [ "${RERANK:-0}" = 1 ]; then
        for system in "${SYSTEM_NAMES[@]}"; do
            systems+=("$system+rerank")
        done
    fi
    local inputs=() names=() log
    if [ -n "$HYPOTHESES_MODULE" ]; then
        for system in "${systems[@]}"; do
            log=$GENERATE_DIR/$system.test.log
            require_file "$log" "Run generate.sh first."
            run python -m "$HYPOTHESES_MODULE" hypotheses --generate-log "$log" --out "$GENERATE_DIR/$system.test.hyp"
            inputs+=(--hyp "$GENERATE_DIR/$system.test.hyp")
            names+=(--name "$system")
        done
    else
        inputs=(--generate-log)
        for system in "${systems[@]}"; do
            log=$GENERATE_DIR/$system.test.log
            require_file "$log" "Run generate.sh first."
            inputs+=("$log")
            names+=(--name "$system")
        done
    fi
    require_file "$DATA_DIR/$EVAL_REFERENCE" "Run prepare.sh first."
    run_to_file "$WORK_DIR/report.md" ami-evaluate "${inputs[@]}" "${names[@]}" \
        --ref "$DATA_DIR/$EVAL_REFERENCE" --task-type "$TASK_TYPE" --json "$WORK_DIR/report.json" "${EXTRA_ARGS[@]}"
    if [ "$DRY_RUN" = 0 ]; then
        cat "$WORK_DIR/report.md"
        note "report: $WORK_DIR/report.md, every figure: $WORK_DIR/report.json"
    fi
}
