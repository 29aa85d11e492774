# t_install.sh - meson install puts in place the program, the shared and
# static library, the headers, the pkg-config file, the man pages and the
# completions; a program built against what was installed (pkg-config)
# runs; the man pages and completions come from the command tables.

t_install() {
	local build dest="$WORK/dest" tag="install"
	build=$(dirname "$DBSHIFT")
	rm -rf "$dest"
	if ! meson install -C "$build" --destdir "$dest" --no-rebuild >"$WORK/install.log" 2>&1; then
		not_ok "$tag: meson install" "$(tail -n 20 "$WORK/install.log")"
		return
	fi
	ok "$tag: meson install"
	local f
	for f in bin/dbshift include/dbshift/dbshift.h include/dbshift/version.h \
		share/man/man1/dbshift.1 share/man/man5/dbshift.conf.5 \
		share/bash-completion/completions/dbshift.bash share/zsh/site-functions/_dbshift \
		share/fish/vendor_completions.d/dbshift.fish; do
		check_eq "$(find "$dest" -path "*/$f" | wc -l)" "1" "$tag: $f"
	done
	for f in libdbshift.a libdbshift.so dbshift.pc; do
		check_eq "$(find "$dest" -name "$f" | wc -l)" "1" "$tag: $f"
	done
	local man; man=$(find "$dest" -name dbshift.1)
	check_contains "$(head -n 1 "$man")" ".TH DBSHIFT 1" "$tag: dbshift(1) is a man page"
	check_contains "$(cat "$man")" 'B \-\-lock\-timeout DURATION' "$tag: with each command's options"
	check_contains "$(cat "$(find "$dest" -name dbshift.conf.5)")" '.B manage_timeout = 1h' \
		"$tag: dbshift.conf(5) has every key with its default"
	# a page for each command 'dbshift help' lists, but the aliases
	local cmds missing=""
	cmds=$("$DBSHIFT" help | sed -n 's/^  \([a-z][a-z]*\).*/\1/p' | grep -vx -e up -e down)
	for f in $cmds; do
		[ -n "$(find "$dest" -path "*/man1/dbshift-$f.1")" ] || missing="$missing $f"
	done
	check_eq "$missing" "" "$tag: dbshift-COMMAND(1) for every command"
	check_eq "$(echo "$cmds" | wc -l)" "29" "$tag: (29 commands)"
	man=$(find "$dest" -name dbshift-rollback.1)
	check_contains "$(cat "$man")" '.TH DBSHIFT\-ROLLBACK 1' "$tag: dbshift-rollback(1) is a man page"
	check_contains "$(cat "$man")" '.B \-\-allow\-irreversible' "$tag: with the command's options"
	check_contains "$(cat "$man")" 'dbshift down
is the same command.' "$tag: and its alias"
	check_contains "$(MANWIDTH=80 man -l "$man" 2>/dev/null)" "rollback [TARGET | [APP] --steps N] [--dry-run]" "$tag: man reads it"
	local so; so=$(find "$dest" -name 'libdbshift.so.*.*.*')
	check_eq "$(nm -D --defined-only "$so" | awk '{ print $3 }' | grep -vc '^dbs_')" "0" \
		"$tag: the shared library exports the public API (dbs_*) only"
	check_eq "$(nm -D --defined-only "$so" | grep -c ' dbs_open$')" "1" "$tag: such as dbs_open"
	local comp; comp=$(find "$dest" -name dbshift.bash)
	check_eq "$(bash -c '. "$1"; COMP_WORDS=(dbshift rollback --st); COMP_CWORD=2; _dbshift; echo "${COMPREPLY[*]}"' _ "$comp")" \
		"--steps" "$tag: the bash completion completes a command's option"

	# a program against the installed library (not in a sanitized build:
	# its library needs the sanitizers' runtime)
	local san; san=$(meson introspect "$build" --buildoptions | jq -r '.[] | select(.name == "b_sanitize") | .value')
	[ "$san" = none ] || return
	local pc; pc=$(dirname "$(find "$dest" -name dbshift.pc)")
	printf '#include <stdio.h>\n#include <dbshift/dbshift.h>\nint main(void)\n{\n\tint ms = 0;\n\tdbs_parse_duration("1.5min", &ms);\n\tprintf("%%s %%d\\n", DBSHIFT_VERSION, ms);\n\treturn 0;\n}\n' > "$WORK/use.c"
	# shellcheck disable=SC2046
	if cc -o "$WORK/use" "$WORK/use.c" $(PKG_CONFIG_PATH="$pc" PKG_CONFIG_SYSROOT_DIR="$dest" pkg-config --cflags --libs dbshift) 2>"$WORK/cc.log"; then
		check_eq "$(LD_LIBRARY_PATH=$(dirname "$(find "$dest" -name libdbshift.so)") "$WORK/use")" \
			"$("$DBSHIFT" --version | cut -d' ' -f2) 90000" "$tag: a program built with pkg-config against it runs"
	else
		not_ok "$tag: a program builds against the installed library" "$(cat "$WORK/cc.log")"
	fi
}

