#!/usr/bin/python3
"""json_check.py SCHEMA [FILE]: validate one dbshift --json document (FILE, or
stdin) against docs/json.schema.json with python3-jsonschema.  Prints "valid"
or each error with its path, and exits 0 or 1."""
import json
import sys

import jsonschema


def main():
    with open(sys.argv[1]) as f:
        schema = json.load(f)
    text = open(sys.argv[2]).read() if len(sys.argv) > 2 else sys.stdin.read()
    try:
        doc = json.loads(text)
    except ValueError as e:
        print("not one JSON document: %s" % e)
        return 1
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    for e in errors:
        # the deepest reason: anyOf/allOf wrap the one that matters
        while e.context:
            e = sorted(e.context, key=lambda c: -len(c.path))[0]
        print("/%s: %s" % ("/".join(str(p) for p in e.absolute_path), e.message))
    if not errors:
        print("valid")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
