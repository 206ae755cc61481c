"""The signed tree head of an export, said in words (AUDIT-FORMAT.md §6) for the HTML record
and the web patient page."""

from __future__ import annotations

from html import escape
from typing import Any


def tree_head_line(sth: dict[str, Any] | None, check: dict[str, Any] | None = None) -> str:
    """`verified against tree head N, signed by key K` (or why not), as HTML."""
    if sth is None:
        return "not signed: the ledger has no signing key (REMS_SIGNING_KEY_FILE)"
    key = f'<code class="digest">{escape(str(sth["key_id"])[:16])}…</code>'
    if check is not None and not check.get("ok", False):
        problems = "; ".join(str(p) for p in check.get("problems", []))
        return (
            f'<span class="badge bad">NOT verified against tree head {sth["tree_size"]}</span> '
            f"(key {key}): {escape(problems)}"
        )
    return f"verified against tree head {sth['tree_size']}, signed by key {key}"


def tree_head_section(record: dict[str, Any]) -> str:
    """What the export proves and how an inspector checks it, in words."""
    sth, head = record.get("sth"), record.get("head")
    if sth is None or head is None:
        reason = record.get("unsigned") or "it carries no signed tree head"
        return (
            '<section id="tree-head"><h2>Signed tree head</h2><p class="note">This export '
            f"cannot be verified offline: {escape(str(reason))}.</p></section>"
        )
    line = tree_head_line(sth, record.get("tree_head_check"))
    published = record.get("consistency_from_published")
    since = (
        "It is the first tree head published."
        if published is None
        else f"It comes with a consistency proof from the tree head published before it "
        f"(size {published['first']}), so it extends that history without rewriting it."
    )
    return (
        '<section id="tree-head"><h2>Signed tree head</h2><p>This record is '
        f"{line} at {escape(str(sth['timestamp']))}: the program's Ed25519 "
        f"signature over a Merkle tree (RFC 9162) of all {sth['tree_size']} events of the "
        f"ledger up to log position {sth['last_position']}, and over a second tree of every "
        f"record's last event. {since}</p><p>The export holds each of this patient's "
        f"{len(record.get('events', []))} events exactly as stored, with its inclusion proof "
        "into the first tree, and the patient's last event (version "
        f"{head['version']}) with its proof into the second, so an inspector holding only the "
        "program's public key can check that no event was altered, removed (the last one "
        "included), reordered or added, without seeing any other patient's data.</p>"
        f'<p>Log root <code class="digest">{escape(str(sth["root_hash"]))}</code><br>Heads '
        f'root <code class="digest">{escape(str(sth["heads_root"]))}</code><br>Key '
        f'<code class="digest">{escape(str(sth["key_id"]))}</code></p></section>'
    )
