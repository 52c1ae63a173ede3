"""DVC stage `error_analysis`: where the emotion model fails, on dev only (an HTML report)."""

from _common import stage_params
from emoheal.emotion.error_stage import error_analysis

if __name__ == "__main__":
    params = stage_params(__doc__)
    path, counts = error_analysis(params)
    print(f"wrote {path}: " + ", ".join(f"{name} {n}" for name, n in counts.items()))
