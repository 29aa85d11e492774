#!/usr/bin/env bash
# run.sh [SECONDS] - build the fuzz harnesses with clang's libFuzzer, ASan
# and UBSan, and run each for SECONDS (default 30) on its corpus; ends with
# "fuzz: N passed, N failed" (a harness passes when it found no crash, leak
# or hang).  New inputs found go to build-fuzz/corpus/NAME, not the tree.
# FUZZ_ONLY="url lint" runs some harnesses; FUZZ_OUT=DIR builds elsewhere.
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-30}
out=${FUZZ_OUT:-build-fuzz}
mkdir -p "$out/obj" "$out/include/dbshift"
# the version header meson makes from meson.build's version
sed "s/@VERSION@/$(sed -n "s/^  version : '\(.*\)',$/\1/p" meson.build)/" include/dbshift/version.h.in \
	> "$out/include/dbshift/version.h"
# the Django helper meson compiles in (django.c includes it)
python3 scripts/embed.py src/lib/framework/django_helper.py "$out/include/django_helper.h" \
	django_helper_py || { echo "fuzz: 0 passed, 1 failed"; exit 1; }
CFLAGS="-g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer-no-link,address,undefined
	-fno-sanitize-recover=undefined -I$out/include -Iinclude -Isrc -Isrc/lib $(pkg-config --cflags libpq jansson inih libxml-2.0 libarchive libfyaml)"
LIBS="$(pkg-config --libs libpq sqlite3 jansson inih libcrypto libcurl libxml-2.0 libarchive zlib libfyaml) -lpg_query -lpthread"
passed=0
failed=0
objs=()
newest_h=$(ls -t src/util/*.h src/lib/*/*.h include/dbshift/* src/lib/framework/django_helper.py |
	head -n 1)
for src in src/util/*.c src/lib/*/*.c; do
	o=${src#src/}
	o="$out/obj/${o//\//_}"
	o="${o%.c}.o"
	if [ ! -f "$o" ] || [ "$src" -nt "$o" ] || [ "$newest_h" -nt "$o" ]; then
		# shellcheck disable=SC2086
		clang $CFLAGS -c "$src" -o "$o" || { echo "fuzz: 0 passed, 1 failed"; exit 1; }
	fi
	objs+=("$o")
done
for h in ${FUZZ_ONLY:-source config url lint check}; do
	bin="$out/fuzz_$h"
	# shellcheck disable=SC2086
	if ! clang $CFLAGS -fsanitize=fuzzer "tests/fuzz/fuzz_$h.c" "${objs[@]}" $LIBS -o "$bin"; then
		echo "not ok - fuzz_$h does not build"; failed=$((failed + 1)); continue
	fi
	mkdir -p "$out/corpus/$h"
	log="$out/fuzz_$h.log"
	seeds=("tests/fuzz/corpus/$h")
	[ "$h" = lint ] && seeds+=(examples/demo/migrations)
	if ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -artifact_prefix="$out/crash-$h-" "$out/corpus/$h" "${seeds[@]}" \
		>"$log" 2>&1; then
		passed=$((passed + 1))
		echo "ok - fuzz_$h: $(grep -o '#[0-9]*.*DONE.*' "$log" | tail -n 1 | awk '{print $1}' | tr -d '#') runs in ${secs}s"
	else
		failed=$((failed + 1))
		echo "not ok - fuzz_$h:"; grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 5
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" = 0 ]
