"""The registry workflow on `emoheal-emotion`: aliases `champion` (what `make bento` serves) and
`challenger` (the newest candidate). Registration assigns them; `promote` compares the two on
the test metrics recorded by their evaluation runs and moves `champion` only when the
challenger is better by a margin, on the same test data — or says why not."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

CHAMPION, CHALLENGER = "champion", "challenger"


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
    margin: float
    champion_version: str | None = None
    challenger_version: str | None = None
    champion_value: float | None = None
    challenger_value: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _version(client: Any, name: str, alias: str):
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def _metric(client: Any, version, metric: str) -> float | None:
    value = client.get_run(version.run_id).data.metrics.get(metric) if version.run_id else None
    return None if value is None else float(value)


def promote(client: Any, name: str, metric: str = "test.macro_f1", margin: float = 0.005,
            dry_run: bool = False) -> Promotion:
    """Move `champion` to the challenger when challenger[metric] >= champion[metric] + margin and both
    were evaluated on the same data (their `data_hash` tags); otherwise leave everything as it is."""
    result = Promotion(False, "", metric, margin)
    champion, challenger = _version(client, name, CHAMPION), _version(client, name, CHALLENGER)
    if champion is None:
        result.reason = f"{name} has no {CHAMPION!r} version: register one first (`make run`)"
        return result
    result.champion_version = str(champion.version)
    if challenger is None:
        result.reason = f"{name} has no {CHALLENGER!r} version: train and evaluate a new model first"
        return result
    result.challenger_version = str(challenger.version)
    if challenger.version == champion.version:
        result.reason = f"version {champion.version} is already the champion"
        return result
    data = champion.tags.get("data_hash"), challenger.tags.get("data_hash")
    if not all(data) or data[0] != data[1]:
        result.reason = (f"not comparable: the champion was evaluated on data {data[0]} and the challenger on "
                         f"{data[1]} (rerun the challenger's evaluation on the champion's data)")
        return result
    result.champion_value, result.challenger_value = _metric(client, champion, metric), _metric(client, challenger,
                                                                                                   metric)
    if result.champion_value is None or result.challenger_value is None:
        result.reason = f"{metric} is missing from a version's run: rerun its evaluate stage"
        return result
    gain = result.challenger_value - result.champion_value
    if gain < margin:
        result.reason = (f"challenger v{challenger.version} {metric} {result.challenger_value:.4f} vs champion "
                         f"v{champion.version} {result.champion_value:.4f}: {gain:+.4f} is below the margin "
                         f"{margin:+.4f}; the champion stays")
        return result
    result.promoted = True
    result.reason = (f"challenger v{challenger.version} {metric} {result.challenger_value:.4f} beats champion "
                     f"v{champion.version} {result.champion_value:.4f} by {gain:+.4f} (margin {margin})")
    if not dry_run:
        client.set_registered_model_alias(name, CHAMPION, challenger.version)
        client.delete_registered_model_alias(name, CHALLENGER)
        client.set_model_version_tag(name, challenger.version, "promoted_over", str(champion.version))
    return result
