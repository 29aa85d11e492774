#!/usr/bin/env bash
# run.sh - the whole test suite: install what is missing, build, run the
# unit and integration tests, then build again under ASan+UBSan and run
# them all once more.  Ends with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0

count_unit() {  # BUILD_DIR
	local t out p f
	for t in "$1"/test_*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		out=$("$t" 2>&1)
		p=$(printf '%s\n' "$out" | sed -n 's/^.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
		f=$(printf '%s\n' "$out" | sed -n 's/^.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
		if [ -z "$p$f" ]; then
			echo "not ok - $(basename "$t") crashed:"; printf '%s\n' "$out" | tail -n 20
			f=1
		fi
		[ -n "$f" ] && [ "$f" != 0 ] && printf '%s\n' "$out" | grep -E 'FAILED|ERROR|LINE' | head -n 20
		passed=$((passed + ${p:-0}))
		failed=$((failed + ${f:-0}))
	done
}

count_script() {  # LABEL SCRIPT ARG: a script that ends with "LABEL: N passed, N failed"
	local label=$1 out line arg=$3
	[ -d "$arg" ] && arg=$arg/dbshift
	out=$("$2" "$arg" 2>&1)
	printf '%s\n' "$out" | grep -v "^$label: " || true
	line=$(printf '%s\n' "$out" | grep "^$label: " | tail -n 1)
	if [ -z "$line" ]; then
		echo "not ok - $label tests did not finish"; failed=$((failed + 1)); return
	fi
	passed=$((passed + $(echo "$line" | sed 's/.*: \([0-9]*\) passed.*/\1/')))
	failed=$((failed + $(echo "$line" | sed 's/.* \([0-9]*\) failed.*/\1/')))
}

run_suite() {  # NAME BUILD_DIR MESON_OPTIONS...
	local name=$1 dir=$2
	shift 2
	echo "== $name"
	if ! scripts/build.sh "$dir" "$@"; then
		echo "not ok - build $name"; failed=$((failed + 1)); return
	fi
	local p0=$passed f0=$failed
	export ARTIFACTS="$PWD/$dir/artifacts"  # the integration tests' screenshots
	count_unit "$dir"
	count_script lint tests/lint/run.sh "$dir"
	count_script integration tests/integration/run.sh "$dir"
	echo "$name: $((passed - p0)) passed, $((failed - f0)) failed"
}

run_suite "build" build
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
run_suite "ASan+UBSan" build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

# the fuzz harnesses, FUZZ_SECONDS (30) each on their corpus
echo "== fuzz"
count_script fuzz tests/fuzz/run.sh "${FUZZ_SECONDS:-30}"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
