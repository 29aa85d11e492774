# t_readme.sh - the README's examples run as written: every dbshift.conf
# example loads (in each environment it names), and the Django walkthrough
# gives the exit codes its comments promise.

t_readme() {
	local tag="readme" readme="$HERE/../../README.md" n=0 f env envs
	project readme
	# each ```ini block, a file of its own
	awk -v dir="$PWD" '/^```ini$/ { n++; f = dir "/example" n ".conf"; next }
		/^```$/ { f = ""; next } f { print > f }' "$readme"
	for f in example*.conf; do
		n=$((n + 1))
		dbs --config "$f" settings
		check_rc 0 "$tag: the example in $f loads"
		envs=$(sed -n 's/^\[\(env\|release\) "\([^"]*\)"\].*/\2/p' "$f" | sort -u)
		for env in $envs; do
			dbs --config "$f" --env "$env" settings
			check_rc 0 "$tag: the example in $f loads with --env $env"
			[ "$RC" = 0 ] || echo "$ERR" | head -n 3
		done
	done
	check_eq "$([ "$n" -ge 3 ] && echo yes)" "yes" "$tag: the README's ini examples were found ($n)"
	cd "$WORK" || return

	# the Django walkthrough, each line as written, its exit code as its comment says
	project readme_django
	cp -r "$HERE/../../examples/django/." .
	rm -f db.sqlite3
	local line cmd want
	while IFS= read -r line; do
		cmd=${line%%#*}
		cmd=${cmd%"${cmd##*[! ]}"}
		case $cmd in dbshift\ *) ;; *) continue ;; esac
		case ${line#"$cmd"} in *refused*) want=3 ;; *) want=0 ;; esac
		# shellcheck disable=SC2086  # the line's words, as a shell would split them
		env -u DATABASE_URL "$DBSHIFT" ${cmd#dbshift } > "$WORK/readme.out" 2>&1
		check_eq "$?" "$want" "$tag: django walkthrough: $cmd"
	done < <(sed -n '/^### Walkthrough: examples\/django/,/^```$/p' "$readme" | sed -n '/^```sh$/,/^```$/p')
	cd "$WORK" || return
}
