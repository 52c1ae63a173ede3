import json
import subprocess

import pytest

from tests.helpers import PYTHON, ROOT


def emoheal(*args, input_text=None):
    return subprocess.run([PYTHON, "-m", "emoheal.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          input=input_text, timeout=120)


def test_no_text_is_a_usage_error():
    result = emoheal("detect", "--model", "/nonexistent")
    assert result.returncode != 0 and "at least one TEXT" in result.stderr


def test_missing_model_folder_is_a_clear_error(tmp_path):
    result = emoheal("detect", "hello", "--model", str(tmp_path))
    assert result.returncode == 1
    assert "not a trained emotion model" in result.stderr and "Traceback" not in result.stderr


def test_missing_input_file_is_a_clear_error(tmp_path):
    result = emoheal("detect", "--file", str(tmp_path / "nope.txt"))
    assert result.returncode != 0 and "file not found" in result.stderr


def test_params_prints_the_composed_config():
    result = emoheal("params", "profile=ci", "-o", "-")
    assert result.returncode == 0
    assert "name: tiny" in result.stdout


@pytest.mark.parametrize("bad", [[], "text", [""], ["ok", "   "], ["ok", 3]])
def test_predictor_rejects_bad_texts(bad):
    from emoheal.emotion.predictor import InvalidTextError, validate_texts

    with pytest.raises(InvalidTextError):
        validate_texts(bad)


def test_predictor_refuses_absurdly_long_text():
    from emoheal.emotion.predictor import MAX_TEXT_CHARS, InvalidTextError, validate_texts

    with pytest.raises(InvalidTextError, match="limit"):
        validate_texts(["x" * (MAX_TEXT_CHARS + 1)])
    assert json.dumps(validate_texts(["fine"]))


def test_bad_override_is_a_clear_error():
    result = emoheal("params", "no_such_group=x", "-o", "-")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no_such_group" in result.stderr


def test_huge_text_fails_before_any_model_is_needed(tmp_path):
    result = emoheal("detect", "x" * 20_001, "--model", str(tmp_path))
    assert result.returncode == 2 and "limit is 20000" in result.stderr