# t_ci: the CI examples parse as YAML and use commands and options that
# exist; they lint with --format github and SARIF, keep the plan of
# migrate --dry-run --json, and run release --dry-run.
t_ci() {
	local tag="ci examples" f out
	out=$(/usr/bin/python3 "$HERE/ci_check.py" "$DBSHIFT" "$HERE"/../../examples/ci/*.yml 2>&1)
	check_eq "$out" "ok: 17 dbshift commands" "$tag: YAML, and every dbshift command and option exists"
	check_contains "$(cat "$HERE/../../examples/ci/fleet-github-actions.yml")" "dbshift fleet migrate --shard \${{ matrix.shard }}/4" \
		"$tag: the fleet over a GitHub Actions matrix takes a shard per runner"
	check_eq "$(/usr/bin/python3 -c 'import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))["spec"]
env = {e["name"]: e.get("value") for e in d["template"]["spec"]["containers"][0]["env"]}
print(d["completionMode"], d["completions"] == int(env["DBSHIFT_SHARD_COUNT"]), " ".join(d["template"]["spec"]["containers"][0]["command"]))' "$HERE/../../examples/ci/fleet-k8s-indexed-job.yml" 2>&1)" \
		"Indexed True dbshift fleet migrate" "$tag: the Kubernetes Indexed Job passes its completions as DBSHIFT_SHARD_COUNT"
	for f in github-actions gitlab-ci; do
		out=$(cat "$HERE/../../examples/ci/$f.yml")
		check_contains "$out" "dbshift lint --format sarif" "$tag: $f lints to SARIF"
		check_contains "$out" "dbshift migrate --dry-run --json > plan.json" "$tag: $f keeps the plan"
		check_contains "$out" "dbshift release --dry-run --json" "$tag: $f has a release dry run"
	done
	check_contains "$(cat "$HERE/../../examples/ci/github-actions.yml")" "dbshift lint --format github --fail-on red" \
		"$tag: github-actions annotates the pull request"
	check_contains "$(cat "$HERE/../../examples/ci/github-actions.yml")" "upload-sarif" "$tag: and uploads the SARIF"
	# the check can fail
	printf 'jobs:\n  x:\n    steps:\n      - run: dbshift migrate --dryrun && dbshift frob\n' > "$WORK/bad.yml"
	out=$(/usr/bin/python3 "$HERE/ci_check.py" "$DBSHIFT" "$WORK/bad.yml" 2>&1)
	check_eq "$out" "$WORK/bad.yml: dbshift migrate: no option --dryrun
$WORK/bad.yml: dbshift frob: no such command" "$tag: a misspelt option or command is caught"
	printf 'a: [b\n' > "$WORK/bad.yml"
	check_contains "$(/usr/bin/python3 "$HERE/ci_check.py" "$DBSHIFT" "$WORK/bad.yml" 2>&1)" "not YAML" "$tag: and YAML that does not parse"
}
