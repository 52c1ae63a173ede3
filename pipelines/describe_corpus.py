"""DVC stage `describe_corpus`: tempo, key and mode, loudness, brightness, onset density and
register for every corpus item (and per 5-second window), checked against the scores of
the rendered clips."""

from _common import stage_params
from emoheal.corpus.describe import DescribeSettings
from emoheal.corpus.descriptors import describe_manifest, write_table
from emoheal.corpus.manifest import read_manifest
from emoheal.corpus.score_check import compare, score_table
from emoheal.utils.io import write_json

if __name__ == "__main__":
    params = stage_params(__doc__)
    corpus, root = params["corpus"], params["paths"]["corpus"]
    manifest = read_manifest(f"{root}/manifest.parquet")
    items, windows, report = describe_manifest(manifest, DescribeSettings(**corpus["describe"]), corpus["workers"])
    write_table(items, f"{root}/descriptors.parquet")
    write_table(windows, f"{root}/windows.parquet")
    scores = score_table(manifest)
    write_table(scores, f"{root}/scores.parquet")
    check = compare(items, scores, manifest) if len(scores) else {"items": 0}
    write_json(f"{root}/describe_report.json", {**report, "score_check": check})
    print(f"{report['items']} items described; vs the scores: {check}")
