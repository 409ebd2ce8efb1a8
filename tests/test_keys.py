from __future__ import annotations

import stat
import subprocess

import pytest

from forensics.errors import KeyFileError, OutputExistsError
from forensics.keys import CaseKey, PermissiveKeyFileWarning, generate_key_file, load_key
from tests.conftest import TEST_KEY_HEX, run_cli


def openssl_hmac(key_hex: str, message: str) -> str:
    out = subprocess.run(
        ["openssl", "dgst", "-sha256", "-mac", "HMAC", "-macopt", f"hexkey:{key_hex}"],
        input=message.encode(), capture_output=True, check=True,
    ).stdout.decode()
    return out.strip().split()[-1]


@pytest.mark.parametrize("value", ["acct_42", "ünïcödé", "with space ", ""])
def test_pseudonym_matches_openssl(key_file, value):
    key = load_key(key_file)
    assert key.pseudonym("account", value) == openssl_hmac(TEST_KEY_HEX, "account:" + value)[:32]


def test_fingerprint_matches_openssl(key_file):
    assert load_key(key_file).fingerprint == openssl_hmac(TEST_KEY_HEX, "fingerprint")[:16]


def test_key_bytes_never_in_repr(key_file):
    key = load_key(key_file)
    assert TEST_KEY_HEX not in repr(key) and TEST_KEY_HEX not in str(key)


@pytest.mark.parametrize(
    "content, message",
    [("abcd", "exactly 64 hex characters, found 4"), ("zz" * 32, "non-hex"), ("", "found 0"), ("é" * 64, "found")],
)
def test_malformed_key_files(tmp_path, content, message):
    path = tmp_path / "k"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match=message) as info:
        load_key(path)
    assert TEST_KEY_HEX not in str(info.value)


def test_missing_key_file(tmp_path):
    with pytest.raises(KeyFileError, match="not found"):
        load_key(tmp_path / "absent")


def test_world_readable_key_warns(tmp_path):
    path = tmp_path / "k"
    path.write_text(TEST_KEY_HEX)
    path.chmod(0o644)
    with pytest.warns(PermissiveKeyFileWarning, match="chmod 600"):
        load_key(path)


def test_generate_key_file_is_private_and_refuses_overwrite(tmp_path):
    path = generate_key_file(tmp_path / "new.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().strip()) == 64
    with pytest.raises(OutputExistsError):
        generate_key_file(path)


def test_keygen_cli(tmp_path):
    result = run_cli("keygen", "--out", tmp_path / "k.key")
    assert result.returncode == 0, result.stderr
    key_hex = (tmp_path / "k.key").read_text().strip()
    assert key_hex not in result.stderr + result.stdout
    assert CaseKey(bytes.fromhex(key_hex)).fingerprint in result.stderr
    again = run_cli("keygen", "--out", tmp_path / "k.key")
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "already exists" in again.stderr


BULK_VALUES = ["", "acct_42", "ünïcödé", "with space ", "lone \udc80 surrogate", "x" * 5000]


def test_bulk_and_async_pseudonyms_match_single(key_file):
    key = load_key(key_file)
    values = BULK_VALUES + [f"prompt number {i}" for i in range(3000)]
    expected = {kind: [key.pseudonym(kind, v) for v in values] for kind in ("prompt", "template", "ip")}
    assert key.pseudonyms("prompt", values) == expected["prompt"]
    future = key.pseudonyms_async([("template", values), ("ip", values), ("prompt", [])])
    assert future.result() == [expected["template"], expected["ip"], []]
    key.close()
    key.close()  # idempotent; a later async call starts a new helper thread
    assert key.pseudonyms_async([("prompt", values[:3])]).result() == [expected["prompt"][:3]]
    key.close()


def test_bulk_pseudonyms_match_openssl(key_file):
    key = load_key(key_file)
    values = ["acct_42", "ünïcödé", ""]
    assert key.pseudonyms("account", values) == [openssl_hmac(TEST_KEY_HEX, "account:" + v)[:32] for v in values]


def test_kind_prefix_state_is_per_kind(key_file):
    key = load_key(key_file)
    first = key.pseudonym("ua", "same")
    assert key.pseudonym("system", "same") != first
    assert key.pseudonym("ua", "same") == first == openssl_hmac(TEST_KEY_HEX, "ua:same")[:32]
