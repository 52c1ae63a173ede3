"""The warm text encoder: tokenise once with <s> … </s>, stable de-duplication of lines,
the same vector as the oracle-proven segment path, and a per-prompt cache."""

from __future__ import annotations

import numpy as np
import pytest

from emoheal.encoder.clamp3.config import Clamp3Config
from emoheal.encoder.clamp3.segments import encode_text_ids
from emoheal.encoder.text import Clamp3TextEncoder
from tests.helpers import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "clamp3"
WORDS = "slow soft solo piano major key around bpm sparse warm very calm strings minor dark 52 60".split()


def tiny_xlmr_tokenizer(folder):
    """An XLM-R-shaped tokenizer (<s>=0, <pad>=1, </s>=2, <unk>=3) over a few words."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, **{w: i + 4 for i, w in enumerate(WORDS)}}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace()])
    core.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    tok = PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                                  pad_token="<pad>", unk_token="<unk>")
    tok.save_pretrained(folder)


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tok")
    tiny_xlmr_tokenizer(folder)
    config = Clamp3Config.from_fixture(FIXTURE / "config.json")
    return Clamp3TextEncoder(FIXTURE / "weights.safetensors", folder, config)


def test_prompt_ids_are_framed_once(encoder):
    ids = encoder.token_ids("slow soft solo piano").tolist()
    assert ids[0] == 0 and ids[-1] == 2 and ids.count(0) == 1 and len(ids) == 6


def test_lines_are_deduplicated_in_a_stable_order(encoder):
    ids = encoder.token_ids("soft piano\n\nwarm strings\nsoft piano\n").tolist()
    assert ids == encoder.token_ids("soft piano\nwarm strings").tolist()
    assert ids.count(2) == 2  # one </s> joining the two lines, one closing


def test_the_vector_is_the_segment_paths(encoder):
    text = "very slow very soft solo piano major key around 52 bpm sparse warm and dark " * 4  # > 1 segment
    expected = encode_text_ids(encoder.model, encoder.token_ids(text))["global"].numpy()
    np.testing.assert_allclose(encoder.encode(text), expected, atol=1e-6)
    assert encoder.encode(text) is encoder.encode(text)  # warm: encoded once


@pytest.mark.parametrize("bad", ["", "   \n ", None, 3, "x" * 2001])
def test_bad_prompts_are_clear_errors(encoder, bad):
    with pytest.raises(ValueError, match="prompt"):
        encoder.token_ids(bad)


def test_a_missing_tokenizer_names_what_to_get(tmp_path):
    with pytest.raises(FileNotFoundError, match="xlm-roberta-base"):
        Clamp3TextEncoder(FIXTURE / "weights.safetensors", tmp_path / "none")
