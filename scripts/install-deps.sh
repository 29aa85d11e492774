#!/usr/bin/env bash
# install-deps.sh - install with apt-get whatever dbshift needs to build,
# test and benchmark that is not installed yet.  Quiet when all is there.
set -euo pipefail

PACKAGES=(
	gcc libc6-dev meson ninja-build pkg-config
	libpq-dev libsqlite3-dev libpg-query-dev libjansson-dev libinih-dev libssl-dev
	libcurl4-openssl-dev libmicrohttpd-dev libxml2-dev
	libcmocka-dev
	postgresql postgresql-client sqlite3 jq bc time python3 curl
	clang libclang-rt-14-dev
	chromium prometheus
)

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
