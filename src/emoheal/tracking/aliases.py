"""The registry workflow on `emoheal-emotion`: aliases `champion` (what `make bento` serves) and
`challenger` (the newest candidate). Registration assigns them; `promote` compares the two on
the test predictions their evaluation runs logged, with a paired bootstrap over the same test rows,
and moves `champion` only when the lower bound of the challenger's gain is above zero — a gain
within the test set's noise (about +-0.01 macro-F1 on GoEmotions) is not progress — or says why not."""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from typing import Any

from emoheal.emotion.metrics import f1_summary
from emoheal.tracking.predictions import ARTIFACT_DIR, FILE_NAME, TestPredictions, read_predictions

CHAMPION, CHALLENGER = "champion", "challenger"
METRICS = ("macro_f1", "micro_f1")


def assign_on_register(client: Any, name: str, version: str) -> list[str]:
    """The first version becomes champion (there is always one to serve); every later one becomes
    the challenger, replacing the previous challenger. Only `promote` changes the champion."""
    alias = CHALLENGER if CHAMPION in client.get_registered_model(name).aliases else CHAMPION
    client.set_registered_model_alias(name, alias, version)
    return [alias]


@dataclass
class Promotion:
    promoted: bool
    reason: str
    metric: str
    confidence: float
    resamples: int
    champion_version: str | None = None
    challenger_version: str | None = None
    champion_value: float | None = None
    challenger_value: float | None = None
    gain: float | None = None
    gain_low: float | None = None
    gain_high: float | None = None
    override: str | None = None  # why a person promoted the challenger although the comparison did not

    def to_dict(self) -> dict:
        return asdict(self)

    def interval_text(self) -> str:
        return (f"{self.metric} {self.challenger_value:.4f} vs {self.champion_value:.4f}: gain {self.gain:+.4f}, "
                f"{self.confidence:.0%} interval [{self.gain_low:+.4f}, {self.gain_high:+.4f}] "
                f"(paired bootstrap, {self.resamples} resamples of the test rows)")


def _version(client: Any, name: str, alias: str):
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def _predictions(client: Any, version) -> TestPredictions | None:
    """The test predictions its evaluation logged, or None (an evaluation from before they were)."""
    from mlflow.exceptions import MlflowException

    if not version.run_id:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(version.run_id, f"{ARTIFACT_DIR}/{FILE_NAME}", tmp)
        except (MlflowException, OSError):
            return None
        return read_predictions(path)


def promote(client: Any, name: str, metric: str = "macro_f1", confidence: float = 0.95, resamples: int = 2000,
            seed: int = 0, dry_run: bool = False, override: str | None = None) -> Promotion:
    """Move `champion` to the challenger only when the paired bootstrap's lower bound of its gain on
    `metric` (macro_f1 or micro_f1, over the same test rows) is above zero; record the interval
    on the challenger's version either way; or say why nothing could be compared.

    `override` (a person's reason) promotes the challenger whatever the comparison says — e.g. a
    recipe change chosen on dev whose test gain is within noise, or a champion evaluated before test
    predictions were logged; the reason and whatever was measured are recorded on the version."""
    result, champion, challenger = _judge(client, name, metric, confidence, resamples, seed)
    if override and not result.promoted and champion is not None and challenger is not None \
            and challenger.version != champion.version:
        result.promoted, result.override = True, override
        result.reason = (f"challenger v{challenger.version} promoted over v{champion.version} by override "
                         f"({override}); the comparison alone said: {result.reason}")
    if not dry_run and (result.gain is not None or result.override):
        _record(client, name, result)
        if result.promoted:
            client.set_registered_model_alias(name, CHAMPION, challenger.version)
            client.delete_registered_model_alias(name, CHALLENGER)
            client.set_model_version_tag(name, challenger.version, "promoted_over", str(champion.version))
    return result


def _judge(client: Any, name: str, metric: str, confidence: float, resamples: int, seed: int):
    """(the decision the comparison alone supports, the champion's version, the challenger's version)."""
    metric = metric.removeprefix("test.")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    result = Promotion(False, "", metric, confidence, resamples)
    champion, challenger = _version(client, name, CHAMPION), _version(client, name, CHALLENGER)
    versions = (champion, challenger)
    if champion is None:
        result.reason = f"{name} has no {CHAMPION!r} version: register one first (`make run`)"
        return result, *versions
    result.champion_version = str(champion.version)
    if challenger is None:
        result.reason = f"{name} has no {CHALLENGER!r} version: train and evaluate a new model first"
        return result, *versions
    result.challenger_version = str(challenger.version)
    if challenger.version == champion.version:
        result.reason = f"version {champion.version} is already the champion"
        return result, *versions
    data = champion.tags.get("data_hash"), challenger.tags.get("data_hash")
    if not all(data) or data[0] != data[1]:
        result.reason = (f"not comparable: the champion was evaluated on data {data[0]} and the challenger on "
                         f"{data[1]} (rerun the challenger's evaluation on the champion's data)")
        return result, *versions
    ours, theirs = _predictions(client, champion), _predictions(client, challenger)
    missing = [f"v{v.version}" for v, p in ((champion, ours), (challenger, theirs)) if p is None]
    if missing:
        result.reason = (f"no test predictions logged for {' and '.join(missing)} ({ARTIFACT_DIR}/{FILE_NAME}): "
                         "rerun its evaluate stage, which logs them")
        return result, *versions
    if not ours.same_rows_as(theirs):
        result.reason = "not comparable: the two evaluations' test rows or labels differ"
        return result, *versions
    _compare(result, ours, theirs, seed)
    if result.gain_low <= 0:
        result.reason = (f"challenger v{challenger.version} {result.interval_text()}: the gain is within noise or "
                         "negative (its lower bound is not above zero); the champion stays")
    else:
        result.promoted = True
        result.reason = f"challenger v{challenger.version} beats champion v{champion.version}: {result.interval_text()}"
    return result, *versions


def _compare(result: Promotion, champion: TestPredictions, challenger: TestPredictions, seed: int) -> None:
    from emoheal.emotion.bootstrap import bootstrap, interval

    draws = bootstrap(champion.y, {"champion": champion.pred, "challenger": challenger.pred}, result.resamples, seed)
    field = "macro" if result.metric == "macro_f1" else "micro"
    gains = getattr(draws["challenger"], field) - getattr(draws["champion"], field)
    result.champion_value = float(f1_summary(champion.y, champion.pred)[result.metric])
    result.challenger_value = float(f1_summary(challenger.y, challenger.pred)[result.metric])
    result.gain = result.challenger_value - result.champion_value
    result.gain_low, result.gain_high = interval(gains, result.confidence)


def _record(client: Any, name: str, result: Promotion) -> None:
    """The comparison, on the challenger's version: what was measured against which champion."""
    measured = result.gain is not None
    tags = {
        "promotion_compared_with": result.champion_version,
        "promotion_metric": f"test.{result.metric}",
        "promotion_gain": f"{result.gain:.6f}" if measured else "not measured",
        "promotion_interval": f"[{result.gain_low:.6f}, {result.gain_high:.6f}]" if measured else "not measured",
        "promotion_confidence": str(result.confidence),
        "promotion_resamples": str(result.resamples),
        "promotion_decision": ("promoted by override" if result.override else
                               "promoted" if result.promoted else "kept champion"),
    }
    if result.override:
        tags["promotion_override_reason"] = result.override
    for key, value in tags.items():
        client.set_model_version_tag(name, result.challenger_version, key, value)
