"""Packaging for serving: the MLflow registry's champion model, the compiled graph, the
retrieval index and its media, imported into the BentoML model store."""
