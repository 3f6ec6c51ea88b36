"""Benchmark recipes (recipes/*/*.sh): dry runs, the commands they print, and their YAML twins.

Dry runs print every command and run none, so these tests are fast. The
printed fairseq commands are also parsed with fairseq's own argument parsers,
which catches options that the plugins renamed. One test runs the ACLSum
demo's prepare.sh for real on a small hand-written input.
"""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PLUGINS = str(REPO / "fairseq_plugins")
RECIPES = ("personachat", "dailydialog", "gigaword", "cnndm", "aclsum_demo")
STEPS = ("prepare", "train_mle", "train_ami", "generate", "evaluate")
DIALOGUE = ("personachat", "dailydialog")
DOWNLOADS = {"personachat": "personachat", "dailydialog": "dailydialog", "gigaword": "gigaword", "cnndm": "cnndm"}
CONVERTERS = {
    "personachat": "ami.data.personachat",
    "dailydialog": "ami.data.dailydialog",
    "gigaword": "ami.data.gigaword",
    "cnndm": "ami.data.cnndm",
    "aclsum_demo": "ami.data.aclsum",
}
# Environment variables that the recipes read; a test sets the ones it needs.
RECIPE_VARIABLES = (
    "NGPUS", "PRECISION", "NNODES", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT", "GPUS_PER_NODE", "SYSTEMS",
    "RERANK", "RERANK_LAMBDA", "RERANK_GAMMA", "ARCH_FAMILY", "WORK_DIR", "AMI_VENV", "VOCAB_SIZE",
    "MLE_UPDATES", "AMI_UPDATES", "NOISE_PRETRAIN_UPDATES", "MAX_TOKENS", "UPDATE_FREQ", "LR", "WARMUP",
    "AMI_LR", "NOISE_LR", "SEED", "NUM_SAMPLES", "MLE_CHECKPOINT", "AMI_CHECKPOINT",
)


def run_step(recipe, step, *args, work_dir, **env):
    """Run recipes/RECIPE/STEP.sh with NGPUS=0 unless ``env`` overrides it."""
    environment = {key: value for key, value in os.environ.items() if key not in RECIPE_VARIABLES}
    environment.update(
        NGPUS="0", WORK_DIR=str(work_dir), AMI_VENV=str(Path(sys.executable).parent.parent),
        OMP_NUM_THREADS="1",
    )
    environment.update({key: str(value) for key, value in env.items()})
    return subprocess.run(
        ["bash", str(REPO / "recipes" / recipe / f"{step}.sh"), *args],
        capture_output=True, text=True, env=environment, timeout=120,
    )


def dry_run(recipe, step, work_dir, *args, **env):
    """Return the commands (argument lists) that a successful dry run prints."""
    result = run_step(recipe, step, "--dry-run", *args, work_dir=work_dir, **env)
    assert result.returncode == 0, result.stderr
    commands = []
    for line in result.stdout.splitlines():
        assert line.startswith(("+ ", "# ")), f"unexpected output line: {line!r}"
        if line.startswith("+ "):
            words = shlex.split(line[2:])
            if len(words) >= 2 and words[-2] == ">":
                words = words[:-2] + [">" + words[-1]]
            commands.append(words)
    return commands, result.stdout


def commands_of(commands, program):
    return [command for command in commands if program in command[:8]]


def option(command, name):
    """Return the value after ``name`` in a command; fail if it is missing."""
    assert name in command, f"{name} missing from {shlex.join(command)}"
    return command[command.index(name) + 1]


def fairseq_part(command):
    """Drop a torchrun prefix; return the arguments that fairseq itself parses."""
    if command[0] == "torchrun":
        return command[command.index("fairseq_cli.train") + 1:]
    return command[1:]


def flag_values(arguments):
    """Map each --flag of an argument list to its value (True for a flag without value)."""
    values = {}
    for index, word in enumerate(arguments):
        if not word.startswith("--"):
            continue
        following = arguments[index + 1] if index + 1 < len(arguments) else None
        values[word] = True if following is None or following.startswith("--") else following
    return values


