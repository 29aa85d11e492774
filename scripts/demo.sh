#!/usr/bin/env bash
# demo.sh - build dbshift and take the demo project (examples/demo) through
# status, plan, lint, migrate, status and rollback on an embedded SQLite
# database, lists the runs it recorded (status --runs), then shows what
# the release runbook ([release] in its dbshift.conf) would do.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build  # what building takes; tests/run.sh installs the rest
scripts/build.sh
dbshift=$PWD/build/dbshift
cd examples/demo
rm -f demo.db

bold= plain=
if [ -t 1 ]; then bold=$(printf '\033[1m') plain=$(printf '\033[0m'); fi
step() { printf '\n%s$ dbshift %s%s\n' "$bold" "$*" "$plain"; "$dbshift" "$@"; }
step status
step plan
step lint
step migrate
step status
step rollback
step status
step status --runs
step release --dry-run
printf '\nthe log of these runs is in examples/demo/logs/dbshift.log\n'
printf 'to see runs live: (cd examples/demo && ../../build/dbshift serve), then open http://127.0.0.1:8765/\n'
