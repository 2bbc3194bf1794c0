"""Legacy envelopes around any plaintext, for tests of how signed claims are read."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from monitor.secured.envelopes import Legacy
from monitor.secured.keys import SymmetricKey

KEY = SymmetricKey("k", bytes(range(32)), "k.key")


def cbc(plaintext: bytes) -> str:
    """A legacy `secured` value whose decrypted claims are `plaintext`, under KEY."""
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    enc = Cipher(algorithms.AES(KEY.secret), modes.CBC(iv)).encryptor()
    return Legacy(
        enc.update(padder.update(plaintext) + padder.finalize()) + enc.finalize(), iv
    ).format()