@pytest.fixture
def work(tmp_path):
    return tmp_path / "work"


# ---------------------------------------------------------------------------
# Every step
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("recipe", RECIPES)
@pytest.mark.parametrize("step", STEPS)
def test_dry_run_prints_commands_only(recipe, step, work):
    commands, _ = dry_run(recipe, step, work)

    assert commands
    assert not work.exists()


@pytest.mark.parametrize("recipe", RECIPES)
def test_help_exits_zero(recipe, work):
    result = run_step(recipe, "train_mle", "--help", work_dir=work)

    assert result.returncode == 0
    assert result.stdout.startswith("usage:")


@pytest.mark.parametrize(
    "step, args, env, message",
    [
        ("train_mle", ["--unknown"], {}, "unknown option '--unknown'"),
        ("train_mle", ["--from", "/tmp"], {}, "--from is an option of prepare.sh only"),
        ("prepare", ["--from"], {}, "--from needs a directory"),
        ("train_mle", [], {"PRECISION": "fp16"}, "needs a GPU"),
        ("train_mle", [], {"NGPUS": "1", "PRECISION": "bf16"}, "PRECISION=bf16 is not supported"),
        ("train_mle", [], {"NGPUS": "1", "PRECISION": "fp8"}, "PRECISION must be fp32 or fp16"),
        ("train_mle", [], {"NGPUS": "two"}, "NGPUS must be a non-negative integer"),
        ("train_mle", [], {"NNODES": "2"}, "multi-node training needs GPUs"),
        ("train_mle", [], {"NGPUS": "8", "NNODES": "2", "NODE_RANK": "2"}, "NODE_RANK (2) must be smaller"),
        ("train_mle", [], {"NGPUS": "2", "GPUS_PER_NODE": "4"}, "differ on a single node"),
        ("train_mle", [], {"ARCH_FAMILY": "rnn"}, "ARCH_FAMILY must be transformer or lstm"),
        ("generate", [], {"SYSTEMS": " "}, "SYSTEMS is empty"),
    ],
)
def test_invalid_settings_are_rejected(work, step, args, env, message):
    result = run_step("personachat", step, "--dry-run", *args, work_dir=work, **env)

    assert result.returncode == 1
    assert message in result.stderr


def test_steps_check_earlier_outputs(work):
    result = run_step("dailydialog", "train_ami", work_dir=work)

    assert result.returncode == 1
    assert "Run prepare.sh first" in result.stderr


# ---------------------------------------------------------------------------
# prepare.sh
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("recipe", RECIPES)
def test_prepare_without_from(recipe, work):
    commands, _ = dry_run(recipe, "prepare", work)

    converter = commands[-1]
    assert converter[:3] == ["python", "-m", CONVERTERS[recipe]]
    assert option(converter, "--out") == str(work / "data")
    if recipe in DOWNLOADS:
        assert commands[0] == [
            "python", "-m", "ami.data.download", DOWNLOADS[recipe], "--out", str(work / "download")
        ]
        assert option(converter, "--from") == str(work / "download")
    else:
        assert len(commands) == 1
        assert "--from" not in converter


@pytest.mark.parametrize("recipe", RECIPES)
def test_prepare_with_from(recipe, work, tmp_path):
    commands, _ = dry_run(recipe, "prepare", work, "--from", str(tmp_path / "raw data"))

    assert len(commands) == 1
    assert option(commands[0], "--from") == str(tmp_path / "raw data")


def test_prepare_forwards_extra_arguments(work):
    commands, _ = dry_run("gigaword", "prepare", work, "--from", "/data/sumdata", "--", "--max-valid-pairs", "5000")

    assert commands[0][-2:] == ["--max-valid-pairs", "5000"]


