import shutil

import pytest

from emoheal.data.checksums import ChecksumError, verify_folder
from tests.helpers import ROOT

RAW = ROOT / "data" / "raw" / "goemotions"


@pytest.fixture
def raw_copy(tmp_path):
    dest = tmp_path / "goemotions"
    shutil.copytree(RAW, dest)
    return dest


def test_verified_copy_passes(raw_copy):
    sums = verify_folder(raw_copy)
    assert set(sums) >= {"train.tsv", "dev.tsv", "test.tsv", "emotions.txt"}


def test_changed_byte_is_caught_and_named(raw_copy):
    path = raw_copy / "dev.tsv"
    data = bytearray(path.read_bytes())
    data[100] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="dev.tsv"):
        verify_folder(raw_copy)


def test_missing_file_is_caught(raw_copy):
    (raw_copy / "test.tsv").unlink()
    with pytest.raises(ChecksumError, match="test.tsv: missing"):
        verify_folder(raw_copy)


def test_missing_sums_file(raw_copy):
    (raw_copy / "SHA256SUMS").unlink()
    with pytest.raises(ChecksumError, match="SHA256SUMS is missing"):
        verify_folder(raw_copy)
