#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Write a gettext catalog (po/LANG.po) as the JSON the browser page reads:
{"lang": "nl", "messages": {"msgid": "msgstr", ...}}.  Fuzzy, obsolete and
untranslated entries are left out, as msgfmt leaves them out of a .mo."""
import ast
import json
import sys


def entries(path):
    entry, field, fuzzy = {}, None, False
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#~"):
                if entry:
                    yield entry, fuzzy
                entry, field, fuzzy = {}, None, False
                continue
            if line.startswith("#"):
                if line.startswith("#,") and "fuzzy" in line:
                    fuzzy = True
                continue
            if line.startswith('"'):
                entry[field] += ast.literal_eval(line)
                continue
            key, _, value = line.partition(" ")
            if key == "msgid" and "msgid" in entry:
                yield entry, fuzzy
                entry, fuzzy = {}, False
            field = key
            entry[field] = ast.literal_eval(value)
    if entry:
        yield entry, fuzzy


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: cg-po2json.py LANG FILE.po OUT.json")
    lang, po, out = sys.argv[1:]
    messages = {}
    for entry, fuzzy in entries(po):
        msgid, msgstr = entry.get("msgid", ""), entry.get("msgstr", "")
        if msgid and msgstr and not fuzzy and "msgctxt" not in entry:
            messages[msgid] = msgstr
    if not messages:
        sys.exit(f"{po}: no translations found")
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"lang": lang, "messages": messages}, f, ensure_ascii=False, indent=0,
                  sort_keys=True)
        f.write("\n")
    import os
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
