"""The server secret and what it keys: token-key hashes, access-token hashes, encrypted key copies."""
import base64
import hashlib
import hmac
import os
import secrets as _random
import string

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ALPHABET = string.ascii_letters + string.digits
SECRET_FILE = "session_secret"


def load_or_create_secret(configured: str, data_dir: str) -> str:
    """The configured secret, else the one kept in the data directory, else a new one kept there."""
    if configured:
        return configured
    path = os.path.join(data_dir, SECRET_FILE)
    if os.path.exists(path):
        with open(path) as f:
            return f.read().strip()
    os.makedirs(data_dir, exist_ok=True)
    value = _random.token_urlsafe(48)
    # Written whole under a private name, then linked into place: workers starting together on a new
    # data directory all end up with the one secret that won, never a half-written file.
    draft = f"{path}.{os.getpid()}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value)
    try:
        os.link(draft, path)
    except FileExistsError:
        with open(path) as f:
            value = f.read().strip()
    finally:
        os.unlink(draft)
    return value


def random_text(length: int) -> str:
    return "".join(_random.choice(ALPHABET) for _ in range(length))


class Keyring:
    """Keyed hashes and authenticated encryption derived from the one server secret."""

    def __init__(self, secret: str):
        root = secret.encode()
        self._hash_key = hmac.new(root, b"tollgate key hash", hashlib.sha256).digest()
        self._aead = AESGCM(hmac.new(root, b"tollgate key encryption", hashlib.sha256).digest())
        self.session_key = hmac.new(root, b"tollgate session", hashlib.sha256).hexdigest()

    def hash(self, key: str) -> str:
        return hmac.digest(self._hash_key, key.encode(), "sha256").hex()

    def encrypt(self, text: str) -> str:
        nonce = os.urandom(12)
        return base64.urlsafe_b64encode(nonce + self._aead.encrypt(nonce, text.encode(), None)).decode()

    def decrypt(self, blob: str) -> str:
        raw = base64.urlsafe_b64decode(blob.encode())
        return self._aead.decrypt(raw[:12], raw[12:], None).decode()
