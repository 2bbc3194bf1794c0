"""Key files, kids, rotation rings, and that key material never leaks into text."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from hypothesis import given
from hypothesis import strategies as st

from monitor.config import ConfigError
from monitor.secured.keys import (
    ENV_KEY,
    ENV_KEY_FILE,
    Ed25519Key,
    KeyRing,
    SymmetricKey,
    kid_for_path,
    load_key_file,
    parse_key_spec,
    parse_symmetric_text,
)

SECRET = bytes(range(1, 33))


def renderings(secret: bytes) -> list[str]:
    """Every textual form the key could leak in."""
    return [
        secret.hex(),
        secret.hex().upper(),
        base64.b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode().rstrip("="),
        repr(secret)[2:-1],
        secret.decode("latin-1"),
    ]


def assert_no_leak(text: str, secret: bytes) -> None:
    for form in renderings(secret):
        assert form not in text


def write_key(path: Path, data: bytes, mode: int = 0o600) -> Path:
    path.write_bytes(data)
    path.chmod(mode)
    return path


def ed25519_pems(seed: int = 7) -> tuple[bytes, bytes, Ed25519PrivateKey]:
    private = Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)
    priv = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pub = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return priv, pub, private


# ---------------------------------------------------------------- text forms


@given(st.binary(min_size=32, max_size=32))
def test_every_text_form_of_a_key_parses_back(secret: bytes) -> None:
    forms = [
        secret.hex(),
        secret.hex().upper(),
        base64.b64encode(secret).decode(),
        base64.b64encode(secret).decode().rstrip("="),
        base64.urlsafe_b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode().rstrip("="),
    ]
    for form in forms:
        assert parse_symmetric_text(f"  {form}\n\n".encode()) == secret


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"00" * 31,  # 31 bytes of hex
        b"00" * 33,
        base64.b64encode(b"x" * 31),
        base64.b64encode(b"x" * 33),
        b"zz" * 32,
        "é".encode() * 40,
        b"00" * 16 + b" " + b"00" * 16,  # whitespace inside is not ignored
    ],
)
def test_text_that_is_not_a_32_byte_key_is_refused(text: bytes) -> None:
    assert parse_symmetric_text(text) is None


# ---------------------------------------------------------------- kids


@pytest.mark.parametrize(
    ("spec", "kid", "path"),
    [
        ("keys/publisher.key", "publisher", "keys/publisher.key"),
        ("signer.key.pub", "signer", "signer.key.pub"),
        ("k-2024_a", "k-2024_a", "k-2024_a"),
        ("new=keys/a.key", "new", "keys/a.key"),
        ("new=/abs/a.key", "new", "/abs/a.key"),
        # what the config loader makes of `key_file = ["new=keys/a.key"]` in /conf/x.toml
        ("/conf/new=keys/a.key", "new", "/conf/keys/a.key"),
        ("/conf/new=/abs/a.key", "new", "/abs/a.key"),
    ],
)
def test_kid_rule(spec: str, kid: str, path: str) -> None:
    assert parse_key_spec(spec) == (kid, Path(path))


def test_an_existing_file_named_with_equals_is_taken_literally(tmp_path: Path) -> None:
    weird = write_key(tmp_path / "a=b.key", SECRET)
    with pytest.raises(ConfigError, match="KID=PATH"):
        parse_key_spec(weird)  # the literal file wins, and 'a=b' is no kid
    assert parse_key_spec(f"k={weird}") == ("k", weird)


def test_a_file_name_that_makes_no_kid_says_to_name_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="KID=PATH"):
        parse_key_spec(write_key(tmp_path / ".hidden", SECRET))
    with pytest.raises(ConfigError, match="KID=PATH"):
        parse_key_spec(write_key(tmp_path / "my key.bin", SECRET))


def test_kid_for_path_is_the_name_up_to_the_first_dot() -> None:
    assert kid_for_path(Path("/x/y/prod.2024.key")) == "prod"


# ---------------------------------------------------------------- files


@pytest.mark.parametrize(
    "content",
    [
        SECRET,
        SECRET.hex().encode() + b"\n",
        b"  " + base64.b64encode(SECRET) + b"\r\n",
        base64.urlsafe_b64encode(SECRET).rstrip(b"="),
    ],
    ids=["raw", "hex", "base64", "base64url"],
)
def test_symmetric_key_files(tmp_path: Path, content: bytes) -> None:
    ring = KeyRing.load([write_key(tmp_path / "pub.key", content)], environ={})
    (key,) = ring.symmetric()
    assert key.secret == SECRET and key.kid == "pub"


def test_group_readable_secret_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = write_key(tmp_path / "k.key", SECRET.hex().encode(), 0o640)
    with pytest.raises(ConfigError) as info:
        KeyRing.load([path], environ={})
    message = str(info.value)
    assert f"chmod 600 {path}" in message and "0640" in message
    assert_no_leak(message, SECRET)
    assert KeyRing.load([path], environ={}, allow_insecure=True).kids == ("k",)


def test_world_readable_private_pem_is_refused_but_public_is_fine(tmp_path: Path) -> None:
    priv, pub, _ = ed25519_pems()
    with pytest.raises(ConfigError, match="chmod 600"):
        KeyRing.load([write_key(tmp_path / "s.key", priv, 0o644)], environ={})
    ring = KeyRing.load([write_key(tmp_path / "s.key.pub", pub, 0o644)], environ={})
    (key,) = ring.ed25519()
    assert key.private is None and key.kid == "s"


def test_private_and_its_public_half_are_one_key(tmp_path: Path) -> None:
    priv, pub, _ = ed25519_pems()
    ring = KeyRing.load(
        [write_key(tmp_path / "s.key.pub", pub, 0o644), write_key(tmp_path / "s.key", priv)],
        environ={},
    )
    (key,) = ring.ed25519()
    assert key.private is not None


def test_two_keys_with_one_kid_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    one = write_key(tmp_path / "k.key", SECRET)
    two = write_key(tmp_path / "a" / "k.hex", os.urandom(32).hex().encode())
    with pytest.raises(ConfigError, match="KID=PATH"):
        KeyRing.load([one, two], environ={})
    ring = KeyRing.load([one, Path(f"other={two}")], environ={})
    assert ring.kids == ("k", "other")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"hello, not a key", "not a key"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "PEM public"),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "PEM private"),
    ],
)
def test_not_a_key(tmp_path: Path, content: bytes, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        KeyRing.load([write_key(tmp_path / "k.key", content)], environ={})


def test_rsa_and_encrypted_pems_are_refused_clearly(tmp_path: Path) -> None:
    rsa = generate_private_key(public_exponent=65537, key_size=1024)
    rsa_pem = rsa.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ConfigError, match="only Ed25519"):
        load_key_file(write_key(tmp_path / "rsa.key", rsa_pem), kid="rsa")
    _, _, private = ed25519_pems()
    locked = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    with pytest.raises(ConfigError, match="encrypted"):
        load_key_file(write_key(tmp_path / "enc.key", locked), kid="enc")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        KeyRing.load([tmp_path / "nope.key"], environ={})
    (tmp_path / "dir").mkdir()
    with pytest.raises(ConfigError, match="not a regular file"):
        KeyRing.load([tmp_path / "dir"], environ={})


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write_key(tmp_path / "k.key", SECRET, 0o000)
    with pytest.raises(ConfigError, match="permission denied"):
        KeyRing.load([path], environ={})


# ---------------------------------------------------------------- environment


@pytest.mark.parametrize("form", [SECRET.hex(), base64.b64encode(SECRET).decode()])
def test_key_from_the_environment(form: str) -> None:
    ring = KeyRing.load([], environ={ENV_KEY: f" {form}\n"})
    (key,) = ring.symmetric()
    assert key.kid == "env" and key.secret == SECRET


def test_bad_environment_key_is_a_config_error_without_the_value() -> None:
    bad = SECRET.hex()[:-2]
    with pytest.raises(ConfigError, match=ENV_KEY) as info:
        KeyRing.load([], environ={ENV_KEY: bad})
    assert bad not in str(info.value)


def test_empty_ring() -> None:
    assert not KeyRing.empty() and len(KeyRing.empty()) == 0
    assert not KeyRing.load([], environ={})


@pytest.mark.parametrize("name", [ENV_KEY, ENV_KEY_FILE])
@pytest.mark.parametrize("value", ["", "  ", "\n"])
def test_an_empty_key_variable_is_a_mistake_not_no_key(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"{name} is set but empty"):
        KeyRing.load([], environ={name: value})


def test_an_environment_key_that_is_a_file_name_says_so(tmp_path: Path) -> None:
    path = write_key(tmp_path / "k.key", SECRET.hex().encode())
    with pytest.raises(ConfigError, match=f"it names a file: give a key file with {ENV_KEY_FILE}"):
        KeyRing.load([], environ={ENV_KEY: str(path)})


# ---------------------------------------------------------------- kids and specs


@pytest.mark.parametrize("kid", ["a.b", "", "k ey", "é", "x" * 65])
def test_a_bad_kid_is_named_as_the_problem_not_the_file(tmp_path: Path, kid: str) -> None:
    path = write_key(tmp_path / "k.key", SECRET)
    with pytest.raises(ConfigError) as info:
        KeyRing.load([Path(f"{kid}={path}")], environ={})
    message = str(info.value)
    assert f"invalid kid {kid!r}" in message and "1-64 ASCII letters, digits" in message
    assert "not found" not in message


def test_kid_without_a_file_and_an_empty_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no file name after 'new='"):
        parse_key_spec("new=")
    for empty in (" ", "", Path("")):
        with pytest.raises(ConfigError, match="empty key file name"):
            parse_key_spec(empty)


def test_a_missing_file_is_reported_missing_before_its_kid(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="key file not found"):
        parse_key_spec(tmp_path / ".hidden")
    with pytest.raises(ConfigError, match="cannot take a kid from the file name"):
        parse_key_spec(write_key(tmp_path / ".hidden", SECRET))


@pytest.mark.parametrize(
    "spec",
    [
        SECRET.hex(),
        base64.b64encode(SECRET).decode(),
        f"new={SECRET.hex()}",
        f"new={base64.b64encode(SECRET).decode()}",
    ],
)
def test_a_key_given_as_a_file_name_is_never_echoed(spec: str) -> None:
    with pytest.raises(ConfigError, match="looks like a key itself") as info:
        KeyRing.load([Path(spec)], environ={})
    assert_no_leak(str(info.value), SECRET)


# ---------------------------------------------------------------- hostile key files


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
def test_a_key_file_others_can_replace_is_refused(tmp_path: Path, mode: int) -> None:
    _priv, pub, _ = ed25519_pems()
    for path in (
        write_key(tmp_path / "p.key.pub", pub, mode),
        write_key(tmp_path / "s.key", SECRET),
    ):
        path.chmod(mode)
        with pytest.raises(ConfigError, match="are too open") as info:
            KeyRing.load([path], environ={})
        assert f"chmod go-w {path}" in str(info.value) or "chmod 600" in str(info.value)
        assert_no_leak(str(info.value), SECRET)
        assert KeyRing.load([path], environ={}, allow_insecure=True)


def test_a_fifo_key_file_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "k.key"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(ConfigError, match="not a regular file"):
        KeyRing.load([fifo], environ={})


def test_a_symlinked_key_file_is_followed(tmp_path: Path) -> None:
    real = write_key(tmp_path / "2025.key", SECRET.hex().encode())
    (tmp_path / "current.key").symlink_to(real)
    (key,) = KeyRing.load([tmp_path / "current.key"], environ={}).symmetric()
    assert key.secret == SECRET and key.kid == "current"


def test_an_oversized_key_file_is_refused(tmp_path: Path) -> None:
    path = write_key(tmp_path / "k.key", b"0" * (64 * 1024 + 1))
    with pytest.raises(ConfigError, match="too large"):
        KeyRing.load([path], environ={})


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (SECRET.hex()[:31].encode() + b"\n", "not a key"),  # 32 bytes: text cut short, not raw
        (SECRET.hex().encode("utf-16"), "UTF-16"),
        (b"", "is empty"),
        (b" \n", "is empty"),
    ],
    ids=["short-hex-of-32-bytes", "utf-16", "empty", "blank"],
)
def test_text_that_is_not_a_key_is_not_taken_for_one(
    tmp_path: Path, content: bytes, match: str
) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        KeyRing.load([write_key(tmp_path / "k.key", content)], environ={})
    assert_no_leak(str(info.value), SECRET)


def test_a_utf8_bom_before_a_text_key_is_ignored(tmp_path: Path) -> None:
    path = write_key(tmp_path / "k.key", b"\xef\xbb\xbf" + SECRET.hex().encode() + b"\r\n")
    (key,) = KeyRing.load([path], environ={}).symmetric()
    assert key.secret == SECRET


# ---------------------------------------------------------------- secrecy


def test_no_key_material_in_repr_or_str(tmp_path: Path) -> None:
    priv, _pub, private = ed25519_pems(9)
    private_raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    ring = KeyRing.load(
        [write_key(tmp_path / "aes.key", SECRET), write_key(tmp_path / "ed.key", priv)],
        environ={ENV_KEY: bytes(range(100, 132)).hex()},
    )
    texts = [repr(ring), str(ring), *(repr(k) for k in ring), *(str(k) for k in ring)]
    for text in texts:
        assert_no_leak(text, SECRET)
        assert_no_leak(text, bytes(range(100, 132)))
        assert_no_leak(text, private_raw)
        assert "PRIVATE" not in text
    assert "aes" in repr(ring) and "ed" in repr(ring) and "env" in repr(ring)
    assert isinstance(ring.get("aes"), SymmetricKey) and isinstance(ring.get("ed"), Ed25519Key)


@given(st.binary(min_size=32, max_size=32))
def test_errors_about_bad_permissions_never_carry_the_key(secret: bytes) -> None:
    key = SymmetricKey("k", secret, "file")
    assert_no_leak(repr(key), secret)
    with pytest.raises(ValueError) as info:
        SymmetricKey("k", secret[:31], "file")
    assert_no_leak(str(info.value), secret[:31])
