"""One schema idiom for every parameter block: unknown keys refused by name, defaults in the
schema only, conf/fvc a delta over conf/base, typed blocks for the nodes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from kedro.config import OmegaConfigLoader

from aura.config import ConfigError, UnknownKeyError, plain
from aura.executor import ExecutorConfig
from aura.parameters import AuraConfig, resolve
from aura.pipelines.config import ScalingConfig
from aura.settings import CONFIG_LOADER_ARGS
from aura.tracking import config_hash
from aura.training.fit import TrainConfig
from tests.conftest import REPO

#: The least a project config must state (everything else has a default).
MINIMAL: dict[str, Any] = {
    "corpus": {"kind": "demo", "root": "data/01_raw/demo"},
    "augmentation": {"output_dir": "data/aug"},
    "scaling": {"output_dir": "data/scaled"},
}
#: A kedro start here takes 12-25 s (imports included, machine shared); 3x the worst plus headroom.
CLI_TIMEOUT_S = 240


def _with(**blocks: dict[str, Any]) -> dict[str, Any]:
    return {**MINIMAL, **{k: {**MINIMAL.get(k, {}), **v} for k, v in blocks.items()}}


def _raw(env: str) -> dict[str, Any]:
    loader = OmegaConfigLoader(str(REPO / "conf"), **{**CONFIG_LOADER_ARGS, "default_run_env": env})
    return loader["parameters"]


# --- the idiom ---------------------------------------------------------------------------------


def test_the_issue_typos_are_refused_by_name_with_the_closest_key() -> None:
    with pytest.raises(UnknownKeyError) as info:
        resolve(_with(scaling={"target_sise": 64}, training={"n_fodls": 3}))
    message = str(info.value)
    assert "scaling.target_sise: unknown key; did you mean scaling.target_size?" in message
    assert "training.n_fodls: unknown key; did you mean training.n_folds?" in message
    assert isinstance(info.value, ValueError) and len(info.value.problems) == 2


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"scalng": {}}, "scalng: unknown key; did you mean scaling?"),
        ({"executor": {"worker": 2}}, "executor.worker: unknown key; did you mean executor.workers?"),
        ({"corpus": {"kind": "demo", "root": "r", "demo": {"seeed": 1}}}, "corpus.demo.seeed: unknown key; did you mean corpus.demo.seed?"),
        ({"ingest": {"max_pixel": 10}}, "ingest.max_pixel: unknown key; did you mean ingest.max_pixels?"),
        ({"augmentation": {"ops": {"blur": {"sigmaa": [1, 2]}}}}, "augmentation.ops.blur.sigmaa: unknown key; did you mean augmentation.ops.blur.sigma?"),
        ({"features": {"num_frame": 8}}, "features.num_frame: unknown key; did you mean features.num_frames?"),
        ({"scaled_features": {"prefx": "x"}}, "scaled_features.prefx: unknown key; did you mean scaled_features.prefix?"),
        ({"evaluation": {"treshold": 0.4}}, "evaluation.treshold: unknown key; did you mean evaluation.threshold?"),
        ({"training": {"trainer": {"max_epoch": 1}}}, "training.trainer.max_epoch: unknown key; did you mean training.trainer.max_epochs?"),
        ({"training": {"model_params": {"svn": {}}}}, "training.model_params.svn: unknown key; did you mean training.model_params.svm?"),
        ({"training": {"model_params": {"svm": {"c": 1}}}}, "training.model_params.svm.c: unknown key; did you mean training.model_params.svm.C?"),
        ({"training": {"model_params": {"x3d": {"varient": "S"}}}}, "training.model_params.x3d.varient: unknown key; did you mean training.model_params.x3d.variant?"),
        ({"training": {"model_params": {"slowfast": {"trainer": {"precison": "32-true"}}}}}, "training.model_params.slowfast.trainer.precison: unknown key; did you mean training.model_params.slowfast.trainer.precision?"),
        ({"training": {"models": ["svn"]}}, "training.models has unknown model(s) ['svn']; did you mean svm?"),
    ],
)  # fmt: skip
def test_every_block_refuses_unknown_keys(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve(_with(**params))
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"scaling": {"target_size": 63}}, "scaling.target_size must be an even number >= 16, got 63"),
        ({"scaling": {"method": "bicubic"}}, "scaling.method must be one of 'letterbox' or 'autoencoder', got 'bicubic'"),
        ({"evaluation": {"threshold": 2}}, "evaluation.threshold must be <= 1, got 2"),
        ({"training": {"n_folds": "two"}}, "training.n_folds must be an integer, got 'two'"),
        ({"training": {"trainer": {"batch_size": 3}}}, "training.trainer.batch_size must be even with balanced_batches"),
        ({"training": {"model_params": {"r3d18_inception": {"trainer": {"batch_size": 5}}}}}, "training.model_params.r3d18_inception.trainer.batch_size must be even"),
        ({"training": {"model_params": {"vit_gru": {"pretrained": "maybe"}}}}, "training.model_params.vit_gru.pretrained must be true, false or 'auto', got 'maybe'"),
        ({"training": {"model_params": {"naive_cnn": {"width": "wide"}}}}, "training.model_params.naive_cnn.width must be an integer, got 'wide'"),
        ({"executor": {"workers": True}}, "executor.workers must be a number, not true"),
        ({"corpus": {"kind": "demo", "root": "r", "extra_labels": {"parody": "keep"}}}, "corpus.extra_labels.parody must be one of 'real', 'fake' or 'exclude'"),
        ({"scaling": {"output_dir": None}}, "scaling.output_dir is required"),
    ],
)  # fmt: skip
def test_bad_values_are_named_by_their_path(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve(_with(**params))
    assert message in str(info.value)


def test_a_block_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError, match="training must be a mapping of settings, got 5"):
        resolve({**MINIMAL, "training": 5})


def test_command_line_strings_are_read_as_values() -> None:
    """`--params` hands over YAML-typed values, but API callers and env files give strings."""
    config = resolve(
        _with(
            executor={"backend": "Processes", "workers": "3", "progress": "false"},
            scaling={"target_size": "64"},
            augmentation={"max_side": "null", "k": "2"},
            training={"n_folds": "3", "trainer": {"deterministic": "warn", "lr": "1e-3"}},
        )
    )
    assert config.executor == ExecutorConfig(backend="processes", workers=3, progress=False)
    assert config.scaling.target_size == 64 and config.augmentation.max_side is None
    assert (config.augmentation.k, config.training.n_folds) == (2, 3)
    assert config.training.trainer.deterministic == "warn" and config.training.trainer.lr == 1e-3


def test_lists_from_the_command_line_use_semicolons() -> None:
    """kedro's ``--params`` splits on every comma, so ``a;b`` (or ``[a;b]``) gives a list."""
    config = resolve(
        _with(
            training={"models": "svm;naive_cnn"},
            release={"models": "[svm; naive_cnn]"},
            evaluation={"robustness": {"perturbations": "crf30"}},
        )
    )
    assert config.training.models == ("svm", "naive_cnn") == config.release.models
    assert config.evaluation.robustness.perturbations == ("crf30",)
    with pytest.raises(ConfigError, match=r"training.models.*svn"):
        resolve(_with(training={"models": "svn;naive_cnn"}))


