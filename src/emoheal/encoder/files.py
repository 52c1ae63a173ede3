"""Which local files `encoder=clamp3` needs, and what to do when one is missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emoheal.encoder.clamp3.checkpoint import WHERE as CHECKPOINT_WHERE
from emoheal.encoder.mert import WHERE as MERT_WHERE

TOKENIZER_WHERE = ("download the tokenizer files of FacebookAI/xlm-roberta-base (tokenizer.json, or "
                   "sentencepiece.bpe.model with tokenizer_config.json; MIT licence) from "
                   "https://huggingface.co/FacebookAI/xlm-roberta-base and put them in the folder configured as "
                   "encoder.tokenizer (default models/clamp3/xlm-roberta-base)")


class MissingEncoderFiles(FileNotFoundError):
    """One or more of CLaMP 3's local files are missing."""


def check_encoder_files(encoder: dict[str, Any], need_tokenizer: bool = False) -> None:
    """Raise naming every missing file, where to get it and where to put it. The audio path
    needs the checkpoint and MERT; text queries also need the tokenizer."""
    problems = []
    if not Path(encoder["checkpoint"]).is_file():
        problems.append(f"- checkpoint {encoder['checkpoint']} is missing: {CHECKPOINT_WHERE}")
    if not (Path(encoder["mert"]) / "config.json").is_file():
        problems.append(f"- MERT folder {encoder['mert']} is missing or has no config.json: {MERT_WHERE}")
    tokenizer = Path(encoder["tokenizer"])
    if need_tokenizer and not any((tokenizer / f).is_file() for f in ("tokenizer.json", "sentencepiece.bpe.model")):
        problems.append(f"- XLM-R tokenizer {tokenizer} is missing: {TOKENIZER_WHERE}")
    if problems:
        raise MissingEncoderFiles("encoder=clamp3 needs local files that are not there:\n" + "\n".join(problems))