def test_prepare_cnndm_uses_subcommand(work):
    commands, _ = dry_run("cnndm", "prepare", work, "--from", "/data/cnndm")

    assert commands[0][:4] == ["python", "-m", "ami.data.cnndm", "prepare"]
    assert option(commands[0], "--max-source-words") == "400"


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("recipe", RECIPES)
def test_train_mle_command(recipe, work):
    commands, output = dry_run(recipe, "train_mle", work)

    (train,) = commands_of(commands, "fairseq-train")
    assert train[1] == str(work / "data" / "bin")
    for name, value in [("--task", "ami"), ("--criterion", "ami"), ("--optimizer", "ami_adam"),
                        ("--lr-scheduler", "pass_through"), ("--user-dir", PLUGINS)]:
        assert option(train, name) == value
    assert option(train, "--pretrain-updates") == option(train, "--max-update")
    assert option(train, "--save-dir") == str(work / "mle")
    assert "--cpu" in train
    assert "--finetune-from-model" not in train
    assert "# world size 1" in output


@pytest.mark.parametrize("recipe", RECIPES)
def test_train_ami_command(recipe, work):
    commands, _ = dry_run(recipe, "train_ami", work)

    (train,) = commands_of(commands, "fairseq-train")
    assert option(train, "--finetune-from-model") == str(work / "mle" / "checkpoint_best.pt")
    assert option(train, "--pretrain-updates") == "0"
    assert 0 < int(option(train, "--noise-pretrain-updates")) < int(option(train, "--max-update"))
    assert option(train, "--lr-schedule") == "fixed"
    assert int(option(train, "--num-samples")) >= 2
    assert option(train, "--save-dir") == str(work / "ami")


@pytest.mark.parametrize("recipe, arch", [
    ("personachat", "ami_transformer_small"), ("dailydialog", "ami_transformer_small"),
    ("gigaword", "ami_transformer"), ("cnndm", "ami_transformer"), ("aclsum_demo", "ami_transformer_tiny"),
])
def test_model_size_per_task(recipe, arch, work):
    commands, _ = dry_run(recipe, "train_mle", work)

    assert option(commands_of(commands, "fairseq-train")[0], "--arch") == arch


@pytest.mark.parametrize("recipe", DIALOGUE)
def test_dialogue_lstm_family(recipe, work):
    commands, _ = dry_run(recipe, "train_mle", work, ARCH_FAMILY="lstm")

    (train,) = commands_of(commands, "fairseq-train")
    assert option(train, "--arch") == "ami_lstm_small"
    assert option(train, "--forward-lr") == "1e-3"


def test_single_gpu_runs_one_process(work):
    commands, output = dry_run("gigaword", "train_mle", work, NGPUS=1)

    (train,) = commands_of(commands, "fairseq-train")
    assert "--cpu" not in train
    assert "--distributed-world-size" not in train
    assert "# world size 1 = NNODES 1 x GPUS_PER_NODE 1" in output


def test_multi_gpu_uses_torchrun(work):
    commands, output = dry_run("cnndm", "train_ami", work, NGPUS=4)

    (train,) = commands_of(commands, "torchrun")
    assert train[:7] == [
        "torchrun", "--nnodes=1", "--node_rank=0", "--nproc_per_node=4",
        "--master_addr=127.0.0.1", "--master_port=29500", "-m",
    ]
    assert option(train, "--distributed-world-size") == "4"
    assert option(train, "--ddp-backend") == "legacy_ddp"
    assert "# world size 4 = NNODES 1 x GPUS_PER_NODE 4" in output


def test_multi_node_world_size(work):
    env = {"NGPUS": 8, "NNODES": 2, "NODE_RANK": 1, "GPUS_PER_NODE": 8, "MASTER_ADDR": "node0", "MASTER_PORT": 12345}
    commands, output = dry_run("gigaword", "train_mle", work, **env)

    (train,) = commands_of(commands, "torchrun")
    for expected in ("--nnodes=2", "--node_rank=1", "--nproc_per_node=8", "--master_addr=node0", "--master_port=12345"):
        assert expected in train
    assert option(train, "--distributed-world-size") == "16"
    assert "# world size 16 = NNODES 2 x GPUS_PER_NODE 8 (this node: NODE_RANK 1; rendezvous node0:12345" in output


