import base64
import json
import stat

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangfan.common import pii

ID = "34122519900101100X"
PHONE = "13812345678"


@pytest.fixture
def ring():
    return pii.KeyRing.generate()


def test_it_gives_back_the_number_it_encrypted(ring):
    assert ring.decrypt(ring.encrypt(ID, pii.ID_FIELD), pii.ID_FIELD) == ID
    assert ring.decrypt(ring.encrypt(PHONE, pii.PHONE_FIELD), pii.PHONE_FIELD) == PHONE
    assert ring.encrypt("") == "" and ring.decrypt("") == ""


def test_it_stores_ciphers_under_the_current_key_id_and_never_twice_the_same(ring):
    first, second = ring.encrypt(ID), ring.encrypt(ID)
    assert first.startswith("k1:") and ring.key_of(first) == "k1"
    assert first != second  # random nonce: ciphers are never compared, indexes are
    assert ID not in first


def test_it_refuses_an_id_cipher_read_as_a_phone(ring):
    token = ring.encrypt(ID, pii.ID_FIELD)
    with pytest.raises(pii.DecryptError, match="无法解密"):
        ring.decrypt(token, pii.PHONE_FIELD)


def test_it_refuses_a_tampered_cipher(ring):
    token = ring.encrypt(ID)
    key_id, _, body = token.partition(":")
    raw = bytearray(base64.b64decode(body))
    raw[-1] ^= 1
    with pytest.raises(pii.DecryptError, match="已被改动"):
        ring.decrypt(f"{key_id}:{base64.b64encode(bytes(raw)).decode()}")
    with pytest.raises(pii.DecryptError):
        ring.decrypt(f"{key_id}:not base64!")


def test_it_refuses_a_cipher_under_a_key_not_in_the_file(ring):
    other = pii.KeyRing.generate("k9")
    with pytest.raises(pii.DecryptError, match="k9 不在密钥文件中"):
        ring.decrypt(other.encrypt(ID))


def test_it_reads_old_ciphers_after_a_new_key_is_added(ring):
    old = ring.encrypt(ID)
    rotated = ring.with_new_key()
    assert rotated.current == "k2" and rotated.encrypt(ID).startswith("k2:")
    assert rotated.decrypt(old) == ID
    assert rotated.index(ID) == ring.index(ID)  # the index key stays
    assert set(rotated.without_keys(["k1", "k2"]).data_keys) == {"k2"}  # the current key is never dropped


def test_it_indexes_equal_numbers_equally_and_only_under_its_own_key(ring):
    index = ring.index(ID)
    assert index == ring.index(ID) and len(index) == pii.INDEX_HEX and pii.is_index(index)
    assert ring.index("34122519900101101X") != index
    assert pii.KeyRing.generate().index(ID) != index  # another index key: another index
    assert ring.index("") == "" and ring.index(None) == ""
    assert ring.index_all([ID, "", ID]) == [index, "", index]


def test_it_encrypts_and_decrypts_in_bulk_like_one_by_one(ring):
    values = [ID, "", None, "110101199003077777"]
    tokens = ring.encrypt_all(values, pii.ID_FIELD)
    assert tokens[1] == tokens[2] == ""
    assert ring.decrypt_all(tokens, pii.ID_FIELD) == [ID, "", "", "110101199003077777"]
    assert ring.encrypt_all([], pii.ID_FIELD) == []


@given(st.text(max_size=200))
def test_it_gives_back_any_text(text):
    ring = pii.KeyRing.generate()
    for field in (pii.ID_FIELD, pii.PHONE_FIELD):
        assert ring.decrypt(ring.encrypt(text, field), field) == text
        assert ring.decrypt_all(ring.encrypt_all([text], field), field) == [text]


def test_it_writes_the_key_file_readable_by_its_owner_only_and_reads_it_back(tmp_path, ring):
    path = tmp_path / "keys" / "pii_keys.json"
    pii.write_key_file(path, ring)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = pii.KeyRing.from_json(path.read_text())
    assert again.decrypt(ring.encrypt(ID)) == ID and again.index(ID) == ring.index(ID)
    assert [p.name for p in path.parent.iterdir()] == ["pii_keys.json"]  # no temporary left


