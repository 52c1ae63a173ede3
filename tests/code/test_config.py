import pytest
import yaml

from tests.helpers import ROOT, compose


def test_default_profile_is_offline_minilm_on_cpu():
    params = compose()
    assert params["profile"] == "quickstart"
    assert params["backbone"]["name"] == "minilm" and params["backbone"]["pooling"] == "mean"
    assert params["trainer"]["accelerator"] == "cpu"


def test_params_yaml_in_git_is_the_composed_default():
    """dvc repro reads params.yaml: it must match what conf/ composes (make params)."""
    committed = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert committed == compose()


def test_paper_profile_is_xlmr_base_bf16_on_gpu():
    params = compose("profile=paper")
    assert params["backbone"]["name"] == "xlmr_base" and params["backbone"]["max_length"] == 128
    assert params["backbone"]["pooling"] == "cls"
    assert params["trainer"]["accelerator"] == "gpu" and params["trainer"]["precision"] == "bf16-mixed"


def test_ci_profile_is_tiny_and_small():
    params = compose("profile=ci")
    assert params["backbone"]["source"] == "tiny"
    assert all(0 < n <= 2000 for n in params["data"]["limit"].values())


def test_command_line_group_choice_beats_the_profile():
    assert compose("profile=ci", "backbone=minilm")["backbone"]["name"] == "minilm"


@pytest.mark.parametrize("group, options", [
    ("backbone", ["minilm", "xlmr_base", "xlmr_large", "tiny"]),
    ("trainer", ["cpu", "gpu", "ddp"]),
    ("profile", ["quickstart", "paper", "ci"]),
])
def test_every_option_composes(group, options):
    for option in options:
        assert compose(f"{group}={option}")


def test_ddp_trainer_runs_two_processes():
    trainer = compose("trainer=ddp")["trainer"]
    assert trainer["strategy"] == "ddp" and trainer["devices"] == 2
