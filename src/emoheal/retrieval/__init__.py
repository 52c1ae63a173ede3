"""Retrieval: one item per session stage from the corpus index, scored against the stage's
targets. Consumes plans (from `kg`), never text."""
