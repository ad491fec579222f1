"""Personal data at rest: resident ID and phone numbers encrypted, found through a blind index.

- **Cipher** (`encrypt`/`decrypt`): AES-256-GCM with a random 96-bit nonce per value, the field
  as associated data (an ID cipher pasted into a phone column does not decrypt), stored as text
  `<key id>:<base64(nonce + ciphertext + tag)>` so that a key rotation can find the values still
  under an old key and re-encrypt them in batches (`fangfan keys rotate`).
- **Blind index** (`index`): HMAC-SHA256 under a separate index key, the first 128 bits in hex.
  Equal IDs give equal indexes, so matching (department files), uniqueness (one member per ID)
  and search by a full ID work without decrypting anything; the index alone does not give the
  number back. 128 bits: a collision among a nation's 1.4 billion IDs has probability ≈ 3e-21.
  Departments may send this index instead of the ID (`fangfan dept hash-ids`), given the key.

Keys come from the environment, never the repository: FANGFAN_PII_KEYS (the JSON itself, for
containers) or the JSON file FANGFAN_PII_KEY_FILE (a configured file that is missing is an
error), else `<FANGFAN_DATA_DIR>/pii_keys.json`, created with fresh keys and mode 0600 on first
use like the Django secret key (a demo or a test run)::

    {"current": "k2", "data_keys": {"k1": "<base64 32 bytes>", "k2": "..."}, "index_key": "<base64 32 bytes>"}

Losing the file loses every encrypted number: it is backed up apart from the database (docs/deploy.md).
The index key cannot be rotated in place (departments' hashed files and stored indexes use it)."""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

INDEX_HEX = 32  # characters of the blind index kept (128 bits)
NONCE_BYTES = 12
ID_FIELD = b"id_number"
PHONE_FIELD = b"phone"


class PiiKeyError(ValueError):
    """The key file is missing, unreadable or malformed."""


class DecryptError(ValueError):
    """A stored value does not decrypt: altered, under another field, or under a lost key."""


def _b64key(text: str, what: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, TypeError) as exc:
        raise PiiKeyError(f"密钥文件中的{what}不是有效的 base64") from exc
    if len(key) != 32:
        raise PiiKeyError(f"密钥文件中的{what}应为 32 字节 (AES-256 / HMAC-SHA256)")
    return key


@dataclass(frozen=True)
class KeyRing:
    data_keys: dict[str, bytes]
    current: str
    index_key: bytes

    def __post_init__(self) -> None:
        if self.current not in self.data_keys:
            raise PiiKeyError(f"当前密钥 {self.current} 不在密钥文件中")
        for key_id in self.data_keys:
            if not key_id or ":" in key_id:
                raise PiiKeyError(f"密钥编号 {key_id!r} 无效 (不能为空或含冒号)")
        # HMAC's inner and outer states, keyed once: per value only two hash copies (a new
        # hmac.HMAC object per value costs twice as much; 3.5M members at an import).
        padded = self.index_key.ljust(64, b"\0")
        object.__setattr__(self, "_inner", hashlib.sha256(bytes(b ^ 0x36 for b in padded)))
        object.__setattr__(self, "_outer", hashlib.sha256(bytes(b ^ 0x5C for b in padded)))
        object.__setattr__(self, "_aead", {k: AESGCM(v) for k, v in self.data_keys.items()})

    # ---- loading and saving -----------------------------------------------------------------

    @classmethod
    def from_json(cls, text: str) -> KeyRing:
        try:
            raw = json.loads(text)
            keys = {str(k): _b64key(v, f"数据密钥 {k}") for k, v in raw["data_keys"].items()}
            return cls(keys, str(raw["current"]), _b64key(raw["index_key"], "索引密钥"))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            if isinstance(exc, PiiKeyError):
                raise
            raise PiiKeyError(f"密钥文件格式错误: {exc}") from exc

    @classmethod
    def generate(cls, key_id: str = "k1") -> KeyRing:
        return cls({key_id: secrets.token_bytes(32)}, key_id, secrets.token_bytes(32))

    def to_json(self) -> str:
        return json.dumps({
            "current": self.current,
            "data_keys": {k: base64.b64encode(v).decode() for k, v in self.data_keys.items()},
            "index_key": base64.b64encode(self.index_key).decode(),
        }, indent=2)

    def with_new_key(self) -> KeyRing:
        """A ring whose current key is a fresh one; the old keys stay for reading."""
        numbers = [int(k[1:]) for k in self.data_keys if k[:1] == "k" and k[1:].isdigit()]
        key_id = f"k{max(numbers, default=0) + 1}"
        return KeyRing({**self.data_keys, key_id: secrets.token_bytes(32)}, key_id, self.index_key)

    def without_keys(self, key_ids: Iterable[str]) -> KeyRing:
        dropped = set(key_ids) - {self.current}
        return KeyRing({k: v for k, v in self.data_keys.items() if k not in dropped}, self.current, self.index_key)

    # ---- one value --------------------------------------------------------------------------

    def index(self, value: str | None) -> str:
        """The blind index of a normalised value ('' for none)."""
        if not value:
            return ""
        inner = self._inner.copy()
        inner.update(value.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()[:INDEX_HEX]

    def encrypt(self, value: str | None, field: bytes = ID_FIELD) -> str:
        if not value:
            return ""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead[self.current].encrypt(nonce, value.encode(), field)
        return f"{self.current}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str | None, field: bytes = ID_FIELD) -> str:
        if not token:
            return ""
        key_id, _, body = token.partition(":")
        aead = self._aead.get(key_id)
        if aead is None:
            # A rotation (`fangfan keys rotate`) wrote a new key while this process ran: read the
            # key file again once, and from then on encrypt under its current key too.
            newer = _ring_with(key_id)
            if newer is None:
                raise DecryptError(f"加密数据使用的密钥 {key_id} 不在密钥文件中")
            aead = newer._aead[key_id]
        try:
            raw = base64.b64decode(body)
            return aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], field).decode()
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise DecryptError("加密数据无法解密 (已被改动, 或密钥不符)") from exc

    @staticmethod
    def key_of(token: str) -> str:
        return token.partition(":")[0] if token else ""

    # ---- many values (imports, exports, rotation) -----------------------------------------

    def index_all(self, values: Sequence[str | None]) -> list[str]:
        index = self.index
        return [index(v) for v in values]

    def encrypt_all(self, values: Sequence[str | None], field: bytes = ID_FIELD) -> list[str]:
        if not values:
            return []
        aead = self._aead[self.current]
        prefix = f"{self.current}:"
        nonces = os.urandom(NONCE_BYTES * len(values))  # one system call for the whole batch
        b64 = base64.b64encode
        out = []
        for i, value in enumerate(values):
            if not value:
                out.append("")
                continue
            nonce = nonces[NONCE_BYTES * i : NONCE_BYTES * (i + 1)]
            out.append(prefix + b64(nonce + aead.encrypt(nonce, value.encode(), field)).decode())
        return out

    def decrypt_all(self, tokens: Sequence[str | None], field: bytes = ID_FIELD) -> list[str]:
        decrypt = self.decrypt
        return [decrypt(t, field) for t in tokens]


