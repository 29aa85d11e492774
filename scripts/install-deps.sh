#!/usr/bin/env bash
# install-deps.sh [build] - install with apt-get whatever dbshift needs that
# is not installed yet: with "build", only what building it takes (the
# demo's needs: a compiler, Meson and the libraries); without, also what
# the tests and benchmarks start (PostgreSQL, Chromium, Prometheus,
# Django...) and, with npm, the S3 API server of the tests (s3rver).
# Quiet when all is there.
set -euo pipefail

PACKAGES=(
	gcc libc6-dev meson ninja-build pkg-config
	libpq-dev libsqlite3-dev libpg-query-dev libprotobuf-c-dev libjansson-dev libinih-dev
	libssl-dev libfyaml-dev
	libcurl4-openssl-dev libmicrohttpd-dev libxml2-dev libarchive-dev zlib1g-dev
	libcmocka-dev
)
if [ "${1:-}" != build ]; then
	PACKAGES+=(
		postgresql postgresql-client sqlite3 jq bc time python3 curl man-db
		clang libclang-rt-14-dev
		chromium prometheus
		python3-django python3-psycopg2 python3-jsonschema python3-yaml
		dovecot-imapd
	)
fi

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
# npm for the S3 API server of the tests (s3rver), where no node is there
[ "${1:-}" = build ] || command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}"
	SUDO=
	[ "$(id -u)" = 0 ] || SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ "${1:-}" != build ] || exit 0
# The tests' S3 API server, only npm has it: into tests/.node (not tracked).
S3RVER_VERSION=3.7.1
root=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -x "$root/tests/.node/node_modules/.bin/s3rver" ]; then
	echo "installing: s3rver $S3RVER_VERSION (npm)"
	npm install --prefix "$root/tests/.node" --no-audit --no-fund --loglevel=error \
		"s3rver@$S3RVER_VERSION" >/dev/null
fi
