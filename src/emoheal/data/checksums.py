"""Verify a data folder against its SHA256SUMS file before anything reads it."""

from __future__ import annotations

from pathlib import Path

from emoheal.utils.hashing import sha256_file


class ChecksumError(RuntimeError):
    """A raw data file is missing or differs from the recorded checksum."""


def read_sums(folder: Path) -> dict[str, str]:
    sums_file = folder / "SHA256SUMS"
    if not sums_file.is_file():
        raise ChecksumError(f"{sums_file} is missing: cannot verify the raw data")
    sums: dict[str, str] = {}
    for lineno, line in enumerate(sums_file.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or len(parts[0]) != 64:
            raise ChecksumError(f"{sums_file}:{lineno}: malformed line")
        sums[parts[1].lstrip("*").strip()] = parts[0].lower()
    return sums


def verify_folder(folder: str | Path) -> dict[str, str]:
    """Check every listed file; return {name: sha256}. Raises on any mismatch."""
    folder = Path(folder)
    sums = read_sums(folder)
    problems = []
    for name, expected in sums.items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif (actual := sha256_file(path)) != expected:
            problems.append(f"{path}: sha256 {actual[:12]}… expected {expected[:12]}…")
    if problems:
        raise ChecksumError("raw data failed verification:\n  " + "\n  ".join(problems))
    return sums