def test_it_creates_a_missing_key_file_in_the_data_folder_with_mode_0600(tmp_path, monkeypatch):
    path = tmp_path / "pii_keys.json"  # the default place: no key file configured
    monkeypatch.delenv("FANGFAN_PII_KEYS", raising=False)
    monkeypatch.delenv("FANGFAN_PII_KEY_FILE", raising=False)
    monkeypatch.setenv("FANGFAN_DATA_DIR", str(tmp_path))
    ring = pii.load_keyring()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert pii.load_keyring().index(ID) == ring.index(ID)  # the second load reads the same keys
    path.unlink()
    with pytest.raises(pii.PiiKeyError, match="不存在"):
        pii.load_keyring(create=False)


def test_it_prefers_the_keys_in_the_environment(tmp_path, monkeypatch, ring):
    monkeypatch.setenv("FANGFAN_PII_KEYS", ring.to_json())
    monkeypatch.setenv("FANGFAN_PII_KEY_FILE", str(tmp_path / "unused.json"))
    assert pii.load_keyring().index(ID) == ring.index(ID)
    assert not (tmp_path / "unused.json").exists()


@pytest.mark.parametrize("text, message", [
    ("not json", "密钥文件格式错误"),
    ("{}", "密钥文件格式错误"),
    (json.dumps({"current": "k1", "data_keys": {"k1": "???"}, "index_key": base64.b64encode(bytes(32)).decode()}),
     "不是有效的 base64"),
    (json.dumps({"current": "k1", "data_keys": {"k1": base64.b64encode(bytes(16)).decode()},
                 "index_key": base64.b64encode(bytes(32)).decode()}), "应为 32 字节"),
    (json.dumps({"current": "k2", "data_keys": {"k1": base64.b64encode(bytes(32)).decode()},
                 "index_key": base64.b64encode(bytes(32)).decode()}), "当前密钥 k2 不在密钥文件中"),
    (json.dumps({"current": "a:b", "data_keys": {"a:b": base64.b64encode(bytes(32)).decode()},
                 "index_key": base64.b64encode(bytes(32)).decode()}), "不能为空或含冒号"),
])
def test_it_explains_a_malformed_key_file_in_chinese(text, message):
    with pytest.raises(pii.PiiKeyError, match=message):
        pii.KeyRing.from_json(text)


def test_it_reads_a_value_under_a_key_added_after_the_process_loaded_its_ring(tmp_path, monkeypatch):
    path = tmp_path / "keys.json"
    first = pii.KeyRing.generate()
    pii.write_key_file(path, first)
    monkeypatch.delenv("FANGFAN_PII_KEYS", raising=False)
    monkeypatch.setenv("FANGFAN_PII_KEY_FILE", str(path))
    try:
        assert pii.reload_keyring().current == "k1"
        rotated = first.with_new_key()  # what `fangfan keys rotate` writes meanwhile
        pii.write_key_file(path, rotated)
        token = rotated.encrypt(ID)
        assert pii.decrypt_id(token) == ID  # the file is read again once
        assert pii.keyring().current == "k2" and pii.encrypt_id(ID).startswith("k2:")
        with pytest.raises(pii.DecryptError, match="k9"):
            pii.decrypt_id("k9:" + token.partition(":")[2])
    finally:
        monkeypatch.undo()
        pii.reload_keyring()


def test_it_refuses_to_invent_keys_when_the_configured_key_file_is_missing(tmp_path, monkeypatch):
    monkeypatch.delenv("FANGFAN_PII_KEYS", raising=False)
    monkeypatch.setenv("FANGFAN_PII_KEY_FILE", str(tmp_path / "lost.json"))
    with pytest.raises(pii.PiiKeyError, match="不存在"):
        pii.load_keyring()
    assert not (tmp_path / "lost.json").exists()


def test_it_gives_models_one_attribute_over_the_index_and_the_cipher():
    class Person:
        id_index = id_cipher = ""
        id_number = pii.sealed_property(pii.ID_FIELD, "id_cipher", "id_index")

    person = Person()
    person.id_number = ID
    assert person.id_number == ID and person.id_index == pii.id_index(ID)
    assert ID not in person.id_cipher and person.id_cipher.startswith(pii.keyring().current + ":")
    person.id_number = ""
    assert person.id_number == "" and person.id_index == "" and person.id_cipher == ""
