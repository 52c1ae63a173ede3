"""Retrieval: a session's music from the corpus index — each stage a sequence of tracks that
follows the plan's per-minute path (`sequence`), or one item per stage (`assemble`, the baseline),
scored against the stage's targets. Consumes plans (from `kg`), never text."""
