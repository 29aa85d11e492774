#!/usr/bin/env bash
# backup.sh [MB] - back up a generated PostgreSQL database of about MB
# megabytes (default 1024) with dbshift (backup, then backups verify
# --restore), next to plain pg_dump -Fc and pg_restore of the same database;
# then backup + upload to an S3 API server (s3rver, on 127.0.0.1) + verify,
# next to pg_dump -Fc + a plain upload of the dump (curl --aws-sigv4), the
# median of ROUNDS (default 5) of each.
. "$(dirname "$0")/common.sh" postgres
MB=${1:-1024}
url=$(pg_newdb backupbench)
cd "$WORK"
psql() { PGOPTIONS="-c client_min_messages=warning" command psql -X -q -v ON_ERROR_STOP=1 "$@"; }
rows=$(( MB * 1024 * 1024 / 180 ))
psql "$url" -c "CREATE TABLE big (id bigint PRIMARY KEY, h text, pad text)" \
	-c "INSERT INTO big SELECT g, md5(g::text), repeat('x', 100) FROM generate_series(1, $rows) g" \
	-c "VACUUM ANALYZE big"
size=$(psql "$url" -At -c "SELECT pg_size_pretty(pg_database_size(current_database()))")
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l | xargs printf '%.1f'; }

b=$(secs "$DBSHIFT" --database "$url" backup)
id=$(ls backups)
v=$(secs "$DBSHIFT" --database "$url" backups verify "$id" --restore)
d=$(secs pg_dump -Fc -f plain.dump "$url")
psql "${url%/*}/postgres" -c "CREATE DATABASE restored"
r=$(secs pg_restore --dbname="${url%/*}/restored" plain.dump)
printf 'database %s (%d rows)\n' "$size" "$rows"
printf '%-44s %8s s\n' "dbshift backup (custom format, checksums)" "$b"
printf '%-44s %8s s\n' "dbshift backups verify --restore" "$v"
printf '%-44s %8s s\n' "pg_dump -Fc" "$d"
printf '%-44s %8s s\n' "pg_restore into a new database" "$r"

# off the host: dbshift backup (upload, ETag checked) + verify, against
# pg_dump -Fc + curl's signed PUT of the same dump; ROUNDS (5) of each, in
# turns (each side goes first every other round), the medians compared
s3_start
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
ours() {
	local t0
	rm -rf backups
	printf '[dbshift]\nbackup_upload = s3://bkt/bench\ns3_endpoint = %s\n' "$S3_ENDPOINT" > dbshift.conf
	t0=$(date +%s.%N)
	"$DBSHIFT" --database "$url" backup >/dev/null
	"$DBSHIFT" --database "$url" backups verify "$(ls backups)" >/dev/null
	echo "$(date +%s.%N) - $t0" | bc -l
	rm -f dbshift.conf
}
theirs() {
	local t0
	t0=$(date +%s.%N)
	pg_dump -Fc -f ref.dump "$url"
	curl -s -f -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" --user "S3RVER:S3RVER" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T ref.dump "$S3_ENDPOINT/bkt/ref/ref.dump"
	echo "$(date +%s.%N) - $t0" | bc -l
}
ta= tb=
for ((round = 1; round <= ${ROUNDS:-5}; round++)); do
	if [ $((round % 2)) = 1 ]; then ta+="$(ours)"$'\n'; tb+="$(theirs)"$'\n'
	else tb+="$(theirs)"$'\n'; ta+="$(ours)"$'\n'; fi
done
u=$(echo "$ta" | grep . | median)
p=$(echo "$tb" | grep . | median)
printf 'dump %s MB; median of %s rounds:\n' "$(( $(stat -c %s ref.dump) / 1000000 ))" "${ROUNDS:-5}"
printf '%-44s %8.1f s\n' "dbshift backup + upload + verify" "$u"
printf '%-44s %8.1f s\n' "pg_dump -Fc + curl upload" "$p"
printf '%-44s %8.2f x (goal: 1.2 x or less)\n' "ratio" "$(echo "$u / $p" | bc -l)"
