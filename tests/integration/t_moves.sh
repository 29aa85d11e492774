# t_moves.sh - the release steps beyond the database: files:NAME,
# settings:NAME (JSON, YAML, INI) and dotenv:NAME.

# moves_tree DIR: the media tree of the tests (a nested file with an old
# mtime and its own mode, a bigger one, a symlink).
moves_tree() {
	mkdir -p "$1/img/2024"
	printf 'hello\n' > "$1/img/2024/a.txt"
	chmod 640 "$1/img/2024/a.txt"
	touch -d '2020-01-02 03:04:05' "$1/img/2024/a.txt"
	head -c 300000 /dev/urandom > "$1/big.bin"
	ln -s img/2024/a.txt "$1/latest"
}

# tree_sums DIR: each file's path, mode, mtime and SHA-256; each link's target.
tree_sums() {
	(cd "$1" && find . \( -type f -o -type l \) | sort | while read -r f; do
		if [ -L "$f" ]; then echo "$f -> $(readlink "$f")"
		else echo "$f $(stat -c '%a %Y' "$f") $(sha256sum < "$f" | cut -c1-64)"; fi
	done)
}

t_moves() {
	project moves
	local url; url=$(newdb moves) tag="$DRIVER moves"
	printf -- '-- migrate:up\nCREATE TABLE t (id int PRIMARY KEY);\n-- migrate:down\nDROP TABLE t;\n' > migrations/1_t.sql
	moves_tree old
	cat > settings.json <<'EOF'
{
  "DATABASE_URL": "postgres://app:s3cretpw@db/app",
  "DEBUG": false,
  "LEGACY_FLAG": 1
}
EOF
	cat > settings.yaml <<'EOF'
# the app's settings
DATABASE_URL: postgres://app:s3cretpw@db/app   # the main database
DEBUG: false

# caches
CACHES:
  default:
    BACKEND: redis   # fast
LEGACY_FLAG: 1
hosts:
  - a.example.com
  - b.example.com
EOF
	printf '; the app\nname = app\n\n[db]\nurl = postgres://app:s3cretpw@db/app\nlegacy = 1\n\n[mail]\nhost = smtp\n' > settings.ini
	printf '# env\nexport OLD_DB_URL="postgres://a:envpw@h/d"\nAPP_SECRET=abc123secret # the key\nREDIS_URL=redis://r:6379\nLEGACY=1\n' > .env
	chmod 644 .env settings.json
	cp settings.json settings.json.orig
	cp settings.yaml settings.yaml.orig
	cp settings.ini settings.ini.orig
	cp .env env.orig
	cat > dbshift.conf <<EOF
[dbshift]
database = $url

[release]
steps = migrate files:media settings:json settings:yaml settings:ini dotenv:app
rollback_steps = settings:json settings:yaml settings:ini dotenv:app files:media rollback

[files "media"]
from = old
to = new/media

[settings "json"]
file = settings.json
rename = DATABASE_URL -> DATABASES.default.URL
set = SECURE_SSL_REDIRECT = true, SECURE_HSTS_SECONDS = 31536000, NAME = "a, b"
remove = LEGACY_FLAG

[settings "yaml"]
file = settings.yaml
rename = DATABASE_URL -> DATABASES.default.URL, CACHES -> CACHE
set = SECURE_SSL_REDIRECT = true, CACHE.default.TIMEOUT = 30
remove = LEGACY_FLAG

[settings "ini"]
file = settings.ini
rename = db.url -> database.url
set = mail.port = 587
remove = db.legacy

[dotenv "app"]
file = .env
rename = OLD_DB_URL -> DATABASE_URL, APP_SECRET -> SECRET_KEY
set = CELERY_BROKER_URL = \${REDIS_URL}/0
remove = LEGACY
EOF
	local secrets="s3cretpw envpw abc123secret"

	# the dry run: the plan, secrets masked, nothing changed
	dbs release --dry-run
	check_rc 0 "$tag: release --dry-run with the steps beyond the database"
	check_contains "$OUT" " 2. files:media      copy 3 items (300006 bytes) from old to new/media; 0 already there" \
		"$tag: the dry run counts the files and bytes to copy"
	check_contains "$OUT" " 6. dotenv:app       4 changes to .env
                      ~ OLD_DB_URL -> DATABASE_URL = postgres://a:********@h/d
                      ~ APP_SECRET -> SECRET_KEY = ********
                      + CELERY_BROKER_URL = redis://r:6379/0
                      - LEGACY = 1" "$tag: the dry run shows the .env's changes, secrets masked"
	check_contains "$OUT" '~ DATABASE_URL -> DATABASES.default.URL = "postgres://app:********@db/app"' \
		"$tag: a URL's password is masked in a settings diff"
	for s in $secrets; do check_lacks "$OUT$ERR" "$s" "$tag: the dry run never shows $s"; done
	check_eq "$([ -e new ] && echo there; cmp -s settings.json settings.json.orig && cmp -s settings.yaml settings.yaml.orig && cmp -s .env env.orig && echo same)" "same" \
		"$tag: the dry run copies and changes nothing"
	check_eq "$(table_exists "$url" t)" 0 "$tag: nor migrates"
	dbs --json release --dry-run
	json_valid "$tag: release --dry-run --json with them is valid"
	check_eq "$(echo "$OUT" | jq -c '.steps[1].would | [.kind, .would_copy, .bytes, (.items | map(.path))]')" \
		'["files",3,300006,["big.bin","img/2024/a.txt","latest"]]' "$tag: its JSON lists what would be copied"

	# the release
	dbs release
	check_rc 0 "$tag: release with files, settings and dotenv steps"
	check_eq "$(tree_sums new/media)" "$(tree_sums old)" "$tag: the target tree equals the source (SHA-256, mode, mtime, links)"
	check_eq "$(cat settings.json)" '{
  "DEBUG": false,
  "DATABASES": {
    "default": {
      "URL": "postgres://app:s3cretpw@db/app"
    }
  },
  "SECURE_SSL_REDIRECT": true,
  "SECURE_HSTS_SECONDS": 31536000,
  "NAME": "a, b"
}' "$tag: JSON: renamed into new objects, set with types, removed, order kept"
	check_eq "$(cat settings.yaml)" "# the app's settings
