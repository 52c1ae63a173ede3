import pytest
import torch

from emoheal.emotion.backbone import BackboneUnavailableError, build_backbone, resolve_pretrained_path
from emoheal.emotion.model import EmotionClassifier
from tests.helpers import compose


def test_xlmr_offline_fails_at_once_naming_what_to_download(tmp_path):
    cfg = compose("backbone=xlmr_base", f"backbone.path={tmp_path / 'absent'}")["backbone"]
    with pytest.raises(BackboneUnavailableError) as info:
        resolve_pretrained_path(cfg)
    message = str(info.value)
    assert "FacebookAI/xlm-roberta-base" in message and str(tmp_path / "absent") in message
    assert "nothing is downloaded" in message


def test_minilm_loads_from_the_installed_package():
    cfg = compose()["backbone"]
    encoder, tokenizer = build_backbone(cfg)
    assert encoder.config.hidden_size == 384 and encoder.config.num_hidden_layers == 6
    assert tokenizer("hello world")["input_ids"][0] == tokenizer.cls_token_id


def test_tiny_tokenizer_is_trained_deterministically():
    cfg = compose("backbone=tiny")["backbone"]
    texts = [f"sentence number {i} about feeling {w}" for i, w in enumerate(["calm", "sad", "happy"] * 100)]
    _, a = build_backbone(cfg, texts)
    _, b = build_backbone(cfg, texts)
    assert a.backend_tokenizer.to_str() == b.backend_tokenizer.to_str()
    assert a.pad_token_id == 1 and a.bos_token_id == 0


def test_mean_pooling_ignores_padding():
    cfg = compose("backbone=tiny")["backbone"]
    encoder, tok = build_backbone(cfg, ["a b c d e f g"] * 50)
    model = EmotionClassifier(encoder, 28, "mean").eval()
    one = tok(["a b c"], return_tensors="pt")
    padded = tok(["a b c", "a b c d e f g a b c"], padding=True, return_tensors="pt")
    with torch.no_grad():
        alone = model(one["input_ids"], one["attention_mask"])
        batched = model(padded["input_ids"], padded["attention_mask"])[:1]
    torch.testing.assert_close(alone, batched, atol=1e-5, rtol=1e-4)
