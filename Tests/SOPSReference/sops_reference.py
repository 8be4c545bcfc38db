#!/usr/bin/env python3
"""SOPS's file format, written for Berth's tests from the format's description (not from
Berth's code), so Berth's reader and writer are checked against an independent implementation.
No reference `sops` binary is packaged for Debian 12, so this stands in for one.

  sops_reference.py encrypt FORMAT RECIPIENT[,RECIPIENT…] [--mac-only-encrypted] < plain.json > out
      FORMAT is yaml, json or dotenv; the plaintext document comes as JSON on stdin.
  sops_reference.py decrypt FILE IDENTITY_FILE
      prints the decrypted document as JSON; exits 1 when the MAC or a value does not verify.

Values are AES-256-GCM with a 32-byte IV under a random 32-byte data key, with the value's
path ("a:b:") as additional data; the data key is encrypted to each age recipient with the
`age` command (armored); the MAC is SHA-512 over the values in file order, in capital hex,
encrypted like a value with `lastmodified` as additional data.
"""
import base64
import datetime
import hashlib
import json
import os
import subprocess
import sys

import yaml
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SUFFIX = "_unencrypted"
MAC_ONLY_ENCRYPTED_INIT = bytes.fromhex("8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69")


def b64(data):
    return base64.b64encode(data).decode()


def typed_bytes(value):
    if isinstance(value, bool):
        return "bool", b"True" if value else b"False"
    if isinstance(value, int):
        return "int", str(value).encode()
    if isinstance(value, float):
        text = repr(value)
        return "float", (text[:-2] if text.endswith(".0") else text).encode()
    return "str", value.encode()


def walk(node, path, leaf):
    if isinstance(node, dict):
        return {key: walk(value, path + [key], leaf) for key, value in node.items()}
    if isinstance(node, list):
        return [walk(item, path, leaf) for item in node]
    if node is None:
        return None
    return leaf(node, path)


def encrypt_value(value, key, aad):
    kind, data = typed_bytes(value)
    if kind == "str" and data == b"":
        return ""
    iv = os.urandom(32)
    sealed = AESGCM(key).encrypt(iv, data, aad.encode())
    return f"ENC[AES256_GCM,data:{b64(sealed[:-16])},iv:{b64(iv)},tag:{b64(sealed[-16:])},type:{kind}]"


def decrypt_value(text, key, aad):
    if text == "":
        return b"", "str"
    assert text.startswith("ENC[AES256_GCM,") and text.endswith("]"), "not a SOPS value"
    fields = dict(part.split(":", 1) for part in text[len("ENC[AES256_GCM,"):-1].split(","))
    data = base64.b64decode(fields["data"]) + base64.b64decode(fields["tag"])
    return AESGCM(key).decrypt(base64.b64decode(fields["iv"]), data, aad.encode()), fields["type"]


def encrypt(fmt, recipients, mac_only):
    document = json.load(sys.stdin)
    key = os.urandom(32)
    digest = hashlib.sha512()
    if mac_only:
        digest.update(MAC_ONLY_ENCRYPTED_INIT)

    def leaf(value, path):
        encrypted = not any(part.endswith(SUFFIX) for part in path)
        if encrypted or not mac_only:
            digest.update(typed_bytes(value)[1])
        return encrypt_value(value, key, ":".join(path) + ":") if encrypted else value

    out = walk(document, [], leaf)
    modified = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    keys = []
    for recipient in recipients:
        enc = subprocess.run(["age", "-a", "-r", recipient], input=key, capture_output=True, check=True).stdout.decode()
        keys.append({"recipient": recipient, "enc": enc})
    meta = {"age": keys, "lastmodified": modified, "mac": encrypt_value(digest.hexdigest().upper(), key, modified),
            "unencrypted_suffix": SUFFIX, "version": "3.9.0"}
    if mac_only:
        meta["mac_only_encrypted"] = True
    if fmt == "yaml":
        out["sops"] = meta
        sys.stdout.write(yaml.safe_dump(out, sort_keys=False))
    elif fmt == "json":
        out["sops"] = meta
        sys.stdout.write(json.dumps(out, indent=4) + "\n")
    else:
        lines = [f"{k}={str(v).replace(chr(10), chr(92) + 'n')}" for k, v in out.items()]
        for index, entry in enumerate(keys):
            for field, value in entry.items():
                lines.append(f"sops_age__list_{index}__map_{field}=" + value.replace("\n", "\\n"))
        for field in ("lastmodified", "mac", "unencrypted_suffix", "version", "mac_only_encrypted"):
            if field in meta:
                value = meta[field]
                lines.append(f"sops_{field}=" + (("true" if value else "false") if isinstance(value, bool) else value))
        sys.stdout.write("\n".join(lines) + "\n")


def decrypt(path, identity):
    text = open(path).read()
    if path.endswith(".json"):
        document = json.loads(text)
        meta = document.pop("sops")
    elif path.endswith(".env"):
        document, meta = {}, {"age": []}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            key, value = line.split("=", 1)
            value = value.replace("\\n", "\n")
            if key.startswith("sops_age__list_"):
                index, field = key[len("sops_age__list_"):].split("__map_")
                while len(meta["age"]) <= int(index):
                    meta["age"].append({})
                meta["age"][int(index)][field] = value
            elif key.startswith("sops_"):
                meta[key[5:]] = value
            else:
                document[key] = value
    else:
        document = yaml.safe_load(text)
        meta = document.pop("sops")
    key = None
    for entry in meta["age"]:
        result = subprocess.run(["age", "-d", "-i", identity], input=entry["enc"].encode(), capture_output=True)
        if result.returncode == 0:
            key = result.stdout
            break
    assert key is not None and len(key) == 32, "no identity matches"
    suffix = meta.get("unencrypted_suffix", "")
    mac_only = str(meta.get("mac_only_encrypted", "false")).lower() == "true"
    digest = hashlib.sha512()
    if mac_only:
        digest.update(MAC_ONLY_ENCRYPTED_INIT)

    def leaf(value, path):
        encrypted = not (suffix and any(part.endswith(suffix) for part in path))
        if encrypted:
            plain, kind = decrypt_value(value, key, ":".join(path) + ":")
            value = plain.decode()
            if kind == "int":
                value = int(value)
            elif kind == "float":
                value = float(value)
            elif kind == "bool":
                value = value.lower() == "true"
        if encrypted or not mac_only:
            digest.update(typed_bytes(value)[1])
        return value

    plain = walk(document, [], leaf)
    stored, _ = decrypt_value(meta["mac"], key, meta["lastmodified"])
    assert stored.decode() == digest.hexdigest().upper(), "MAC mismatch"
    print(json.dumps(plain))


if __name__ == "__main__":
    if sys.argv[1] == "encrypt":
        encrypt(sys.argv[2], sys.argv[3].split(","), "--mac-only-encrypted" in sys.argv)
    else:
        try:
            decrypt(sys.argv[2], sys.argv[3])
        except Exception as error:  # noqa: BLE001 - any failure is a verification failure
            print(f"decrypt failed: {error}", file=sys.stderr)
            sys.exit(1)
