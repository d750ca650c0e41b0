#!/usr/bin/env python3
"""Test vectors for Feishu's HTTP callback mode, computed independently of the Rust
code with the `cryptography` package (shared/specs/feishu.md section 3).

Reads the plaintext event JSON on stdin and prints one JSON object:

    {"body": "<the exact request body: {\"encrypt\": \"...\"}>",
     "signature": "<hex sha256 of timestamp + nonce + encrypt_key + body>"}

Encryption: key = SHA-256(encrypt_key); a random 16-byte IV; AES-256-CBC with PKCS7
padding; base64(IV + ciphertext).

Usage: feishu_callback_vectors.py <encrypt_key> <timestamp> <nonce>
Needs: pip install cryptography  (scripts/install-peers installs it)
"""

import base64
import hashlib
import json
import os
import sys

try:
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
except ImportError:
    print("cryptography is not installed: pip install cryptography (or scripts/install-peers)", file=sys.stderr)
    sys.exit(3)


def main() -> None:
    encrypt_key, timestamp, nonce = sys.argv[1:4]
    plaintext = sys.stdin.buffer.read()
    key = hashlib.sha256(encrypt_key.encode()).digest()
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    body = json.dumps({"encrypt": base64.b64encode(iv + ciphertext).decode()})
    signature = hashlib.sha256((timestamp + nonce + encrypt_key + body).encode()).hexdigest()
    print(json.dumps({"body": body, "signature": signature}))


if __name__ == "__main__":
    main()