def test_one_gpu_per_node_is_still_distributed(work):
    commands, _ = dry_run("gigaword", "train_mle", work, NGPUS=1, NNODES=4, NODE_RANK=0, MASTER_ADDR="node0")

    (train,) = commands_of(commands, "torchrun")
    assert option(train, "--distributed-world-size") == "4"


def test_fp16_flags(work):
    commands, _ = dry_run("dailydialog", "train_mle", work, NGPUS=1, PRECISION="fp16")
    generate_commands, _ = dry_run("dailydialog", "generate", work, NGPUS=1, PRECISION="fp16")

    train = commands_of(commands, "fairseq-train")[0]
    assert "--fp16" in train
    assert "--fp16-no-flatten-grads" in train
    for generate in commands_of(generate_commands, "fairseq-generate"):
        assert "--fp16" in generate
        assert "--cpu" not in generate


def test_train_forwards_extra_arguments(work):
    commands, _ = dry_run("personachat", "train_mle", work, "--", "--max-epoch", "1")

    assert commands_of(commands, "fairseq-train")[0][-2:] == ["--max-epoch", "1"]


# ---------------------------------------------------------------------------
# Generation and evaluation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("recipe", RECIPES)
def test_generate_commands(recipe, work):
    commands, _ = dry_run(recipe, "generate", work)

    generates = commands_of(commands, "fairseq-generate")
    assert [option(command, "--path") for command in generates] == [
        str(work / "mle" / "checkpoint_best.pt"), str(work / "ami" / "checkpoint_last.pt")
    ]
    assert [command[-1] for command in generates] == [
        ">" + str(work / "generate" / "mle.test.log"), ">" + str(work / "generate" / "ami.test.log")
    ]
    for command in generates:
        assert option(command, "--gen-subset") == "test"
        assert option(command, "--post-process") == "sentencepiece"
        assert "--cpu" in command
        for name in ("--beam", "--lenpen", "--no-repeat-ngram-size", "--max-len-b", "--min-len"):
            assert float(option(command, name)) > 0


def test_generate_selected_systems(work):
    commands, _ = dry_run("gigaword", "generate", work, SYSTEMS="ami")

    assert len(commands_of(commands, "fairseq-generate")) == 1


@pytest.mark.parametrize("recipe", DIALOGUE)
def test_rerank_tunes_on_valid(recipe, work):
    commands, _ = dry_run(recipe, "generate", work, RERANK=1, SYSTEMS="ami")

    subsets = [option(command, "--gen-subset") for command in commands_of(commands, "fairseq-generate")]
    assert subsets == ["test", "valid", "test"]
    assert all("--nbest" in command for command in commands_of(commands, "fairseq-generate")[1:])
    (rerank,) = commands_of(commands, "ami-rerank")
    assert rerank[1] == str(work / "generate" / "ami.test.nbest.log")
    assert option(rerank, "--tune-on") == str(work / "generate" / "ami.valid.nbest.log")
    assert option(rerank, "--spm-model") == str(work / "data" / "spm" / "sentencepiece.model")
    assert option(rerank, "--output") == str(work / "generate" / "ami+rerank.test.log")


def test_rerank_with_fixed_weights(work):
    commands, _ = dry_run("personachat", "generate", work, RERANK=1, RERANK_LAMBDA=0.5, RERANK_GAMMA=0.1, SYSTEMS="mle")

    subsets = [option(command, "--gen-subset") for command in commands_of(commands, "fairseq-generate")]
    assert subsets == ["test", "test"]
    (rerank,) = commands_of(commands, "ami-rerank")
    assert option(rerank, "--lambda") == "0.5"
    assert option(rerank, "--gamma") == "0.1"
    assert "--tune-on" not in rerank


