"""Text prompts → CLaMP 3 vectors, with a warm encoder: the checkpoint and the XLM-R tokenizer
load once per process and each distinct prompt is encoded once.

Upstream de-duplicates the lines of a multi-line text with an unordered set, so the order
(and the vector) can change between runs. Here lines are stripped, empty ones dropped and
repeats removed in a stable order (first occurrence kept), then joined with `</s>` as
upstream does; a single-line prompt — what the planner writes — is unaffected.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from emoheal.encoder.clamp3.checkpoint import load_clamp3
from emoheal.encoder.clamp3.config import Clamp3Config
from emoheal.encoder.clamp3.segments import encode_text_ids
from emoheal.encoder.files import TOKENIZER_WHERE

MAX_PROMPT_CHARS = 2000


class Clamp3TextEncoder:
    def __init__(self, checkpoint: str | Path, tokenizer: str | Path, config: Clamp3Config = Clamp3Config(),
                 cache_size: int = 512):
        from transformers import AutoTokenizer

        if not Path(tokenizer).is_dir():
            raise FileNotFoundError(f"XLM-R tokenizer not found at {tokenizer}: {TOKENIZER_WHERE}")
        self.tokenizer = AutoTokenizer.from_pretrained(str(tokenizer), local_files_only=True)
        self.model, self.checkpoint_sha256 = load_clamp3(checkpoint, config)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    def token_ids(self, text: str) -> torch.Tensor:
        if not isinstance(text, str) or not text.strip():
            raise ValueError("a prompt must be non-empty text")
        if len(text) > MAX_PROMPT_CHARS:
            raise ValueError(f"a prompt is at most {MAX_PROMPT_CHARS} characters, not {len(text)}")
        lines = list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))
        joined = self.tokenizer.sep_token.join(lines)
        ids = self.tokenizer(joined, add_special_tokens=True, truncation=False)["input_ids"]
        return torch.tensor(ids, dtype=torch.long)

    def encode(self, text: str) -> np.ndarray:
        """The prompt's CLaMP 3 vector (not normalised; compare with cosine)."""
        if text in self._cache:
            self._cache.move_to_end(text)
            return self._cache[text]
        vector = encode_text_ids(self.model, self.token_ids(text), pad_to_limit=False)["global"].numpy()
        self._cache[text] = vector
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return vector
