"""Music and text encoders for retrieval. CLaMP 3 (text, audio via MERT, symbolic) lives in
`clamp3`; nothing here downloads weights: every model comes from a local path."""
