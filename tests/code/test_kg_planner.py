"""The planner's promises, as properties over the 28 one-hot inputs and random mixtures."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emoheal.kg.planner import RANGE_KEYS, PlanInputError, Planner
from emoheal.kg.schema import GEMS_FACTORS, PARAMETERS
from tests.helpers import ROOT

LABELS = (ROOT / "data" / "raw" / "goemotions" / "emotions.txt").read_text().split()
GOALS = ("sleep", "calm", "uplift")
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

probability = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
mixtures = st.dictionaries(st.sampled_from(LABELS), probability, min_size=1, max_size=28)
# how strongly each output may react to a change of input, per unit of probability
# (at least the spread of the field across the graph's emotions and factors)
SCALE = {"valence": 2.0, "arousal": 2.0, "tempo_bpm": 100.0, "mode_major": 1.0, "loudness_lufs": 30.0,
         "articulation_legato": 1.0, "consonance": 1.0, "register_midi": 30.0, "density_onsets_per_s": 10.0,
         "brightness_hz": 4000.0}


def numbers(plan) -> dict[str, float]:
    """Every continuous number of a plan, keyed by stage and field."""
    out = {}
    for s in plan.stages:
        out[f"{s.name}.valence"], out[f"{s.name}.arousal"] = s.valence, s.arousal
        for p in PARAMETERS:
            out[f"{s.name}.{p}"] = s.targets[p]
        for f, w in s.gems_mix.items():
            out[f"{s.name}.gems.{f}"] = w
    return out


def assert_valid(plan, planner: Planner, minutes: float) -> None:
    goal = planner.goals[plan.goal]
    assert [s.name for s in plan.stages] == ["match", "guide", "target"]
    assert [s.order for s in plan.stages] == [1, 2, 3]
    assert math.isclose(sum(s.share for s in plan.stages), 1.0)
    assert math.isclose(sum(s.minutes for s in plan.stages), minutes)
    assert plan.stages[0].start_minute == 0 and plan.stages[-1].end_minute == minutes
    for before, after in zip(plan.stages, plan.stages[1:]):
        assert math.isclose(before.end_minute, after.start_minute)
    for s in plan.stages:
        assert -1 <= s.valence <= 1 and -1 <= s.arousal <= 1
        assert math.isclose(sum(s.gems_mix.values()), 1.0, abs_tol=1e-9) and set(s.gems_mix) == set(GEMS_FACTORS)
        t = s.targets
        assert all(math.isfinite(t[p]) for p in PARAMETERS)
        assert 30 <= t["tempo_bpm"] <= 220 and 0 <= t["mode_major"] <= 1 and 0 <= t["consonance"] <= 1
        assert 21 <= t["register_midi"] <= 108 and t["density_onsets_per_s"] >= 0
        for param, key in RANGE_KEYS.items():
            low, high = t[key]
            assert low <= t[param] + 1e-9 and t[param] <= high + 1e-9, (s.name, param, t[key], t[param])
        assert t["loudness_lufs"] <= goal["loudness_ceiling_lufs"] + 1e-9
        assert t["timbres"] and not set(t["timbres"]) & set(t["avoid_timbres"])
        assert "BPM" in s.prompt and s.explanation["summary"]
    tempos = [s.targets["tempo_bpm"] for s in plan.stages]
    assert all(abs(b - a) <= goal["max_tempo_step_bpm"] + 1e-9 for a, b in zip(tempos, tempos[1:]))
    assert len(plan.path) >= int(minutes) + 1


# ----------------------------------------------------------------------------- properties

@pytest.mark.parametrize("goal", GOALS)
def test_every_one_hot_emotion_gives_a_valid_plan(planner, goal):
    for label in LABELS:
        assert_valid(planner.plan({label: 1.0}, goal, 20), planner, 20)


@PROPERTY
@given(emotions=mixtures, goal=st.sampled_from(GOALS), minutes=st.floats(3, 240))
def test_random_mixtures_give_valid_plans(planner, emotions, goal, minutes):
    assert_valid(planner.plan(emotions, goal, minutes), planner, minutes)


def _never_rises(values: list[float]) -> bool:
    return all(b <= a + 1e-9 for a, b in zip(values, values[1:]))


@PROPERTY
@given(emotions=mixtures, goal=st.sampled_from(("sleep", "calm")))
def test_arousal_and_its_carriers_never_rise_on_the_way_down(planner, emotions, goal):
    plan = planner.plan(emotions, goal)
    assert _never_rises([s.arousal for s in plan.stages])
    for param in ("tempo_bpm", "loudness_lufs", "density_onsets_per_s"):
        assert _never_rises([s.targets[param] for s in plan.stages]), param
    # and minute by minute along the session's path
    for key in ("arousal", "tempo_bpm", "loudness_lufs"):
        assert _never_rises([p[key] for p in plan.path]), key


@PROPERTY
@given(emotions=mixtures)
def test_uplift_never_lowers_arousal(planner, emotions):
    plan = planner.plan(emotions, "uplift")
    assert all(b >= a - 1e-9 for a, b in zip([s.arousal for s in plan.stages], [s.arousal for s in plan.stages][1:]))


@pytest.mark.parametrize("goal", GOALS)
def test_the_target_stage_is_the_same_whatever_the_input(planner, goal):
    reference = planner.plan({"neutral": 1.0}, goal, 20).stage("target").to_dict()
    for emotions in ({"anger": 1.0}, {"joy": 0.9, "love": 0.4}, {"grief": 0.7, "fear": 0.6}, {"neutral": 0.0}):
        assert planner.plan(emotions, goal, 20).stage("target").to_dict() == reference


@PROPERTY
@given(emotions=mixtures, goal=st.sampled_from(GOALS), data=st.data())
def test_small_changes_in_probabilities_give_small_changes_in_the_plan(planner, emotions, goal, data):
    step = 0.002
    nudged = {k: min(1.0, max(0.0, v + data.draw(st.floats(-step, step)))) for k, v in emotions.items()}
    a, b = numbers(planner.plan(emotions, goal)), numbers(planner.plan(nudged, goal))
    change = sum(abs(nudged[k] - emotions[k]) for k in emotions)
    # Each emotion's share of the blend is w / W with w = p - floor (neutral at half weight) and
    # W = sum(w) + neutral prior, so the shares move by at most sum|dp| / W, and every number
    # of the plan (a blend, an interpolation toward a fixed target, or a clamp) by at most
    # that times its spread.
    bound = change / min(_total_weight(planner, emotions), _total_weight(planner, nudged)) + 1e-9
    assert bound <= 2 * len(emotions) * step / planner.settings.neutral_prior + 1e-9  # never unbounded
    for key, value in a.items():
        scale = SCALE.get(key.split(".", 1)[1], 1.0)
        assert abs(b[key] - value) / scale <= bound, (key, value, b[key], change)


def _total_weight(planner, emotions) -> float:
    s = planner.settings
    return s.neutral_prior + sum(max(p - s.floor, 0.0) * (s.neutral_weight if k == "neutral" else 1.0)
                                 for k, p in emotions.items())


def test_one_hot_and_almost_one_hot_agree(planner):
    for label in LABELS:
        a, b = numbers(planner.plan({label: 1.0})), numbers(planner.plan({label: 0.99}))
        assert max(abs(a[k] - b[k]) / SCALE.get(k.split(".", 1)[1], 1.0) for k in a) < 0.02, label


@PROPERTY
@given(emotions=mixtures, goal=st.sampled_from(GOALS))
def test_plans_are_deterministic(planner, emotions, goal):
    first = planner.plan(emotions, goal).to_dict()
    assert planner.plan(dict(reversed(list(emotions.items()))), goal).to_dict() == first
    assert Planner(planner.graph).plan(emotions, goal).to_dict() == first


def test_distinct_emotion_families_give_distinct_match_stages(planner):
    match = {label: planner.plan({label: 0.9}, "sleep").stage("match") for label in ("fear", "anger", "sadness", "joy")}
    names = list(match)
    for i, x in enumerate(names):
        for y in names[i + 1:]:
            a, b = match[x], match[y]
            distance = math.hypot(a.valence - b.valence, a.arousal - b.arousal)
            gems = sum(abs(a.gems_mix[f] - b.gems_mix[f]) for f in GEMS_FACTORS)
            assert distance >= 0.2 or gems >= 0.3, (x, y, distance, gems)
            assert a.prompt != b.prompt
    assert match["joy"].targets["mode_major"] > 0.7 > max(match[k].targets["mode_major"]
                                                          for k in ("fear", "anger", "sadness"))
    assert match["sadness"].targets["tempo_bpm"] < min(match[k].targets["tempo_bpm"] for k in ("fear", "anger", "joy"))
    assert match["anger"].gems_mix["power"] > match["fear"].gems_mix["power"]
    assert match["sadness"].valence < 0 < match["joy"].valence and match["fear"].arousal > match["sadness"].arousal
    top = {k: max(m.gems_mix, key=m.gems_mix.get) for k, m in match.items()}
    assert top == {"fear": "tension", "anger": "tension", "sadness": "sadness", "joy": "joyful_activation"}


def test_a_blend_is_not_winner_takes_all(planner):
    fear, joy = planner.plan({"fear": 0.6}), planner.plan({"joy": 0.6})
    both = planner.plan({"fear": 0.6, "joy": 0.6}).stage("match")
    assert fear.stage("match").valence < both.valence < joy.stage("match").valence
    shares = {e["label"]: e["share"] for e in both.explanation["emotions"]}
    assert math.isclose(shares["fear"], shares["joy"]) and shares["fear"] > 0.4


def test_neutral_dilutes_and_never_dominates(planner, kg_graph):
    node = next(n for n in kg_graph["nodes"] if n["id"] == "emotion:neutral")
    only = planner.plan({"neutral": 1.0}).stage("match")
    assert math.isclose(only.valence, node["valence"]) and math.isclose(only.arousal, node["arousal"])
    mixed = planner.plan({"fear": 0.8, "neutral": 0.8}).stage("match")
    shares = {e["label"]: e["share"] for e in mixed.explanation["emotions"]}
    assert shares["fear"] > shares["neutral"]  # neutral counts at half weight
    faint = planner.plan({"fear": 0.04}).stage("match")  # below the floor: nothing to meet but neutral
    assert math.isclose(faint.valence, node["valence"]) and math.isclose(faint.arousal, node["arousal"])


def test_sleep_plan_for_fear_meets_then_settles(planner):
    plan = planner.plan({"fear": 0.8, "nervousness": 0.4}, "sleep", 20)
    match, guide, target = plan.stages
    assert match.targets["tempo_bpm"] > guide.targets["tempo_bpm"] > target.targets["tempo_bpm"]
    assert 45 <= target.targets["tempo_bpm"] <= 60 and target.targets["mode_major"] >= 0.8
    assert (target.valence, target.arousal) == (0.2, -0.6)
    assert "minor key" in match.prompt and "major key" in target.prompt and "very slow" in target.prompt
    assert (match.minutes, guide.minutes, target.minutes) == (5.0, 10.0, 5.0)
    assert set(target.targets["avoid_timbres"]) >= {"percussion", "brass", "electric_guitar"}
    assert target.targets["timbres"][0] == "ambient_pad"


def test_explanations_point_at_real_edges_and_rules(planner, kg_graph):
    plan = planner.plan({"anger": 0.9, "annoyance": 0.5}, "sleep")
    edges = {(e["from"], e["to"], e["kind"]) for e in kg_graph["edges"]}
    match = plan.stage("match").explanation
    assert match["edges"] and all((e["from"], e["to"], e["kind"]) in edges for e in match["edges"])
    assert all(e["source"] for e in match["edges"])
    assert {e["label"] for e in match["emotions"]} >= {"anger", "annoyance"}
    assert any(r["rule"] == "loudness_ceiling_lufs" for r in match["rules"])  # anger is loud; sleep caps it
    target = plan.stage("target").explanation
    assert all((e["from"], e["to"], e["kind"]) in edges for e in target["edges"])
    guide = plan.stage("guide").explanation
    assert guide["parameters"]["tempo_bpm"]["value"] == plan.stage("guide").targets["tempo_bpm"]
    # each match number is the share-weighted sum over the gems -> param edges it lists
    for param, part in match["parameters"].items():
        left_out = 1 - sum(c["share"] for c in part["from"])  # factors below the explanation's cut
        largest = max(abs(e["value"]) for e in kg_graph["edges"] if e["to"] == f"param:{param}")
        assert math.isclose(part["blend"], sum(c["share"] * c["value"] for c in part["from"]),
                            abs_tol=left_out * largest + 1e-9), param
        assert all(tuple(c["edge"].split(" -> ")) + ("sets",) in edges for c in part["from"])
    loud = match["parameters"]["loudness_lufs"]
    assert loud["value"] < loud["blend"]  # the ceiling's work shows


def test_the_path_is_smooth_and_ends_at_the_stages(planner):
    plan = planner.plan({"nervousness": 0.9}, "sleep", 20)
    assert [p["minute"] for p in plan.path] == list(range(21))
    assert math.isclose(plan.path[0]["tempo_bpm"], plan.stages[0].targets["tempo_bpm"])
    assert math.isclose(plan.path[-1]["tempo_bpm"], plan.stages[-1].targets["tempo_bpm"])
    steps = [abs(b["tempo_bpm"] - a["tempo_bpm"]) for a, b in zip(plan.path, plan.path[1:])]
    assert max(steps) < 12  # no jump: the biggest per-minute change is a fraction of a stage step
    assert plan.path[0]["progress"] == 0 and plan.path[-1]["progress"] == 1


def test_plan_dict_has_the_documented_shape(planner):
    d = planner.plan({"fear": 0.8, "nervousness": 0.4}, "sleep", 20).to_dict()
    assert [s["name"] for s in d["stages"]] == ["match", "guide", "target"]
    stage = d["stages"][0]
    assert {"name", "share", "minutes", "valence", "arousal", "gems_mix", "targets", "prompt",
            "explanation"} <= set(stage)
    assert {"tempo_bpm", "mode_major", "loudness_lufs", "consonance", "register_midi", "density_onsets_per_s",
            "timbres", "tempo_range_bpm"} <= set(stage["targets"])
    assert d["graph_version"].startswith("kg-") and d["goal"] == "sleep" and d["minutes"] == 20


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize(
    ("emotions", "message"),
    [
        ({"feer": 0.8}, "unknown emotion 'feer' (did you mean 'fear'?)"),
        ({"fear": 1.5}, "outside [0, 1]"),
        ({"fear": -0.1}, "outside [0, 1]"),
        ({"fear": float("nan")}, "is NaN"),
        ({"fear": float("inf")}, "outside [0, 1]"),
        ({}, "emotions is empty"),
        ({"fear": "0.8"}, "must be a number, not str"),
        ({"fear": None}, "must be a number, not NoneType"),
        ({"fear": True}, "must be a number, not bool"),
        ({1: 0.5}, "unknown emotion 1"),
        ([("fear", 0.8)], "must be a mapping"),
        ("fear", "must be a mapping"),
        (None, "must be a mapping"),
    ],
)
def test_bad_emotions_are_clear_errors(planner, emotions, message):
    with pytest.raises(PlanInputError) as info:
        planner.plan(emotions, "sleep")
    assert message in str(info.value)


@pytest.mark.parametrize("goal", ["nap", "", "SLEEP", 3])
def test_unknown_goal(planner, goal):
    with pytest.raises(PlanInputError, match="unknown goal"):
        planner.plan({"fear": 0.5}, goal)


@pytest.mark.parametrize("minutes", [0, -5, 2.9, 241, float("nan"), float("inf"), "20", True])
def test_bad_minutes(planner, minutes):
    with pytest.raises(PlanInputError, match="minutes must"):
        planner.plan({"fear": 0.5}, "sleep", minutes)


def test_defaults_come_from_the_compiled_settings(planner):
    plan = planner.plan({"fear": 0.5})
    assert plan.goal == planner.settings.default_goal == "sleep"
    assert plan.minutes == planner.settings.default_minutes == 20


def test_numpy_probabilities_are_accepted(planner):
    import numpy as np

    probs = dict(zip(LABELS, np.linspace(0, 1, len(LABELS), dtype=np.float64)))
    assert planner.plan(probs).to_dict() == planner.plan({k: float(v) for k, v in probs.items()}).to_dict()