DEBUG: false

# caches
CACHE:
  default:
    BACKEND: redis   # fast
    TIMEOUT: 30
hosts:
  - a.example.com
  - b.example.com
DATABASES:
  default:
    URL: postgres://app:s3cretpw@db/app   # the main database
SECURE_SSL_REDIRECT: true" "$tag: YAML: comments, blank lines and order kept"
	check_eq "$(cat settings.ini)" '; the app
name = app

[db]

[mail]
host = smtp
port = 587

[database]
url = postgres://app:s3cretpw@db/app' "$tag: INI: section.key renamed, set and removed"
	check_eq "$(cat .env)" '# env
export DATABASE_URL="postgres://a:envpw@h/d"
SECRET_KEY=abc123secret # the key
REDIS_URL=redis://r:6379
CELERY_BROKER_URL=redis://r:6379/0' "$tag: .env: renamed in place, \${VAR} expanded from the file, removed"
	check_eq "$(stat -c %a .env settings.json | tr '\n' ' ')" "600 644 " \
		"$tag: .env is written 0600, a settings file keeps its mode"
	local report; report=$(ls -t reports/*.json | head -n 1)
	local id; id=$(jq -r .run_id "$report")
	check_eq "$(cmp settings.json.orig "settings.json.dbshift-$id" && cmp env.orig ".env.dbshift-$id" && stat -c %a "settings.json.dbshift-$id")" "600" \
		"$tag: the old files are kept as FILE.dbshift-<run id>, 0600"
	check_eq "$(jq -c '.steps[1].result | [.copied, .skipped, .failed, .bytes, (.manifest | map([.path, .size]))]' "$report")" \
		'[3,0,0,300006,[["big.bin",300000],["img/2024/a.txt",6],["latest",0]]]' "$tag: the report holds the manifest"
	check_eq "$(jq -r '.steps[1].result.manifest[1].sha256' "$report")" "$(sha256sum < old/img/2024/a.txt | cut -c1-64)" \
		"$tag: with each file's SHA-256"
	for s in $secrets; do
		check_lacks "$OUT$ERR$(cat reports/*.json logs/* 2>/dev/null)$(sql "$url" 'SELECT report FROM dbshift_runs')" "$s" \
			"$tag: $s is in no output, report, log or run row"
	done

	# again: nothing to do
	dbs release
	check_rc 0 "$tag: a second release passes"
	check_contains "$OUT" "files:media        succeeded" "$tag: the files step ran again"
	report=$(ls -t reports/*.json | head -n 1)
	check_eq "$(jq -c '[.steps[1].result.copied, .steps[1].result.skipped] + [.steps[2,3,4,5].result.changes | length]' "$report")" \
		'[0,3,0,0,0,0]' "$tag: a second run copies and changes nothing"
	check_eq "$(ls -d ./*.dbshift-* .env.dbshift-* | wc -l)" 4 "$tag: and keeps no new old file"

	# rollback: the files put back byte for byte, the copies removed, a
	# file changed since left as it is
	printf 'changed by the app\n' > new/media/big.bin
	dbs release --rollback --dry-run
	check_rc 0 "$tag: release --rollback --dry-run"
	check_contains "$OUT" "put back settings.json as it was before release $id" "$tag: the rollback undoes the release that changed the file"
	dbs release --rollback
	check_rc 0 "$tag: release --rollback with them"
	check_eq "$(cmp settings.json settings.json.orig && cmp settings.yaml settings.yaml.orig && cmp settings.ini settings.ini.orig && cmp .env env.orig && stat -c %a .env)" "644" \
		"$tag: rollback restores settings and .env byte for byte, and their mode"
	check_eq "$(cd new && find . | sort | tr '\n' ' ')" ". ./media ./media/big.bin " \
		"$tag: rollback removes what the release copied, and the directories it made"
	check_contains "$ERR" "files:media: big.bin changed since the release copied it; left as it is" \
		"$tag: a file changed since is left, with a warning"
	report=$(ls -t reports/*.json | head -n 1)
	check_eq "$(jq -c '.steps[4].result | [.undoes, .removed, .left]' "$report")" "[\"$id\",2,1]" "$tag: the rollback's report counts them"
	rm -rf new

	# a file the copy cannot write: counted, listed; the step fails past max_failures
	mkdir -p new/media/img
	printf 'x' > new/media/img/2024  # a file where a directory must go
	dbs release
	check_rc 1 "$tag: a file that cannot be copied fails the step (max_failures 0)"
	check_contains "$ERR" "files:media: 1 item failed (max_failures 0)" "$tag: the failure counts it"
	report=$(ls -t reports/*.json | head -n 1)
	check_eq "$(jq -c '.steps[1].result | [.copied, .failed, (.failures | map(.item))]' "$report")" '[2,1,["img/2024/a.txt"]]' \
		"$tag: the report lists it, and what was copied"
	sed -i 's|^to = new/media|to = new/media\nmax_failures = 1|' dbshift.conf
	dbs release
	check_rc 0 "$tag: within max_failures the step passes"
	check_contains "$ERR" "warning: files:media: 1 item failed (max_failures 1)" "$tag: with a warning"
}

t_moves_input() {
	project moves_input
	local url; url=$(newdb moves_input) tag="$DRIVER moves input"
	printf -- '-- migrate:up\nCREATE TABLE t (id int PRIMARY KEY);\n-- migrate:down\nDROP TABLE t;\n' > migrations/1_t.sql
	local before; before=$(snapshot "$url")
	printf '[release]\nsteps = migrate files:media\n\n[files "media"]\nfrom = old\nto = new\ncolour = red\n' > dbshift.conf
	dbs --database "$url" release
	check_rc 2 "$tag: an unknown key in a [files] section is exit 2"
	check_contains "$ERR" 'dbshift.conf:7:1: unknown key '"'"'colour'"'"' in [files "media"]' "$tag: naming file:line"
	printf '[release]\nsteps = migrate files:media\n\n[files "other"]\nfrom = old\nto = new\n' > dbshift.conf
	dbs --database "$url" release
	check_rc 2 "$tag: a step naming no section is exit 2"
	check_contains "$ERR" "step 'files:media' names [files \"media\"], which is not defined" "$tag: naming the section"
	printf '[release]\nsteps = migrate settings:app\n\n[settings "app"]\nrename = A -> B\n' > dbshift.conf
	dbs --database "$url" release
	check_rc 2 "$tag: a section without its file is exit 2"
	check_contains "$ERR" 'dbshift.conf:4:1: [settings "app"] has no file' "$tag: naming it"
	printf '[release]\nsteps = migrate settings:app\n\n[settings "app"]\nfile = s.json\nrename = A B\n' > dbshift.conf
	dbs --database "$url" release
	check_rc 2 "$tag: a rename that is not OLD -> NEW is exit 2"
	check_contains "$ERR" "dbshift.conf:6:1: bad rename: 'A B' is not OLD -> NEW in [settings \"app\"]" "$tag: naming the line"
	printf '[release]\nsteps = migrate mail:support\n\n[mail "support"]\nfrom = imap://a/\nto = pop3://b/\nfrom_user = a\nto_user = b\nfrom_password_env = A\nto_password_env = B\n' > dbshift.conf
	dbs --database "$url" release
	check_rc 2 "$tag: a mail side that is not IMAP is exit 2"
	check_contains "$ERR" "dbshift.conf:6:1: bad to 'pop3://b/' in [mail \"support\"]" "$tag: naming file:line"
	# a settings file that is not JSON: before the first step, naming file:line
	printf '{\n  "a": 1,\n  "b": \n}\n' > s.json
	printf '[release]\nsteps = migrate settings:app\n\n[settings "app"]\nfile = s.json\nset = C = 1\n' > dbshift.conf
	dbs --database "$url" release
	check_rc 2 "$tag: a settings file that cannot be read is exit 2"
	check_contains "$ERR" "s.json:4:" "$tag: naming its file and line"
	printf 'A=1\nB="open\n' > .env
	printf '[release]\nsteps = migrate dotenv:app\n\n[dotenv "app"]\nfile = .env\nset = C = ${NOPE}\n' > dbshift.conf
	dbs --database "$url" release
	check_rc 2 "$tag: a .env line that is not KEY=VALUE is exit 2"
	check_contains "$ERR" ".env:2:1: not a KEY=VALUE line (a quote is not closed)" "$tag: naming its line"
	printf 'A=1\n' > .env
	dbs --database "$url" release
	check_rc 2 "$tag: a \${VAR} the .env does not hold is exit 2"
	check_contains "$ERR" 'dotenv:app: set C: ${NOPE} is not in .env' "$tag: naming it"
	check_eq "$(snapshot "$url")" "$before" "$tag: nothing changed in the database"
	check_eq "$(cat .env)" "A=1" "$tag: nor in the file"
	# a rollback with no release to undo
	printf '[release]\nsteps = migrate dotenv:app\nrollback_steps = dotenv:app rollback\n\n[dotenv "app"]\nfile = .env\nset = C = 2\n' > dbshift.conf
	dbs --database "$url" release --rollback
	check_rc 3 "$tag: undoing a step no release ran is refused"
	check_contains "$ERR" "step dotenv:app: no release ran it, so there is nothing to undo" "$tag: saying so"
}

# s3_put_object BUCKET/KEY FILE: an object put with curl's own SigV4.
s3_put_object() {
	curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER -H "Content-Type: text/plain" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T "$2" "$S3_ENDPOINT/$1" >/dev/null
}

# s3_keys BUCKET PREFIX: the keys and ETags below PREFIX, one per line.
s3_keys() {
	curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
		"$S3_ENDPOINT/$1/?list-type=2${2:+&prefix=$2}" | python3 -c '
import sys, xml.etree.ElementTree as E
for c in E.parse(sys.stdin).getroot().iter():
    if c.tag.endswith("}Contents") or c.tag == "Contents":
        f = {x.tag.split("}")[-1]: x.text for x in c}
        print(f["Key"], f["Size"])'
}

t_moves_bucket() {
	local tag="$DRIVER bucket step"
	if ! s3_start old-assets new-assets; then
		not_ok "$tag: start the S3 API server (s3rver)"
		return
	fi
	project moves_bucket
	local url; url=$(newdb moves_bucket) home=$HOME
	printf 'body { color: red }\n' > site.css
	printf 'hello\n' > a.txt
	head -c 6000000 /dev/urandom > big.bin  # above the 5 MiB part size
	s3_put_object old-assets/static/css/site.css site.css
	s3_put_object old-assets/static/a.txt a.txt
	s3_put_object old-assets/static/big.bin big.bin
	s3_put_object old-assets/elsewhere/x.txt a.txt
	local port=${S3_ENDPOINT##*:}
	cat > dbshift.conf <<EOF
[dbshift]
database = $url
s3_part_size = 5MiB

[release]
steps = bucket:same bucket:other
rollback_steps = bucket:same bucket:other rollback

[bucket "same"]
from = s3://old-assets/static
to = s3://new-assets/static
from_endpoint = $S3_ENDPOINT
to_endpoint = $S3_ENDPOINT

[bucket "other"]
from = s3://old-assets/static
to = s3://new-assets/v2
from_endpoint = $S3_ENDPOINT
to_endpoint = http://localhost:$port
to_access_key_env = NEW_KEY
to_secret_key_env = NEW_SECRET
EOF
	export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER NEW_KEY=S3RVER NEW_SECRET=S3RVER HOME="$WORK/moves_bucket"

	dbs release --dry-run
	check_rc 0 "$tag: release --dry-run"
	check_contains "$OUT" " 1. bucket:same      copy 3 items (6000026 bytes) from s3://old-assets/static to s3://new-assets/static; 0 already there" \
		"$tag: the dry run counts the objects and bytes"
	check_eq "$(s3_keys new-assets '')" "" "$tag: the dry run copies nothing"

	dbs release
	check_rc 0 "$tag: release copies between buckets"
	local want; want=$(s3_keys old-assets static/ | sed 's|^static/||')
	check_eq "$want" "a.txt 6
big.bin 6000000
css/site.css 20" "$tag: the source bucket holds the three objects (and another prefix)"
	check_eq "$(s3_keys new-assets static/ | sed 's|^static/||')" "$want" "$tag: CopyObject on one store: every object, by key and size"
	check_eq "$(s3_keys new-assets v2/ | sed 's|^v2/||')" "$want" "$tag: GET and PUT (in parts) between two endpoints"
	curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
		"$S3_ENDPOINT/new-assets/v2/big.bin" -o got.bin
	check_eq "$(sha256sum < got.bin)" "$(sha256sum < big.bin)" "$tag: the object sent in parts has the source's bytes"
	check_eq "$(curl -sfI --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
		"$S3_ENDPOINT/new-assets/static/a.txt" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Tt]ype: //p')" "text/plain" \
		"$tag: the copy keeps the object's type"
	local report; report=$(ls -t reports/*.json | head -n 1)
	check_eq "$(jq -c '[.steps[].result | [.copy_object, .copied, .bytes]]' "$report")" '[[true,3,6000026],[false,3,6000026]]' \
		"$tag: the report says how and counts the objects and bytes"
	check_eq "$(jq -c '.steps[0].result.manifest | map(.key)' "$report")" '["a.txt","big.bin","css/site.css"]' \
		"$tag: with the manifest of the keys copied"
	check_lacks "$OUT$ERR$(cat reports/*.json logs/* 2>/dev/null)" "S3RVER" "$tag: no credential in any output"

	dbs release
	check_rc 0 "$tag: a second release passes"
	report=$(ls -t reports/*.json | head -n 1)
	check_eq "$(jq -c '[.steps[].result | [.copied, .skipped]]' "$report")" '[[0,3],[0,3]]' \
		"$tag: a second run copies nothing (size and ETag, or the source ETag recorded)"

	# rollback: exactly what the release copied, an object changed since left
	s3_put_object new-assets/static/keep-me.txt a.txt
	s3_put_object new-assets/v2/a.txt site.css
	dbs release --rollback
	check_rc 0 "$tag: release --rollback removes what was copied"
	check_eq "$(s3_keys new-assets '' | tr '\n' ' ')" "static/keep-me.txt 6 v2/a.txt 20 " \
		"$tag: only the copies are removed; what was there or changed since stays"
	check_contains "$ERR" "bucket:other: a.txt changed since the release copied it; left as it is" "$tag: with a warning"

	# the store goes away in the middle (a relay to it that stops after
	# two copies): the step fails, what was copied is recorded
	rm -f relay.port
	/usr/bin/python3 "$HERE/relay.py" "$WORK/moves_bucket/relay.port" "$port" http PUT 2 &
	local relay=$!
	until_ok 10 test -s relay.port
	local rp; rp=$(cat relay.port)
	sed -i -e 's/^steps = .*/steps = bucket:same/' \
		-e "/^\[bucket \"same\"\]/,/^\$/ s|_endpoint = .*|_endpoint = http://127.0.0.1:$rp|" dbshift.conf
	dbs release
	check_rc 1 "$tag: a store that goes away fails the step"
	check_contains "$ERR" "cannot reach the object store" "$tag: saying so"
	report=$(ls -t reports/*.json | head -n 1)
	check_eq "$(jq -c '.steps[0] | [.status, .result.copied, (.result.manifest | map(.key))]' "$report")" '["failed",2,["a.txt","big.bin"]]' \
		"$tag: the report records what was copied before"
	wait "$relay" 2>/dev/null

	# files: a tree up to a bucket, a bucket down to a tree
	mkdir -p tree/sub
	cp a.txt tree/a.txt
	cp site.css tree/sub/site.css
	cp big.bin tree/big.bin
	printf '[dbshift]\ndatabase = %s\ns3_endpoint = %s\ns3_part_size = 5MiB\n\n[release]\nsteps = files:up files:down\nrollback_steps = files:up files:down rollback\n\n[files "up"]\nfrom = tree\nto = s3://new-assets/media\n\n[files "down"]\nfrom = s3://old-assets/static\nto = fetched\n' \
		"$url" "$S3_ENDPOINT" > dbshift.conf
	dbs release
	check_rc 0 "$tag: files: a tree up to a bucket and a bucket down to a tree"
	check_eq "$(s3_keys new-assets media/ | tr '\n' ' ')" "media/a.txt 6 media/big.bin 6000000 media/sub/site.css 20 " \
		"$tag: files up: every file as an object (the big one in parts)"
	check_eq "$(cd fetched && find . -type f | sort | xargs sha256sum)" "$(sha256sum a.txt | sed 's|  .*|  ./a.txt|')
$(sha256sum big.bin | sed 's|  .*|  ./big.bin|')
$(sha256sum site.css | sed 's|  .*|  ./css/site.css|')" \
		"$tag: files down: every object as a file with the same bytes"
	dbs release
	report=$(ls -t reports/*.json | head -n 1)
	check_eq "$(jq -c '[.steps[].result | [.copied, .skipped]]' "$report")" '[[0,3],[0,3]]' \
		"$tag: files: a second run copies nothing either way"
	dbs release --rollback
	check_rc 0 "$tag: files: the rollback of both"
	check_eq "$(s3_keys new-assets media/)$([ -e fetched ] && find fetched)" "" "$tag: removes what was sent up and brought down"
	unset NEW_KEY NEW_SECRET AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
	export HOME=$home
	s3_stop
}

# imap_cmd USER FOLDER COMMAND: a command on a folder, by curl's IMAP.
imap_cmd() {
	curl -s "imap://127.0.0.1:$IMAP_PORT/$2" -u "$1:${1}pw" -X "$3"
}

# imap_state USER: each folder's messages: folder, Message-ID (or the
# subject), flags; sorted.
imap_state() {
	local f
	for f in $(curl -s "imap://127.0.0.1:$IMAP_PORT/" -u "$1:${1}pw" | sed 's/.* "." //; s/\r//' | sort); do
		imap_cmd "$1" "$f" 'UID FETCH 1:* (FLAGS ENVELOPE)' | tr -d '\r' | python3 -c '
import re, sys
for l in sys.stdin:
    flags = re.search(r"FLAGS \(([^)]*)\)", l).group(1)
    ids = re.findall(r"\"(<[^\"]*>)\"\)\)$", l)
    subj = re.search(r"ENVELOPE \((?:NIL|\"[^\"]*\") \"([^\"]*)\"", l).group(1)
    print(sys.argv[1], ids[0] if ids else "(" + subj + ")", " ".join(sorted(f for f in flags.split() if f != "\\Recent")))' "$f"
	done | sort
}

# maildir_msg USER FOLDER NAME FLAGS SUBJECT [MESSAGE-ID]: a message put in
# a maildir as a delivery would (FOLDER "" is INBOX).
maildir_msg() {
	local dir=$WORK/dovecot/mail/$1/Maildir${2:+/.$2}
	mkdir -p "$dir/cur" "$dir/new" "$dir/tmp"
	{
		printf 'From: someone@example.com\r\nTo: %s@example.com\r\nSubject: %s\r\n' "$1" "$5"
		[ -n "${6:-}" ] && printf 'Message-ID: %s\r\n' "$6"
		printf 'Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nbody of %s\r\n' "$5"
	} > "$dir/cur/$3:2,$4"
	touch -d '2023-11-14 22:13:20' "$dir/cur/$3:2,$4"
	chown -R nobody:nogroup "$WORK/dovecot/mail"
}

t_moves_mail() {
	local tag="$DRIVER mail step"
	if ! dovecot_start; then
		not_ok "$tag: start Dovecot"
		return
	fi
	project moves_mail
	local url; url=$(newdb moves_mail)
	maildir_msg alice "" 1700000000.M1P1.h S "welcome" "<m1@example.com>"
	maildir_msg alice "" 1700000001.M2P1.h FS "flagged one" "<m2@example.com>"
	maildir_msg alice "" 1700000002.M3P1.h "" "unread" "<m3@example.com>"
	maildir_msg alice Archive 1700000003.M4P1.h RS "archived" "<m4@example.com>"
	maildir_msg alice Archive 1700000004.M5P1.h R "no id"
	maildir_msg bob "" 1700000005.M6P1.h S "bob's own" "<b1@example.com>"
	cat > dbshift.conf <<EOF
[dbshift]
database = $url

[release]
steps = mail:support
rollback_steps = mail:support rollback

[mail "support"]
from = imap://127.0.0.1:$IMAP_PORT/
to = imap://127.0.0.1:$IMAP_PORT/
from_user = alice
from_password_env = OLD_MAIL_PW
to_user = bob
to_password_env = NEW_MAIL_PW
folders = *
EOF
	export OLD_MAIL_PW=alicepw NEW_MAIL_PW=bobpw
	local source; source=$(imap_state alice)
	check_eq "$source" "Archive (no id) \\Answered
Archive <m4@example.com> \\Answered \\Seen
INBOX <m1@example.com> \\Seen
INBOX <m2@example.com> \\Flagged \\Seen
INBOX <m3@example.com> " "$tag: the source mailbox holds five messages in two folders"

	dbs release --dry-run
	check_rc 0 "$tag: release --dry-run"
	check_contains "$OUT" "mail:support     copy 5 items" "$tag: the dry run counts the messages"
	check_eq "$(imap_state bob)" "INBOX <b1@example.com> \\Seen" "$tag: the dry run copies nothing"
	check_eq "$(imap_state alice)" "$source" "$tag: nor changes the source's flags"

	dbs release
	check_rc 0 "$tag: release copies the folders"
	check_eq "$(imap_state bob)" "$(printf '%s\n' "$source" "INBOX <b1@example.com> \\Seen" | sort)" \
		"$tag: every message in its folder (made when missing), with its flags"
	check_eq "$(imap_state alice)" "$source" "$tag: the source's flags are as they were (\\Seen put back)"
	check_eq "$(imap_cmd bob Archive 'UID FETCH 1:* (INTERNALDATE)' | tr -d '\r' | sed 's/.*INTERNALDATE //' | sort -u)" '"14-Nov-2023 22:13:20 +0000")' \
		"$tag: and with its internal date"
	local report; report=$(ls -t reports/*.json | head -n 1)
	check_eq "$(jq -c '.steps[0].result | [.copied, .skipped, .failed, (.manifest | map([.folder, .message_id, .internal_date]))]' "$report")" \
		'[5,0,0,[["Archive","<m4@example.com>","14-Nov-2023 22:13:20 +0000"],["Archive",null,"14-Nov-2023 22:13:20 +0000"],["INBOX","<m1@example.com>","14-Nov-2023 22:13:20 +0000"],["INBOX","<m2@example.com>","14-Nov-2023 22:13:20 +0000"],["INBOX","<m3@example.com>","14-Nov-2023 22:13:20 +0000"]]]' \
		"$tag: the manifest lists each message with the source's internal date"
	check_eq "$(jq -r '.steps[0].result.manifest[1].sha256 | length' "$report")" 64 "$tag: a message without a Message-ID by its SHA-256"
	local all_bytes; all_bytes=$(jq -r '.steps[0].result.bytes' "$report")
	check_lacks "$OUT$ERR$(cat reports/*.json logs/* 2>/dev/null)$(sql "$url" 'SELECT report FROM dbshift_runs')" "alicepw" "$tag: no password in any output"
	check_lacks "$OUT$ERR$(cat reports/*.json logs/* 2>/dev/null)" "bobpw" "$tag: neither the target's"

	dbs release
	check_rc 0 "$tag: a second release passes"
	report=$(ls -t reports/*.json | head -n 1)
	check_eq "$(jq -c '.steps[0].result | [.copied, .skipped]' "$report")" '[0,5]' "$tag: a second run copies nothing (Message-ID, or SHA-256)"

	# rollback removes exactly the copies, nothing else marked deleted
	imap_cmd bob INBOX 'UID STORE 1 +FLAGS (\Deleted)' >/dev/null
	dbs release --rollback
	check_rc 0 "$tag: release --rollback removes what was copied"
	check_eq "$(imap_state bob)" 'INBOX <b1@example.com> \Deleted \Seen' \
		"$tag: only the copies go (a message marked deleted by someone else stays)"
	imap_cmd bob INBOX 'UID STORE 1 -FLAGS (\Deleted)' >/dev/null

	# the server goes away in the middle (a relay to it that stops at
	# the third APPEND): the step fails, the two copied are recorded
	rm -f relay.port
	/usr/bin/python3 "$HERE/relay.py" "$WORK/moves_mail/relay.port" "$IMAP_PORT" imap APPEND 2 &
	local relay=$!
	until_ok 10 test -s relay.port
	sed -i "s|^to = .*|to = imap://127.0.0.1:$(cat relay.port)/|" dbshift.conf
	dbs release
	check_rc 1 "$tag: a server that goes away fails the step"
	report=$(ls -t reports/*.json | head -n 1)
	check_eq "$(jq -c '.steps[0] | [.status, .result.copied, (.result.manifest | map(.message_id))]' "$report")" \
		'["failed",2,["<m4@example.com>",null]]' "$tag: the report records the messages copied before"
	wait "$relay" 2>/dev/null

	# progress on the live row: a relay that holds the second APPEND
	sed -i "s|^to = .*|to = imap://127.0.0.1:$IMAP_PORT/|" dbshift.conf
	dbs release --rollback
	check_rc 0 "$tag: the rollback of a release that failed removes what it copied"
	check_eq "$(imap_state bob)" "INBOX <b1@example.com> \\Seen" "$tag: so the target is as it was"
	rm -f relay.port
	/usr/bin/python3 "$HERE/relay.py" "$WORK/moves_mail/relay.port" "$IMAP_PORT" imap APPEND 1 hold &
	relay=$!
	until_ok 10 test -s relay.port
	sed -i "s|^to = .*|to = imap://127.0.0.1:$(cat relay.port)/|" dbshift.conf
	"$DBSHIFT" release >"$WORK/moves_mail/live.out" 2>&1 &
	local pid=$!
	wait_for "$url" "SELECT json_extract(report, '\$.items.done') FROM dbshift_runs WHERE status = 'running'" 1 20
	check_eq "$(sql "$url" "SELECT json_extract(report, '\$.step') || ' ' || json_extract(report, '\$.items.step') || ' ' || json_extract(report, '\$.items.done') || '/' || json_extract(report, '\$.items.total') || ' ' || json_extract(report, '\$.items.bytes_total') || ' ' || json_extract(report, '\$.items.failed') FROM dbshift_runs WHERE status = 'running'")" \
		"mail:support mail:support 1/5 $all_bytes 0" \
		"$tag: the live row shows the items done, the total and the bytes"
	dbs status --runs
	check_contains "$OUT" "mail:support, 1/5 items" "$tag: status --runs shows them"
	kill "$relay"
	wait "$relay" 2>/dev/null
	wait "$pid"
	check_eq "$?" 1 "$tag: the held step then fails when its server goes"
	unset OLD_MAIL_PW NEW_MAIL_PW
	dovecot_stop
}

# What real files showed (bench/real-settings.sh): tabs, a key renamed in
# its place, a mapping emptied by a remove, comments above a removed key,
# anchors edited once for every alias.
t_moves_formats() {
	project moves_formats
	local url; url=$(newdb moves_formats) tag="$DRIVER settings formats"
	printf '{\n\t"name": "app",\n\t"scripts": {\n\t\t"lint": "biome lint",\n\t\t"test": "vitest"\n\t},\n\t"devDependencies": {\n\t\t"x": "1"\n\t}\n}\n' > package.json
	printf 'default: &default\n  adapter: postgresql\n  pool: 5\n\nproduction:\n  <<: *default\n  database: app\n\nvolumes:\n  # the data\n  db-data:\n\nafter: 1\n' > app.yml
	cat > dbshift.conf <<EOF
[dbshift]
database = $url

[release]
steps = settings:json settings:yaml
rollback_steps = settings:json settings:yaml rollback

[settings "json"]
file = package.json
rename = scripts.lint -> scripts.check
remove = devDependencies

[settings "yaml"]
file = app.yml
rename = default.pool -> default.max_connections
remove = volumes.db-data
EOF
	cp package.json package.json.orig
	cp app.yml app.yml.orig
	dbs release
	check_rc 0 "$tag: release"
	check_eq "$(cat package.json)" "$(printf '{\n\t"name": "app",\n\t"scripts": {\n\t\t"check": "biome lint",\n\t\t"test": "vitest"\n\t}\n}')" \
		"$tag: JSON keeps its tabs, and a key renamed in its object keeps its place"
	check_eq "$(cat app.yml)" 'default: &default
  adapter: postgresql
  max_connections: 5

production:
  <<: *default
  database: app

volumes: {}
  # the data

after: 1' "$tag: YAML: the anchor edited once, a mapping emptied stays one ({}), the comment above stays"
	dbs release --rollback
	check_eq "$(cmp package.json package.json.orig && cmp app.yml app.yml.orig && echo same)" same "$tag: the rollback puts both back byte for byte"
	# duplicate keys are read (as Ruby and Python read them); bad YAML is
	# exit 2 at its file, line and column
	printf 'cron:\n  job: 1\n  job: 2\n' > dup.yml
	printf '[dbshift]\ndatabase = %s\n\n[release]\nsteps = settings:dup\n\n[settings "dup"]\nfile = dup.yml\nset = cron.other = 3\n' "$url" > dbshift.conf
	dbs release
	check_rc 0 "$tag: a YAML file with a duplicate key is read"
	check_eq "$(cat dup.yml)" "$(printf 'cron:\n  job: 1\n  job: 2\n  other: 3')" "$tag: and edited"
	printf 'cron:\n  job: [1, 2\nnext: 3\n' > dup.yml
	dbs release
	check_rc 2 "$tag: YAML that cannot be read is exit 2"
	check_contains "$ERR" "dup.yml:4:1: flow sequence without a closing bracket" "$tag: naming its file, line and column"

	# a file whose name is not UTF-8 fails as an item, named with '?'
	mkdir -p tree
	printf 'ok\n' > tree/ok.txt
	printf 'bad\n' > "tree/bad$(printf '\377').txt"
	printf '[dbshift]\ndatabase = %s\n\n[release]\nsteps = files:t\n\n[files "t"]\nfrom = tree\nto = copy\n' "$url" > dbshift.conf
	dbs --json release
	check_rc 1 "$tag: a file name that is not UTF-8 fails the step (max_failures 0)"
	check_eq "$(echo "$OUT" | jq -c '.steps[0].result | [.copied, (.failures | map(.item)), (.manifest | map(.path))]')" \
		'[1,["bad?.txt"],["ok.txt"]]' "$tag: it is listed with '?' for its bytes, the others copied"
}
