from __future__ import annotations

import contextlib
import hashlib
import hmac
import stat
import subprocess
from unittest import mock

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forensics import libcrypto
from forensics.errors import KeyFileError, OutputExistsError
from forensics.keys import CaseKey, PermissiveKeyFileWarning, generate_key_file, hmac_sha256_hex, load_key
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


def _python_hmac(kind: str, value: str) -> str:
    """The formula, by the standard library: the reference for the column-wise construction."""
    message = f"{kind}:{value}".encode("utf-8", "surrogatepass")
    return hmac.new(bytes.fromhex(TEST_KEY_HEX), message, hashlib.sha256).hexdigest()[:32]


def test_bulk_pseudonyms_match_the_formula(key_file):
    key = load_key(key_file)
    values = BULK_VALUES + [f"prompt number {i}" for i in range(3000)]
    for kind in ("prompt", "template", "ip"):
        assert key.pseudonyms(kind, values) == [_python_hmac(kind, v) for v in values]
    assert key.pseudonyms("prompt", []) == []


def test_pseudonym_column_keeps_nulls_order_and_name(key_file):
    key = load_key(key_file)
    values = pl.Series("raw", ["b", None, "a", "", None, "b"], dtype=pl.String)
    want = [None if v is None else _python_hmac("ua", v) for v in values.to_list()]
    for column in (values, values.cast(pl.Binary), values.to_arrow(), values.slice(1, 4)):
        got = key.pseudonym_column("ua", column)
        assert got.dtype == pl.String
        assert got.to_list() == (want[1:5] if len(got) == 4 else want)
    assert key.pseudonym_column("ua", values).name == "raw"
    assert key.pseudonym_column("ua", pl.Series([None, None], dtype=pl.String)).to_list() == [None, None]
    assert key.pseudonym_column("ua", pl.Series([], dtype=pl.String)).to_list() == []


def test_pseudonym_column_refuses_non_text(key_file):
    with pytest.raises(TypeError, match="string or binary"):
        load_key(key_file).pseudonym_column("ua", pl.Series([1, 2]))


def test_hmac_blocks_must_be_one_sha256_block():
    with pytest.raises(ValueError, match="64 bytes"):
        hmac_sha256_hex(b"\x36" * 32, b"\x5c" * 64, b"", pl.Series(["x"]))


# Values as ingest sees them: empty, non-ASCII, long prompts, and invalid UTF-8 decoded to \xNN escapes.
_VALUES = st.one_of(
    st.text(max_size=40),
    st.text(min_size=1, max_size=12).map(lambda s: s * 700),
    st.binary(max_size=40).map(lambda b: b.decode("utf-8", "backslashreplace")),
)


def _hashed_by(backend: str):
    """hmac_sha256_hex as it runs (libcrypto where it loads), or with its polars-hash construction forced."""
    return contextlib.nullcontext() if backend == "libcrypto" else mock.patch.object(libcrypto, "hmac_hex", lambda *a: None)


def test_libcrypto_loads_and_passes_its_known_answers_here():
    # The machines this project runs on have it; without it, every test below would check the fallback twice.
    assert libcrypto._native() is not None


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(["account", "ip", "prompt", "template", "email_domain"]), values=st.lists(_VALUES, max_size=6),
       backend=st.sampled_from(["libcrypto", "polars-hash"]))
def test_pseudonym_column_matches_openssl(kind, values, backend):
    key = CaseKey(bytes.fromhex(TEST_KEY_HEX))
    with _hashed_by(backend):
        got = key.pseudonym_column(kind, pl.Series(values, dtype=pl.String)).to_list()
    assert got == [openssl_hmac(TEST_KEY_HEX, f"{kind}:{v}")[:32] for v in values]


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.binary(max_size=300)), max_size=20), hex_chars=st.sampled_from([16, 32, 64]))
def test_both_hmac_constructions_agree_with_hashlib(values, hex_chars):
    key = bytes.fromhex(TEST_KEY_HEX)
    block = key.ljust(64, b"\0")
    inner, outer = bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)
    want = [None if v is None else hmac.new(key, b"kind:" + v, hashlib.sha256).hexdigest()[:hex_chars] for v in values]
    for backend in ("libcrypto", "polars-hash"):
        with _hashed_by(backend):
            assert hmac_sha256_hex(inner, outer, b"kind:", pl.Series(values, dtype=pl.Binary), hex_chars).to_list() == want


def test_bulk_pseudonyms_match_openssl(key_file):
    key = load_key(key_file)
    values = ["acct_42", "ünïcödé", ""]
    assert key.pseudonyms("account", values) == [openssl_hmac(TEST_KEY_HEX, "account:" + v)[:32] for v in values]


def test_kind_prefix_state_is_per_kind(key_file):
    key = load_key(key_file)
    first = key.pseudonym("ua", "same")
    assert key.pseudonym("system", "same") != first
    assert key.pseudonym("ua", "same") == first == openssl_hmac(TEST_KEY_HEX, "ua:same")[:32]