def test_rerank_rejected_for_summarization(work):
    result = run_step("gigaword", "generate", "--dry-run", work_dir=work, RERANK=1)

    assert result.returncode == 1
    assert "dialogue recipes only" in result.stderr


@pytest.mark.parametrize("recipe", RECIPES)
def test_evaluate_command(recipe, work):
    commands, _ = dry_run(recipe, "evaluate", work)

    (evaluate,) = commands_of(commands, "ami-evaluate")
    assert option(evaluate, "--task-type") == ("dialogue" if recipe in DIALOGUE else "summarization")
    assert option(evaluate, "--json") == str(work / "report.json")
    assert evaluate[-1] == ">" + str(work / "report.md")
    reference = option(evaluate, "--ref")
    if recipe == "cnndm":
        assert reference == str(work / "data" / "raw" / "test.summary.txt")
        hypotheses = commands_of(commands, "ami.data.cnndm")
        assert [option(command, "--out") for command in hypotheses] == [
            str(work / "generate" / "mle.test.hyp"), str(work / "generate" / "ami.test.hyp")
        ]
        assert evaluate.count("--hyp") == 2
    else:
        assert reference == str(work / "data" / "raw" / "test.tgt")
        logs = evaluate[evaluate.index("--generate-log") + 1:evaluate.index("--name")]
        assert logs == [str(work / "generate" / "mle.test.log"), str(work / "generate" / "ami.test.log")]


def test_evaluate_includes_reranked_systems(work):
    commands, _ = dry_run("dailydialog", "evaluate", work, RERANK=1)

    (evaluate,) = commands_of(commands, "ami-evaluate")
    names = [evaluate[index + 1] for index, word in enumerate(evaluate) if word == "--name"]
    assert names == ["mle", "ami", "mle+rerank", "ami+rerank"]


# ---------------------------------------------------------------------------
# The printed commands are valid for fairseq
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fairseq_options():
    from fairseq import options

    return options


def parse_with_fairseq(fairseq_options, command):
    arguments = fairseq_part(command)
    if command[0] == "fairseq-generate":
        parser = fairseq_options.get_generation_parser()
        arguments = [word for word in arguments if not word.startswith(">")]
    else:
        parser = fairseq_options.get_training_parser()
    return fairseq_options.parse_args_and_arch(parser, input_args=arguments)


@pytest.mark.parametrize("recipe", RECIPES)
def test_fairseq_accepts_commands(recipe, work, fairseq_options):
    for step, program in (("train_mle", "fairseq-train"), ("train_ami", "fairseq-train"), ("generate", "fairseq-generate")):
        commands, _ = dry_run(recipe, step, work)
        for command in commands_of(commands, program):
            args = parse_with_fairseq(fairseq_options, command)
            assert args.task == "ami"


def test_fairseq_accepts_distributed_and_lstm_commands(work, fairseq_options):
    commands, _ = dry_run("personachat", "train_ami", work, NGPUS=8, NNODES=2, NODE_RANK=1, MASTER_ADDR="node0",
                          PRECISION="fp16", ARCH_FAMILY="lstm")

    args = parse_with_fairseq(fairseq_options, commands_of(commands, "torchrun")[0])
    assert args.distributed_world_size == 16
    assert args.ddp_backend == "legacy_ddp"
    assert args.fp16 and args.fp16_no_flatten_grads
    assert args.arch == "ami_lstm_small"


# ---------------------------------------------------------------------------
# YAML configs for fairseq-hydra-train
# ---------------------------------------------------------------------------

# Command-line options that do not belong in the YAML (paths, device, launcher).
NOT_IN_YAML = {"--user-dir", "--save-dir", "--tensorboard-logdir", "--finetune-from-model", "--cpu"}
# YAML keys that the single-process fp32 command does not repeat.
NOT_ON_COMMAND_LINE = {"data", "save_dir", "finetune_from_model", "user_dir", "fp16_no_flatten_grads", "ddp_backend", "cpu"}
NAMED_COMPONENTS = {"--task": "task", "--criterion": "criterion", "--optimizer": "optimizer",
                    "--lr-scheduler": "lr_scheduler", "--arch": "model"}


