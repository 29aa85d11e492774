# t_backup_s3.sh - backups off the host, against a real S3 API server
# (s3rver) started here: upload, list, restore after the local copy is
# gone, multipart, a corrupted object, wrong credentials, the store down
# (require_backup then refuses migrate), prune on both sides.

s3_conf() {  # ENDPOINT [MORE LINES]: dbshift.conf for the store
	printf '[dbshift]\nbackup_upload = s3://bkt/app\ns3_endpoint = %s\ns3_part_size = 5MiB\n%s' \
		"$1" "${2:-}" > dbshift.conf
}

t_backup_s3() {
	local tag="$DRIVER backup to S3"
	if ! s3_start; then
		not_ok "$tag: start the S3 API server (s3rver)"
		return
	fi
	project bs3
	local url; url=$(newdb bs3)
	printf -- "-- migrate:up\nCREATE TABLE t (id bigint PRIMARY KEY, v text);\nINSERT INTO t VALUES (1, 'one'), (2, 'two');\n-- migrate:down\nDROP TABLE t;\n" > migrations/1_t.sql
	dbs --database "$url" migrate
	local home=$HOME
	export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER HOME="$WORK/bs3"
	s3_conf "$S3_ENDPOINT"

	dbs --database "$url" --json backup
	check_rc 0 "$tag: backup uploads"
	local id; id=$(printf '%s' "$OUT" | jq -r .id)
	check_eq "$(printf '%s' "$OUT" | jq -r '[.uploaded.to, ((.uploaded.objects | length) == (.files | length))] | map(tostring) | join(" ")')" \
		"s3://bkt/app/$id/ true" "$tag: the manifest says where each file went"
	check_eq "$(sed -n 's/.*"etag": "\(.*\)".*/\1/p' "backups/$id/manifest.json" | head -n 1 | wc -c)" "33" "$tag: with each object's ETag"
	dbs --database "$url" backups list
	check_eq "$(printf '%s\n' "$OUT" | grep -c "^$id .* local+remote ")" "1" "$tag: backups list: here and there"

	# the local copy gone: list, verify and restore fetch it
	rm -rf "backups/$id"
	dbs --database "$url" backups list
	check_eq "$(printf '%s\n' "$OUT" | grep -c "^$id .* remote ")" "1" "$tag: backups list: only there"
	sql "$url" "DELETE FROM t" >/dev/null
	dbs --database "$url" restore "$id" --yes
	check_rc 0 "$tag: restore fetches what is only remote"
	check_eq "$(sql "$url" "SELECT v FROM t ORDER BY id" | tr '\n' ' ')" "one two " "$tag: and the rows are back"
	check_contains "$(cat logs/dbshift.log)" "backup $id: fetched from s3://bkt/app" "$tag: the log says it was fetched"

	# multipart: a file above s3_part_size
	if [ "$DRIVER" = postgres ]; then
		sql "$url" "CREATE TABLE big (id int PRIMARY KEY, v text); INSERT INTO big SELECT g, md5(g::text) || md5((g * 7)::text) FROM generate_series(1, 150000) g" >/dev/null
		dbs --database "$url" --json backup --format plain
	else
		sql "$url" "CREATE TABLE big (id int PRIMARY KEY, v blob); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 7) INSERT INTO big SELECT x, randomblob(1048576) FROM c" >/dev/null
		dbs --database "$url" --json backup
	fi
	check_rc 0 "$tag: a file above s3_part_size goes up"
	local big; big=$(printf '%s' "$OUT" | jq -r .id)
	check_eq "$(printf '%s' "$OUT" | jq -r '.uploaded.objects[0].parts > 1')" "true" "$tag: in parts"
	rm -rf "backups/$big"
	dbs --database "$url" backups verify "$big" --restore
	check_rc 0 "$tag: and comes back whole"

	# a corrupted object is caught before it is used
	local obj; obj=$(find "$WORK/s3data/bkt/app/$id" -name '*._S3rver_object' ! -name 'manifest.json*' | head -n 1)
	flip_byte "$obj" 100
	rm -rf "backups/$id"
	sql "$url" "DELETE FROM t WHERE id = 2" >/dev/null
	dbs --database "$url" restore "$id" --yes
	check_rc 1 "$tag: a corrupted object fails the restore"
	check_contains "$ERR" "does not match its checksum" "$tag: it says the file does not match"
	check_eq "$(sql "$url" "SELECT count(*) FROM t")" "1" "$tag: nothing was restored"

	# wrong credentials: a clear message, no secret
	AWS_ACCESS_KEY_ID=NOBODY AWS_SECRET_ACCESS_KEY=TOPSECRET-9f8e7d dbs --database "$url" backup
	check_rc 1 "$tag: wrong credentials fail the backup"
	check_contains "$ERR" "InvalidAccessKeyId" "$tag: it says what the store said"
	check_contains "$ERR" "check the credentials" "$tag: and what to check"
	check_lacks "$OUT$ERR$(cat logs/dbshift.log reports/*.json)" "TOPSECRET-9f8e7d" "$tag: the secret is printed nowhere"
	(unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; dbs --database "$url" backup; echo "$RC" > "$WORK/bs3.rc"; printf '%s' "$ERR" > "$WORK/bs3.err")
	RC=$(cat "$WORK/bs3.rc") ERR=$(cat "$WORK/bs3.err")
	check_rc 2 "$tag: no credentials at all is an input error"
	check_contains "$ERR" "no credentials for s3://bkt/app" "$tag: it names the store"
	printf '[default]\naws_access_key_id = NOBODY\n[ci]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n' > creds
	(unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; export AWS_SHARED_CREDENTIALS_FILE=creds AWS_PROFILE=ci
	 dbs --database "$url" backup; echo "$RC" > "$WORK/bs3.rc")
	RC=$(cat "$WORK/bs3.rc")
	check_rc 0 "$tag: credentials from the AWS credentials file's profile"
	local nb; nb=$(ls backups | wc -l)
	(unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; dbs --database "$url" backup)
	check_eq "$(ls backups | wc -l)" "$nb" "$tag: and it dumps nothing"

	# the store down: the backup fails; require_backup refuses migrate
	s3_conf "http://127.0.0.1:1" "require_backup = true
"
	dbs --database "$url" backup
	check_rc 1 "$tag: backup fails when the store is down"
	check_contains "$ERR" "cannot reach the object store at http://127.0.0.1:1" "$tag: it says the store cannot be reached"
	printf -- '-- migrate:up\nCREATE TABLE u (id int PRIMARY KEY);\n-- migrate:down\nDROP TABLE u;\n' > migrations/2_u.sql
	local before; before=$(snapshot "$url")
	dbs --database "$url" migrate
	check_rc 3 "$tag: require_backup then refuses migrate"
	check_eq "$(snapshot "$url")" "$before" "$tag: and nothing changed"
	rm migrations/2_u.sql
	# the list: those here, and the store's failure said, exit 1
	local nhere; nhere=$(ls backups | wc -l)
	dbs --database "$url" --json backups list
	check_rc 1 "$tag: backups list with the store down: exit 1"
	check_eq "$(printf '%s' "$OUT" | jq -r '"\(.backups | length) \(.error.message)"')" \
		"$nhere cannot reach the object store at http://127.0.0.1:1: Couldn't connect to server" \
		"$tag: it lists the backups here, and says the store could not be listed"
	dbs --database "$url" backups list
	check_contains "$ERR" "dbshift: error: could not list the backups in the store, only those here" "$tag: in text too"

	# settings that would send what they should not: refused before any dump
	nb=$(ls backups | wc -l)
	local bad
	for bad in 'backup_upload = s3://bkt/../escape' 'backup_upload = s3://bkt/app/./x' 'backup_upload = s3://Not_A_Bucket/app' \
		's3_region = us east 1' 's3_endpoint = ftp://127.0.0.1/' 's3_part_size = 17179869185GiB'; do
		printf '[dbshift]\n%s\n' "$bad" > dbshift.conf
		dbs --database "$url" backup
		check_rc 2 "$tag: $bad: exit 2"
		check_eq "$(echo "$ERR" | head -n 1)" "dbshift: error: dbshift.conf:2:1: bad ${bad%% *} '${bad#* = }'" "$tag: $bad: at its line"
	done
	s3_conf "$S3_ENDPOINT"
	AWS_SESSION_TOKEN=$'tok\r\nx-injected: 1' dbs --database "$url" backup
	check_rc 2 "$tag: a session token holding CR LF: exit 2"
	check_contains "$ERR" "hold a control character" "$tag: saying so (and not what it holds)"
	check_lacks "$ERR" "x-injected" "$tag: the value is not printed"
	check_eq "$(ls backups | wc -l)" "$nb" "$tag: and nothing was dumped"

	# prune works on both sides
	s3_conf "$S3_ENDPOINT"
	dbs --database "$url" backups prune --keep 1
	check_rc 0 "$tag: prune"
	dbs --database "$url" --json backups list
	check_eq "$(printf '%s' "$OUT" | jq -r '[.backups[].id] | join(" ")')" "$big $(ls backups | tail -n 1)" "$tag: prune leaves the newest and the newest verified"
	check_eq "$(find "$WORK/s3data/bkt/app" -mindepth 1 -maxdepth 1 -printf '%f\n')" "$big" "$tag: and removed the others from the store too"
	unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
	export HOME="$home"
	s3_stop
	cd "$WORK" || return
}
