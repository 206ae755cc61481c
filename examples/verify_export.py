"""Verify a REMS export offline (AUDIT-FORMAT.md §6) with hashlib, json and cryptography only:
`python verify_export.py EXPORT KEYFILE [PATIENT_ID]` prints {"ok", "problems"}; exit 0/1/2."""

import base64
import decimal
import hashlib
import json
import pathlib
import re
import sys
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def jcs(v):
    """RFC 8785: keys sorted by UTF-16 code units, no spaces, numbers as ECMAScript writes."""
    if isinstance(v, dict):
        items = sorted(v.items(), key=lambda kv: kv[0].encode("utf-16-be"))
        return "{" + ",".join(f"{jcs(k)}:{jcs(x)}" for k, x in items) + "}"
    if isinstance(v, list):
        return "[" + ",".join(map(jcs, v)) + "]"
    if not isinstance(v, float) or v == 0:
        return "0" if isinstance(v, float) else json.dumps(v, ensure_ascii=False)
    if 1e-6 <= abs(v) < 1e21:
        return format(decimal.Decimal(repr(v)).normalize(), "f")
    return re.sub(r"e([+-])0*(\d)", r"e\1\2", repr(v))


def event_hash(ev):
    """§1: v2 (`chain` 2) is SHA-256 of JCS(E); v1 (no `chain`) of sorted-keys json.dumps."""
    e = {k: x for k, x in ev["state"].items() if k not in ("hash", "class_version")}
    e.update({k: ev[k] for k in ("originator_id", "originator_version", "topic")})
    v1 = json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    text = v1 if "chain" not in e else jcs(e) if type(e["chain"]) is int and e["chain"] == 2 else ""
    return hashlib.sha256(text.encode()).hexdigest() if text else None


def included(data, proof, size, root_hex):
    """RFC 9162 §2.1.3.2: does the proof's audit path lead from the leaf `data` to the root?"""
    fn, sn, r = proof["leaf_index"], size - 1, hashlib.sha256(b"\x00" + data.encode()).digest()
    for p in map(bytes.fromhex, proof["inclusion_proof"]):
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    return proof["leaf_index"] < size and sn == 0 and r == bytes.fromhex(root_hex)


def verify(export, keys, patient=None):
    sth, problems = export["sth"], []
    key = {k["key_id"]: k for k in (keys if isinstance(keys, list) else [keys])}[sth["key_id"]]
    raw = base64.urlsafe_b64decode(key["public_key"] + "==")
    signature = base64.urlsafe_b64decode(sth["signature"] + "==")
    try:
        assert hashlib.sha256(raw).hexdigest() == key["key_id"]
        body = {k: v for k, v in sth.items() if k != "signature"}
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, jcs(body).encode())
    except Exception:
        problems.append("the tree head's signature does not verify")
    program = uuid.UUID("0f5b8a3e-54a1-5d0c-9d7e-6a1c2f0e7b41")  # §1: aggregate IDs' namespace
    want = patient and str(uuid.uuid5(program, "patient:" + patient))
    previous, last = "0" * 64, ("no event",)
    for number, ev in enumerate(export["events"], start=1):
        aid, version, h = ev["originator_id"], ev["originator_version"], ev["state"].get("hash")
        at = f"position {ev['position']}, {aid} v{version}"
        if want and aid != want:
            problems.append(f"{at}: not an event of patient {patient}")
        if version != number or ev["state"].get("previous_hash") != previous:
            problems.append(f"{at}: the chain is broken (a version is missing or out of order)")
        if event_hash(ev) != h:
            problems.append(f"{at}: its state does not match its hash")
        leaf = f"rems-leaf-v2:{ev['position']}:{aid}:{version}:{h}"
        if not included(leaf, ev, sth["tree_size"], sth["root_hash"]):
            problems.append(f"{at}: its inclusion proof does not lead to the signed root")
        previous, last = h, (at, aid, version, h)
    head = ((hd := export["head"])["originator_id"], hd["version"], hd["hash"])
    if last[1:] != head or (want and head[0] != want):
        problems.append(f"{last[0]}: the last event is not the patient's head v{hd['version']}")
    leaf = "rems-head-v2:" + ":".join(map(str, head))
    if not included(leaf, hd, hd["tree_size"], sth["heads_root"]):
        problems.append(f"head {head[0]} v{head[1]}: its proof does not lead to the heads root")
    return problems


if __name__ == "__main__":
    try:
        found = verify(
            *(json.loads(pathlib.Path(p).read_text()) for p in sys.argv[1:3]), *sys.argv[3:]
        )
    except (OSError, ValueError, LookupError, TypeError, AttributeError) as error:
        sys.exit(print(json.dumps({"ok": False, "error": f"unreadable input: {error!r}"})) or 2)
    print(json.dumps({"ok": not found, "problems": found}))
    sys.exit(1 if found else 0)
