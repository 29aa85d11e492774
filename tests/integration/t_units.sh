# t_units.sh - one way to write a duration on the command line, as in
# dbshift.conf: 500ms, 2s, 5min, 1h, 7d; a bare number keeps the unit the
# option documents, and a bad value names the units accepted (exit 2).

t_units() {
	project units
	local url; url=$(newdb units) tag="$DRIVER units"
	printf -- '-- migrate:up\nCREATE TABLE t (id integer PRIMARY KEY);\n-- migrate:down\nDROP TABLE t;\n' > migrations/1_t.sql
	dbs --database "$url" --lock-wait 30s migrate --lock-timeout 2s
	check_rc 0 "$tag: --lock-wait 30s and --lock-timeout 2s"
	dbs --database "sqlite3:${url#sqlite:}" status
	check_contains "$OUT" "1 applied, 0 pending" "$tag: dbmate's sqlite3: URL names the same file"
	dbs --database "$url" migrate --lock-timeout 2x
	check_rc 2 "$tag: a bad --lock-timeout is refused"
	check_contains "$ERR" "bad --lock-timeout '2x': give a duration such as 500ms, 2s, 5min, 1h or 7d (a bare number is milliseconds)" \
		"$tag: naming the units and the bare number's"
	dbs --database "$url" --json assess --long-query 2min
	check_rc 0 "$tag: assess --long-query 2min"
	dbs --database "$url" assess --long-query soon
	check_rc 2 "$tag: a bad --long-query is refused"
	check_contains "$ERR" "(a bare number is seconds)" "$tag: whose bare unit is seconds"
	printf -- '-- dbshift:table t\n-- dbshift:key id\nUPDATE t SET id = id WHERE id BETWEEN :lo AND :hi;\n' > touch.sql
	dbs --database "$url" data run touch.sql --delay 1s --max-lag 2s --dry-run
	check_rc 0 "$tag: data run --delay 1s --max-lag 2s"
	dbs --database "$url" data run touch.sql --delay 1 --max-lag -5 --dry-run
	check_rc 2 "$tag: a negative --max-lag is refused"
	dbs --database "$url" backups prune --max-age 2w --dry-run
	check_rc 0 "$tag: backups prune --max-age 2w"
	dbs --database "$url" backups prune --max-age 30 --dry-run
	check_rc 0 "$tag: --max-age 30 (days)"
	dbs --database "$url" backups prune --max-age 3x --dry-run
	check_rc 2 "$tag: a bad --max-age is refused"
	check_contains "$ERR" "give an age such as 12h, 30d or 2w (a bare number is days)" "$tag: saying how to write one"
	cd "$WORK" || return
}

# t_color: colour only on a terminal (a pty made by script(1)), and never
# with NO_COLOR, --no-color or TERM=dumb; "--" ends the options.
t_color() {
	project color
	local tag="color" esc=$'\033['
	printf -- '-- migrate:up\nDROP TABLE items;\n' > migrations/1_drop.sql
	local cmd="$DBSHIFT lint migrations/1_drop.sql"
	check_contains "$(TERM=xterm script -qec "$cmd" /dev/null)" "${esc}31mred" "$tag: red in red on a terminal"
	check_lacks "$(TERM=xterm NO_COLOR=1 script -qec "$cmd" /dev/null)" "$esc" "$tag: none with NO_COLOR"
	check_lacks "$(TERM=xterm script -qec "$DBSHIFT --no-color lint migrations/1_drop.sql" /dev/null)" "$esc" "$tag: none with --no-color"
	check_lacks "$(TERM=dumb script -qec "$cmd" /dev/null)" "$esc" "$tag: none with TERM=dumb"
	dbs lint migrations/1_drop.sql
	check_lacks "$OUT" "$esc" "$tag: none off a terminal"
	cp migrations/1_drop.sql ./-odd.sql
	dbs lint -- -odd.sql
	check_contains "$OUT" "-odd.sql" "$tag: after --, a word starting with - is an argument"
	dbs lint -odd.sql
	check_rc 2 "$tag: before it, an unknown option"
	cd "$WORK" || return
}

# t_help: help from the command table, for each command with every option
# of its table; a mistyped command or option gets a "did you mean".
t_help() {
	project help
	local tag="help"
	dbs migrate --help
	check_rc 0 "$tag: migrate --help exits 0"
	check_contains "$OUT" "usage: dbshift [OPTIONS] migrate [TARGET] [--dry-run]" "$tag: the command's usage"
	local o
	for o in --dry-run --allow-drift --allow-out-of-order --phase --backup --force --lock-timeout; do
		check_contains "$OUT" "  $o" "$tag: migrate --help lists $o"
	done
	dbs help rollback
	check_rc 0 "$tag: help rollback"
	for o in --steps --from-backup --files-to --allow-irreversible; do
		check_contains "$OUT" "  $o" "$tag: help rollback lists $o"
	done
	dbs help
	check_rc 0 "$tag: help"
	check_eq "$(printf '%s\n' "$OUT" | awk 'length($0) > 80' | wc -l)" "0" "$tag: no line over 80 columns off a terminal"
	check_contains "$OUT" "  version" "$tag: lists version"
	dbs version
	check_contains "$OUT" "dbshift " "$tag: version"
	dbs migarte
	check_rc 2 "$tag: an unknown command"
	check_contains "$ERR" "unknown command 'migarte' (did you mean migrate?)" "$tag: did you mean"
	dbs help rolback
	check_contains "$ERR" "unknown command 'rolback' (did you mean rollback?)" "$tag: help of a mistyped command"
	dbs rollback --setps 2
	check_contains "$ERR" "unknown option '--setps' for rollback (did you mean --steps?)" "$tag: did you mean, for an option"
	cd "$WORK" || return
}
