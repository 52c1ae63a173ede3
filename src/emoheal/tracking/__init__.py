"""MLflow tracking: where runs go, and the registered emotion model."""
