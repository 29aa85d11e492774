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
	# the help texts, exactly (golden files: update them with the change)
	local f
	for f in help help-migrate help-status; do
		dbs ${f//-/ }
		check_eq "$OUT" "$(cat "$HERE/golden/$f.txt")" "$tag: dbshift ${f//-/ } is golden/$f.txt"
	done
	dbs migarte
	check_rc 2 "$tag: an unknown command"
	check_contains "$ERR" "unknown command 'migarte' (did you mean migrate?)" "$tag: did you mean"
	dbs help rolback
	check_contains "$ERR" "unknown command 'rolback' (did you mean rollback?)" "$tag: help of a mistyped command"
	dbs rollback --setps 2
	check_contains "$ERR" "unknown option '--setps' for rollback (did you mean --steps?)" "$tag: did you mean, for an option"
	# status --exit-code: a CI gate on pending migrations
	local url; url=$(newdb help_gate)
	printf -- '-- migrate:up\nCREATE TABLE g (id integer);\n-- migrate:down\nDROP TABLE g;\n' > migrations/1_g.sql
	dbs --database "$url" status --exit-code
	check_rc 1 "$tag: status --exit-code is 1 with a migration pending"
	check_contains "$OUT" "0 applied, 1 pending" "$tag: and still shows the status"
	dbs --database "$url" status --exit-code --runs
	check_rc 2 "$tag: --exit-code with --runs is refused"
	check_contains "$ERR" "--exit-code does not go with --runs" "$tag: saying so"
	dbs help --man frob
	check_rc 2 "$tag: help --man of no command"
	check_contains "$ERR" "no man page 'frob': give a command, dbshift or dbshift.conf" "$tag: says what to give"
	dbs --database "$url" --json status --exit-code
	check_eq "$(printf '%s' "$OUT" | jq -c '[.ok, .exit_code, .summary.pending]')" "[false,1,1]" "$tag: so does its JSON"
	dbs --database "$url" migrate
	dbs --database "$url" status --exit-code
	check_rc 0 "$tag: and 0 with nothing pending"
	printf -- '-- migrate:up\nCREATE TABLE h (id integer);\n-- migrate:down\nDROP TABLE h;\n' > migrations/2_h.sql
	dbs --database "$url" status
	check_rc 0 "$tag: without --exit-code, pending is no failure"
	check_contains "$OUT" "1 applied, 1 pending" "$tag: (one pending)"
	cd "$WORK" || return
}

# t_new_layouts: new writes the way the directory's newest migration is
# written (the file names, the markers, a pair of files, a directory), and
# counts where the directory counts.
t_new_layouts() {
	project newlay
	local tag="new layouts" lay
	for lay in dbmate goose golang seq flyway diesel; do mkdir -p "$lay"; done
	printf -- '-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down\nDROP TABLE a;\n' > dbmate/20240101000000_a.sql
	printf -- '-- +goose Up\nCREATE TABLE a (id int);\n-- +goose Down\nDROP TABLE a;\n' > goose/20240101000000_a.sql
	printf 'CREATE TABLE a (id int);\n' > golang/20240101000000_a.up.sql
	printf 'DROP TABLE a;\n' > golang/20240101000000_a.down.sql
	printf 'CREATE TABLE a (id int);\n' > seq/000001_a.up.sql
	printf 'DROP TABLE a;\n' > seq/000001_a.down.sql
	printf 'CREATE TABLE b (id int);\n' > seq/000002_b.up.sql
	printf 'DROP TABLE b;\n' > seq/000002_b.down.sql
	printf 'CREATE TABLE a (id int);\n' > flyway/V1__a.sql
	printf 'CREATE TABLE b (id int);\n' > flyway/V2__b.sql
	mkdir -p diesel/2019-04-12-101530_a
	printf 'CREATE TABLE a (id int);\n' > diesel/2019-04-12-101530_a/up.sql
	printf 'DROP TABLE a;\n' > diesel/2019-04-12-101530_a/down.sql
	local ts='[0-9]\{14\}'
	dbs --dir dbmate new add_x
	check_eq "$(echo "$OUT" | sed "s/$ts/T/")" "created dbmate/T_add_x.sql" "$tag: dbmate's name"
	check_eq "$(head -n 1 dbmate/*_add_x.sql)" "-- migrate:up" "$tag: dbmate's markers"
	dbs --dir goose new add_x
	check_eq "$(head -n 1 goose/*_add_x.sql)" "-- +goose Up" "$tag: goose's markers in goose's directory"
	dbs --dir golang new add_x
	check_eq "$(cd golang && ls *_add_x.* | sed "s/$ts/T/" | tr '\n' ' ')" "T_add_x.down.sql T_add_x.up.sql " \
		"$tag: golang-migrate's pair of files"
	dbs --dir seq new add_x
	check_eq "$OUT" "created seq/000003_add_x.up.sql" "$tag: the next number where the directory counts"
	check_eq "$(ls seq/000003_add_x.down.sql)" "seq/000003_add_x.down.sql" "$tag: with its down"
	dbs --dir flyway new add_x
	check_eq "$OUT" "created flyway/V3__add_x.sql" "$tag: Flyway's next version"
	check_eq "$(ls flyway/U3__add_x.sql)" "flyway/U3__add_x.sql" "$tag: with its undo file"
	dbs --dir diesel new add_x
	check_eq "$(echo "$OUT" | sed 's/[0-9]\{4\}-[0-9]\{2\}-[0-9]\{2\}-[0-9]\{6\}/T/')" "created diesel/T_add_x/up.sql" \
		"$tag: a Diesel directory, named as diesel names it"
	dbs --dir seq --database "sqlite:$WORK/newlay.db" status
	check_contains "$OUT" "0 applied, 3 pending" "$tag: what new wrote is read back as a migration"
	dbs --dir flyway --database "sqlite:$WORK/newlay.db" status
	check_contains "$OUT" "0 applied, 3 pending" "$tag: in Flyway's layout too"
	cd "$WORK" || return
}
