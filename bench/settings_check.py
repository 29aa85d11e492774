#!/usr/bin/python3
"""settings_check.py KIND ORIGINAL RESULT RENAME SET REMOVE - is RESULT what
the settings (or dotenv) step should make of ORIGINAL?  The two are read
with Python's own readers (PyYAML, json, a .env reader) and compared with
ORIGINAL changed here the same way: each OLD -> NEW moved, each KEY = VALUE
set where absent (typed as the format types it), each KEY removed.  Every
comment line of ORIGINAL must still be in RESULT.  Prints "ok", or what
differs."""
import json
import re
import sys

import yaml

kind, original, result, rename, setting, remove = sys.argv[1:7]


class Unmerged(yaml.SafeLoader):
    """YAML read as written: an alias is the very object of its anchor and a
    merge key (<<) stays a key, so a change made to an anchored mapping is
    seen wherever it is used, as editing the file's text does."""

    def flatten_mapping(self, node):
        pass


Unmerged.add_constructor("tag:yaml.org,2002:merge", lambda loader, node: "<<")


def pairs(text, sep):
    out = []
    for item in re.findall(r'(?:[^,"]|"[^"]*")+', text):
        k, v = item.split(sep, 1)
        out.append((k.strip().strip('"'), v.strip().strip('"')))
    return out


def read(path):
    text = open(path, encoding="utf-8").read()
    if kind == "dotenv":
        env = {}
        for line in text.splitlines():
            m = re.match(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$", line)
            if not m:
                continue
            v = m.group(2)
            if v and v[0] in "'\"":
                v = v[1:v.index(v[0], 1)]
            else:
                v = re.split(r"\s#", v)[0].strip()
            env[m.group(1)] = v
        return text, env
    if result.endswith(".json"):
        return text, json.loads(text)
    return text, yaml.load(text, Loader=Unmerged)


def get(d, path):
    for p in path.split("."):
        if not isinstance(d, dict) or p not in d:
            return None, False
        d = d[p]
    return d, True


def put(d, path, v):
    parts = path.split(".")
    for p in parts[:-1]:
        d = d.setdefault(p, {})
    d[parts[-1]] = v


def delete(d, path):
    parts = path.split(".")
    for p in parts[:-1]:
        d = d.get(p, {})
    d.pop(parts[-1], None)


def typed(v, env):
    if kind == "dotenv":
        return re.sub(r"\$\{([^}]*)\}", lambda m: env[m.group(1)], v)
    if result.endswith(".json"):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return yaml.safe_load(v) if v else v


otext, want = read(original)
rtext, got = read(result)
flat = kind == "dotenv"
for old, new in pairs(rename, "->"):
    v, there = (want.get(old), old in want) if flat else get(want, old)
    if there:
        (want.pop(old) if flat else delete(want, old))
        if flat:
            want[new] = v
        else:
            put(want, new, v)
for key, value in pairs(setting, "="):
    there = key in want if flat else get(want, key)[1]
    if not there:
        v = typed(value, want)
        if flat:
            want[key] = v
        else:
            put(want, key, v)
for key in re.findall(r"[^\s,]+", remove):
    (want.pop(key, None) if flat else delete(want, key))

problems = []
if got != want:
    problems.append("the values differ from what was asked:\n  want %r\n  got  %r" % (want, got))
comments = [line.strip() for line in otext.splitlines() if line.strip().startswith("#")]
kept = [line.strip() for line in rtext.splitlines()]
for c in comments:
    if c not in kept:
        problems.append("a comment is gone: %s" % c)
        break
print("ok" if not problems else "\n".join(problems))