def test_left_out_blocks_and_keys_get_the_schema_defaults() -> None:
    config = resolve(MINIMAL)
    assert set(config.blocks()) == set(AuraConfig.model_fields)
    assert config.scaling == ScalingConfig(output_dir="data/scaled")
    assert config.training.trainer == TrainConfig()
    # every listed model has its settings, typed by its own family's schema
    assert set(config.training.model_params) == set(config.training.models)
    svm = config.training.model_params["svm"]
    assert (type(svm).__name__, svm.C, svm.calibration_folds) == ("SvmSettings", 0.1, 3)
    assert config.training.model_params["x3d"].variant == "M"
    # a deep model's loop: training.trainer + its own overrides, seeded per fold
    tuned = resolve(_with(training={"model_params": {"x3d": {"trainer": {"clip_size": 64}}}}))
    loop = tuned.training.trainer_for("x3d", fold=2)
    assert (loop.clip_size, loop.seed, loop.num_frames) == (64, 2, TrainConfig().num_frames)


def test_resolved_values_round_trip_and_hash_stably() -> None:
    config = resolve(_raw("base"))
    again = resolve(config.to_params())
    assert again == config and again.hash() == config.hash()
    assert resolve({**config.blocks()}) == config  # typed blocks are accepted as they are
    # the MLflow tag and the report's "Config hash" (over Kedro's `parameters`) agree
    assert config.hash() == config_hash(plain(config.blocks()))
    assert resolve(_with(evaluation={"threshold": 0.4})).hash() != resolve(MINIMAL).hash()


# --- where the values live ---------------------------------------------------------------------