# ---- the process's ring -------------------------------------------------------------------------

_lock = threading.Lock()
_ring: KeyRing | None = None


def default_key_file() -> Path:
    explicit = os.environ.get("FANGFAN_PII_KEY_FILE")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("FANGFAN_DATA_DIR", Path.cwd() / "var")) / "pii_keys.json"


def write_key_file(path: Path, ring: KeyRing) -> None:
    """Write atomically with mode 0600 (a rotation must never leave half a key file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(ring.to_json())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def load_keyring(create: bool = True) -> KeyRing:
    text = os.environ.get("FANGFAN_PII_KEYS")
    if text:
        return KeyRing.from_json(text)
    path = default_key_file()
    if path.exists():
        try:
            return KeyRing.from_json(path.read_text())
        except OSError as exc:
            raise PiiKeyError(f"无法读取密钥文件 {path}: {exc}") from exc
    if not create or os.environ.get("FANGFAN_PII_KEY_FILE"):
        # A configured key file that is missing is an error, never replaced by fresh keys: data
        # encrypted under the lost keys would be unreadable and new data under other keys.
        raise PiiKeyError(f"密钥文件 {path} 不存在 (FANGFAN_PII_KEY_FILE); 请恢复密钥文件, 或用 fangfan keys init 新建")
    # First use: two processes starting together must end with the same ring (each encrypting
    # under its own would lose one's data), so the file is created exclusively and the loser reads it.
    ring = KeyRing.generate()
    temporary = path.with_name(f".{path.name}.{os.getpid()}.new")
    write_key_file(temporary, ring)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return KeyRing.from_json(path.read_text())
    finally:
        temporary.unlink(missing_ok=True)
    return ring


def keyring() -> KeyRing:
    """The ring of this process, loaded once (FANGFAN_PII_KEYS, else the key file)."""
    global _ring
    if _ring is None:
        with _lock:
            if _ring is None:
                _ring = load_keyring()
    return _ring


def _ring_with(key_id: str) -> KeyRing | None:
    """The process's ring reloaded from its source if that now holds `key_id`, else None."""
    global _ring
    with _lock:
        if _ring is not None and key_id in _ring.data_keys:
            return _ring
        try:
            fresh = load_keyring(create=False)
        except PiiKeyError:
            return None
        if key_id not in fresh.data_keys:
            return None
        _ring = fresh
        return fresh


def reload_keyring() -> KeyRing:
    """Forget the loaded ring (after a rotation wrote a new key file, or in tests)."""
    global _ring
    with _lock:
        _ring = None
    return keyring()


def id_index(number: str | None) -> str:
    return keyring().index(number)


def encrypt_id(number: str | None) -> str:
    return keyring().encrypt(number, ID_FIELD)


def decrypt_id(token: str | None) -> str:
    return keyring().decrypt(token, ID_FIELD)


def encrypt_phone(phone: str | None) -> str:
    return keyring().encrypt(phone, PHONE_FIELD)


def decrypt_phone(token: str | None) -> str:
    return keyring().decrypt(token, PHONE_FIELD)


def sealed_property(field: bytes, cipher: str, index: str | None = None, doc: str = "") -> property:
    """A model attribute over encrypted columns: reading decrypts `cipher`; setting encrypts into it
    (and writes the blind index into `index`). A property, so that Django models take it as a
    keyword (`Member(id_number=…)`) like a field."""

    def get(obj) -> str:
        return keyring().decrypt(getattr(obj, cipher), field)

    def put(obj, value: str | None) -> None:
        ring = keyring()
        setattr(obj, cipher, ring.encrypt(value or "", field))
        if index is not None:
            setattr(obj, index, ring.index(value or ""))

    return property(get, put, doc=doc)


def is_index(value: str) -> bool:
    """A department's keyed-hash ID (32 lower-case hex characters) rather than a plain number."""
    return len(value) == INDEX_HEX and all(c in "0123456789abcdef" for c in value)
