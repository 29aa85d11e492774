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
	printf '[release]\nsteps = migrate bucket:assets\n\n[bucket "assets"]\nfrom = s3://a/\nto = s3://b/\n' > dbshift.conf
	dbs --database "$url" release
	check_rc 2 "$tag: a bucket step is refused while it is not built"
	check_contains "$ERR" 'not implemented' "$tag: saying so"
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
