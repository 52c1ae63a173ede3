"""The audiovisual corpus: EMOPIA rendered to audio, the user's own media ingested, one
manifest for both, and what each clip measurably sounds like."""
