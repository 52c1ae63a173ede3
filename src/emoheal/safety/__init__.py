"""Safety first: a crisis screen that runs before anything else. Text that signals risk of
self-harm gets an acknowledgement, encouragement to reach a person and crisis resources —
not a music session. Only counters are logged, never text."""
