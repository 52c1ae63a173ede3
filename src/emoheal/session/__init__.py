"""From words to a session: safety screen → emotion detection → plan → retrieval → narrative."""
