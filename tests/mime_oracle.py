#!/usr/bin/env python3
"""The oracle for tests/mime_oracle.rs: what Python's standard `email` package reads in each message.

Usage: python3 tests/mime_oracle.py DIR. Reads every DIR/*.eml with `email.policy.default` and prints
one JSON object, file name to fields: subject, from, to, cc (lists of [display name, address]),
message_id, date (seconds since the epoch), text and html (the bodies `get_body` picks), and
attachments ([name or null, decoded size or null, content type] for each leaf part that is not one of
those bodies and not an unnamed inline text part). Only the standard library is used, so it runs on
every CI machine; strings Python could only hold with surrogate escapes come out with U+FFFD.
"""

import email
import email.policy
import json
import os
import sys


def clean(s):
    if s is None:
        return None
    return str(s).encode("utf-8", "surrogateescape").decode("utf-8", "replace").encode("utf-8", "replace").decode("utf-8")


def guard(f):
    try:
        return f()
    except Exception as e:  # the oracle reports what it cannot read instead of stopping
        return {"error": f"{type(e).__name__}: {e}"}


def addresses(msg, name):
    header = msg[name]
    if header is None:
        return []
    out = []
    for a in getattr(header, "addresses", ()):
        addr = clean(a.addr_spec) if a.username or a.domain else ""
        if addr:
            out.append([clean(a.display_name) or addr, addr])
    return out


def message_id(msg):
    v = msg["message-id"]
    if v is None:
        return None
    s = clean(v).strip()
    if "<" in s and ">" in s[s.index("<"):]:
        s = s[s.index("<") + 1:s.index(">", s.index("<"))]
    return f"<{s}>" if s else None


def date(msg):
    v = msg["date"]
    dt = getattr(v, "datetime", None) if v is not None else None
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=__import__("datetime").timezone.utc)
    return int(dt.timestamp())


def leaves(part):
    """Leaf parts in order, not descending into message/* parts."""
    if part.get_content_maintype() == "multipart" and part.is_multipart():
        for sub in part.iter_parts():
            yield from leaves(sub)
    else:
        yield part


def body_text(part):
    return None if part is None else clean(part.get_content())


def read(path):
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    out = {
        "subject": guard(lambda: None if msg["subject"] is None else clean(msg["subject"])),
        "from": guard(lambda: (addresses(msg, "from") or [None])[0]),
        "to": guard(lambda: addresses(msg, "to")),
        "cc": guard(lambda: addresses(msg, "cc")),
        "message_id": guard(lambda: message_id(msg)),
        "date": guard(lambda: date(msg)),
    }
    plain = guard(lambda: msg.get_body(preferencelist=("plain",)))
    html = guard(lambda: msg.get_body(preferencelist=("html",)))
    out["text"] = plain if isinstance(plain, dict) else guard(lambda: body_text(plain))
    out["html"] = html if isinstance(html, dict) else guard(lambda: body_text(html))
    bodies = [p for p in (plain, html) if not isinstance(p, dict) and p is not None]

    def attachments():
        found = []
        for leaf in leaves(msg):
            if any(leaf is b for b in bodies):
                continue
            name = leaf.get_filename()
            ctype = leaf.get_content_type()
            if ctype in ("text/plain", "text/html") and not name and leaf.get_content_disposition() != "attachment":
                continue
            data = leaf.get_payload(decode=True) if leaf.get_content_maintype() != "message" else None
            found.append([clean(name), None if data is None else len(data), ctype])
        return found

    out["attachments"] = guard(attachments)
    return out


def main():
    folder = sys.argv[1]
    result = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".eml"):
            result[name[:-4]] = guard(lambda: read(os.path.join(folder, name)))
    json.dump(result, sys.stdout, ensure_ascii=True, sort_keys=True)


if __name__ == "__main__":
    main()