def _leaves(tree: dict[str, Any], path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Paths of the values a config file states (an empty ``{}`` block states none)."""
    out = []
    for key, value in tree.items():
        if isinstance(value, dict):
            out += _leaves(value, (*path, key))
        else:
            out.append((*path, key))
    return out


def _replaced(tree: dict[str, Any], path: tuple[str, ...], source: dict[str, Any]) -> dict:
    """``tree`` with the value at ``path`` taken from ``source`` (dropped if ``source`` lacks it)."""
    copy, origin = json.loads(json.dumps(tree)), source
    node = copy
    for key in path[:-1]:
        node, origin = node[key], origin.get(key, {}) if isinstance(origin, dict) else {}
    if isinstance(origin, dict) and path[-1] in origin:
        node[path[-1]] = origin[path[-1]]
    else:
        del node[path[-1]]
    return copy


def test_conf_base_states_only_values_that_differ_from_the_defaults() -> None:
    """Leaving out any value conf/base states changes the resolved config (or is refused, for
    the few required ones): base restates no default, so defaults live in one place."""
    raw = _raw("base")
    full = resolve(raw)
    for path in _leaves(raw):
        try:
            reduced = resolve(_replaced(raw, path, {}))
        except ConfigError:
            continue  # required: corpus.kind / corpus.root / output_dir
        assert reduced != full, f"conf/base restates the default of {'.'.join(path)}"


@pytest.mark.parametrize("env", ["fvc", "demo_full"])
def test_conf_envs_state_only_what_differs_from_base(env: str) -> None:
    """Each value of conf/<env> changes the resolved `--env <env>` config: it is a delta, merged
    key by key over conf/base, not a second copy of it."""
    base, merged = _raw("base"), _raw(env)
    full = resolve(merged)
    delta: dict[str, Any] = {}
    for path in sorted((REPO / "conf" / env).glob("parameters*.yml")):
        delta.update(yaml.safe_load(path.read_text()))
    assert _leaves(delta)
    for path in _leaves(delta):
        try:
            without = resolve(_replaced(merged, path, base))
        except ConfigError:
            continue  # base's value does not even fit the rest of the fvc setup
        assert without != full, f"conf/{env} restates {'.'.join(path)}"


# --- through Kedro -----------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A throw-away copy of the project config (the package itself is installed editable)."""
    dest = tmp_path / "aura"
    dest.mkdir()
    for name in ("pyproject.toml", ".telemetry"):
        shutil.copy(REPO / name, dest / name)
    shutil.copytree(REPO / "conf" / "base", dest / "conf" / "base")
    shutil.copytree(REPO / "conf" / "fvc", dest / "conf" / "fvc")
    (dest / "conf" / "local").mkdir()
    (dest / "src").mkdir()
    return dest


def _run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "COLUMNS": "250"}
    return subprocess.run(
        [sys.executable, *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


@pytest.mark.slow
def test_kedro_run_stops_on_a_typo_before_any_node(project: Path) -> None:
    out = _run(
        project, "-m", "kedro", "run", "--params", "scaling.target_sise=64,training.n_fodls=3"
    )
    log = out.stdout + out.stderr
    assert out.returncode != 0
    assert "scaling.target_sise: unknown key; did you mean scaling.target_size?" in log
    assert "training.n_fodls: unknown key; did you mean training.n_folds?" in log
    assert "Running node" not in log and not (project / "data").exists()


_SESSION = """
import json, sys
from pathlib import Path
from click.testing import CliRunner
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

bootstrap_project(Path.cwd())
with KedroSession.create(env="fvc") as session:
    catalog = session.load_context().catalog
    load = catalog.load
    out = {
        "scaling": type(load("params:scaling")).__name__,
        "target_size": load("params:scaling.target_size"),
        "threshold": load("params:evaluation.threshold"),
        "svm": type(load("params:training.model_params.svm")).__name__,
        "trainer": type(load("params:training.trainer")).__name__,
        "num_frames": load("params:training.trainer").num_frames,
        "corpus": [load("params:corpus").kind, load("params:corpus").root],
        "seed": load("params:training.seed"),
    }
from aura.console import main
shown = CliRunner().invoke(
    main, ["config", "training.trainer", "--env", "fvc", "--params", "training.trainer.lr=0.01"]
)
bad = CliRunner().invoke(main, ["config", "--params", "evaluation.treshold=0.2"])
out["shown"], out["bad"] = shown.output, [bad.exit_code, bad.output]
print("RESULT" + json.dumps(out))
"""


@pytest.mark.slow
def test_nodes_get_typed_blocks_with_defaults(project: Path) -> None:
    """conf/base states no `scaling.target_size` nor `evaluation.threshold`: the catalog still
    has them, as values of typed blocks; `--env fvc` merges over base; `aura config` shows the
    resolved values and names a typo."""
    out = _run(project, "-c", _SESSION)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.split("RESULT", 1)[1])
    assert result["scaling"] == "ScalingConfig" and result["target_size"] == 112
    assert result["threshold"] == 0.5 and result["seed"] == 0
    assert (result["svm"], result["trainer"]) == ("SvmSettings", "TrainConfig")
    assert result["num_frames"] == 16 and result["corpus"] == ["fvc", "/data/fvc"]
    assert "lr: 0.01" in result["shown"] and "max_epochs: 30" in result["shown"]
    code, message = result["bad"]
    assert (
        code != 0
        and "evaluation.treshold: unknown key; did you mean evaluation.threshold?" in message
    )
