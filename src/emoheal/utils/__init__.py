"""Small helpers shared by every sub-package (hashing, config I/O, git)."""
