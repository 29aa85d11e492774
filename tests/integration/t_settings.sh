# t_settings.sh - the keys of dbshift.conf come from one table: 'dbshift
# settings' lists them, and a value a key cannot take is refused.

t_settings() {
	project settings
	local tag="settings"
	dbs settings
	check_rc 0 "$tag: exits 0"
	check_contains "$OUT" "  max_risk           red                the worst lint level migrate applies without --force" \
		"$tag: a key, its default and what it does"
	check_eq "$(echo "$OUT" | grep -c '^  [a-z0-9_]* ')" "60" "$tag: every key, a line each"
	dbs --json settings
	check_eq "$(echo "$OUT" | jq -r '.settings[] | select(.key == "lock_wait") | .default')" "60s" \
		"$tag: --json gives the same table"
	printf '[dbshift]\nnotify_url = hooks.example.com/x\n' > dbshift.conf
	dbs --database "sqlite:$WORK/settings.db" status
	check_rc 2 "$tag: a value the key cannot take exits 2"
	check_eq "$ERR" "dbshift: error: dbshift.conf:2:1: bad notify_url 'hooks.example.com/x'
HINT: give http:// or https:// URLs, separated by blanks" \
		"$tag: and says so, naming file and line"
	check_eq "$([ -e "$WORK/settings.db" ] && echo exists || echo none)" "none" \
		"$tag: nothing was opened"
	# a driver writes the formats it lists, and refuses the others
	rm dbshift.conf
	dbs --database "sqlite:$WORK/settings.db" backup --format plain
	check_rc 2 "$tag: a dump format SQLite does not write exits 2"
	check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: unknown backup format 'plain': use sqlite" \
		"$tag: and names the one it writes"
	check_eq "$(ls backups 2>/dev/null | wc -l)" "0" "$tag: and writes no backup"
}
