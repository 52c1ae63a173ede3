"""DVC stage `train`: fine-tune the emotion encoder (resumes a killed run)."""

import sys

from _common import stage_params
from emoheal.emotion.backbone import BackboneUnavailableError
from emoheal.emotion.train import train_emotion_model

if __name__ == "__main__":
    params = stage_params(__doc__)
    try:
        result = train_emotion_model(params, track=params["tracking"]["enabled"])
    except BackboneUnavailableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    if result.meta:
        print(f"model {result.meta['version']} -> {result.model_dir} "
              f"(steps {result.global_step}, resumed from {result.resumed_from})")