def yaml_leaves(config):
    """Yield (section, key, value) for every key below the top-level sections."""
    for section, values in config.items():
        for key, value in (values or {}).items():
            yield section, key, value


def same_value(flag_value, yaml_value):
    if isinstance(yaml_value, list):
        yaml_value = yaml_value[0] if len(yaml_value) == 1 else yaml_value
    if isinstance(yaml_value, bool) or flag_value is True:
        return flag_value is True and yaml_value is True
    try:
        return float(flag_value) == float(yaml_value)
    except (TypeError, ValueError):
        return str(flag_value) == str(yaml_value)


@pytest.mark.parametrize("recipe", RECIPES)
@pytest.mark.parametrize("kind", ("mle", "ami"))
def test_yaml_matches_script_defaults(recipe, kind, work):
    config = yaml.safe_load((REPO / "recipes" / recipe / f"{kind}.yaml").read_text(encoding="utf-8"))
    commands, _ = dry_run(recipe, f"train_{kind}", work)
    flags = flag_values(fairseq_part(commands_of(commands, "fairseq-train")[0]))
    leaves = {key: (section, value) for section, key, value in yaml_leaves(config) if key != "_name"}

    for flag, value in flags.items():
        if flag in NOT_IN_YAML:
            continue
        if flag in NAMED_COMPONENTS:
            assert config[NAMED_COMPONENTS[flag]]["_name"] == value, flag
            continue
        key = flag[2:].replace("-", "_")
        assert key in leaves, f"{flag} {value} of train_{kind}.sh is missing from {kind}.yaml"
        assert same_value(value, leaves[key][1]), f"{flag}: script {value}, {kind}.yaml {leaves[key][1]}"

    for key, (section, value) in leaves.items():
        if key in NOT_ON_COMMAND_LINE:
            continue
        assert "--" + key.replace("_", "-") in flags, f"{section}.{key} of {kind}.yaml is not set by train_{kind}.sh"


# ---------------------------------------------------------------------------
# A real prepare.sh run
# ---------------------------------------------------------------------------

WORDS = (
    "we study parsing tagging translation summarization of scientific papers with neural models "
    "and report that the proposed method improves accuracy speed and robustness on benchmark data"
).split()


def invented_record(index):
    """An ACLSum-format record with text made up from WORDS."""
    abstract = [" ".join(WORDS[(index + offset) % len(WORDS)] for offset in range(start, start + 12)) + " ."
                for start in (0, 12)]
    outcome = " ".join(WORDS[(3 * index + offset) % len(WORDS)] for offset in range(10)) + "."
    return json.dumps({
        "id": f"X{index}", "title": f"Paper {index}",
        "summary": {"challenge": "c.", "approach": "a.", "outcome": outcome},
        "sentences": {"abstract": abstract, "introduction": [], "conclusion": []},
        "highlights": {}, "heuristic_highlights": {},
    })


def test_aclsum_demo_prepare_runs(tmp_path, work):
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    for name, indices in (("train", range(12)), ("val", range(12, 15)), ("test", range(15, 18))):
        (dataset / f"{name}.jsonl").write_text("".join(invented_record(i) + "\n" for i in indices), encoding="utf-8")

    first = run_step("aclsum_demo", "prepare", "--from", str(dataset), work_dir=work, VOCAB_SIZE=40)
    second = run_step("aclsum_demo", "prepare", "--from", str(dataset), work_dir=work, VOCAB_SIZE=40)

    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert (work / "data" / "bin" / "dict.src.txt").is_file()
    assert (work / "data" / "bin" / "test.src-tgt.tgt.bin").is_file()
    assert len((work / "data" / "raw" / "train.src").read_text(encoding="utf-8").splitlines()) == 12
    assert second.returncode == 0
    assert "skipping conversion" in second.stdout
    assert "skipping preparation" in second.stdout
