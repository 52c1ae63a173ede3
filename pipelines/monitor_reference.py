"""DVC stage `monitor_reference`: the model's records for the test split, what `emoheal monitor` compares with."""

from _common import stage_params
from emoheal.monitoring.reference import build_reference

if __name__ == "__main__":
    params = stage_params(__doc__)
    meta = build_reference(params)
    print(f"reference: {meta['n']} {meta['split']} records from model {meta['model_version']}; neutral share "
          f"{meta['neutral_share']:.3f}, mean confidence {meta['mean_confidence']:.3f}, "
          f"crisis rate {meta['crisis_rate']:.4f}")
