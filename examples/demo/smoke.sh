#!/bin/sh
# smoke.sh - the demo's smoke test, run by dbshift as a hook (no shell
# in between): the database file is there and is not empty.
test -s demo.db || { echo "demo.db is missing or empty" >&2; exit 1; }
echo "smoke: demo.db is there ($DBSHIFT_STEP, run $DBSHIFT_RUN_ID)"
