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


def test_ci_profile_is_the_real_backbone_on_small_subsets():
    params = compose("profile=ci")
    assert params["backbone"]["name"] == "minilm" and params["backbone"]["source"] == "package"
    assert all(0 < n <= 5000 for n in params["data"]["limit"].values())


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


def _leaves(tree: dict, prefix: tuple = ()) -> dict:
    """{(key, path, ...): value} for every leaf of a nested mapping (lists are leaves)."""
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            out.update(_leaves(value, (*prefix, key)))
        else:
            out[(*prefix, key)] = value
    return out


def _at(params: dict, path: tuple):
    for key in path:
        params = params[key]
    return params


@pytest.mark.parametrize("profile", sorted(p.stem for p in (ROOT / "conf" / "profile").glob("*.yaml")))
def test_every_key_a_profile_sets_survives_composition(profile):
    """A profile is the last word: each value it sets (a group's key or a root key such as
    evaluate.baseline.max_features), and each group option it picks, is what params.yaml gets."""
    spec = yaml.safe_load((ROOT / "conf" / "profile" / f"{profile}.yaml").read_text())
    params = compose(f"profile={profile}")
    own = _leaves({k: v for k, v in spec.items() if k != "defaults"})
    for path, value in own.items():
        assert _at(params, path) == value, f"profile {profile} sets {'.'.join(path)}={value!r}, composed differs"
    for entry in spec.get("defaults", []):
        (group, option), = entry.items()
        group = group.removeprefix("override /")
        # the option's own file (the default profile may set a group's keys, so composing the option
        # alone is not its file); interpolated values (${oc.env:...} paths) are left to resolution
        chosen = yaml.safe_load((ROOT / "conf" / group / f"{option}.yaml").read_text())
        for path, value in _leaves(chosen, (group,)).items():
            if path not in own and not (isinstance(value, str) and "${" in value):
                assert _at(params, path) == value, f"profile {profile} picks {group}={option}; {'.'.join(path)} differs"


def test_ci_profile_keeps_its_small_baseline():
    assert compose("profile=ci")["evaluate"]["baseline"]["max_features"] == 20000
