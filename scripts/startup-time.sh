#!/usr/bin/env bash
# Measures how long `sitrep serve` takes from exec to answering /readyz,
# on SQLite (fresh data directory) and on PostgreSQL (a throwaway database),
# the median of N runs each.
#
#   scripts/startup-time.sh [N]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
n=${1:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/sitrep" ./cmd/sitrep
pg_admin=${SITREP_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}

measure() { # $1 = database url ("" = sqlite in a fresh dir)
	local times=()
	for i in $(seq "$n"); do
		local dir="$tmp/run$i-$RANDOM" port
		port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		mkdir -p "$dir"
		local env=(SITREP_DATA_DIR="$dir" SITREP_SERVER_LISTEN="127.0.0.1:$port"
			SITREP_MAIL_SANDBOX_SMTP_LISTEN=127.0.0.1:0 SITREP_MAIL_SANDBOX_IMAP_LISTEN=127.0.0.1:0 SITREP_LOG_LEVEL=warn)
		[[ -n "$1" ]] && env+=(SITREP_DATABASE_URL="$1")
		local start end
		start=$(date +%s%N)
		env "${env[@]}" "$tmp/sitrep" serve >"$dir/out" 2>&1 &
		local pid=$!
		until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
			if ! kill -0 "$pid" 2>/dev/null; then
				echo "sitrep serve exited:" >&2
				cat "$dir/out" >&2
				exit 1
			fi
			sleep 0.005
		done
		end=$(date +%s%N)
		kill "$pid"; wait "$pid" 2>/dev/null || true
		times+=($(((end - start) / 1000000)))
	done
	printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "median %d ms (min %d, max %d, n=%d)\n", a[int((NR+1)/2)], a[1], a[NR], NR}'
}

echo -n "sqlite (first start, fresh directory): "
measure ""
db="sitrep_startup_$$"
psql "$pg_admin" -qc "CREATE DATABASE $db" >/dev/null
trap 'psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null; rm -rf "$tmp"' EXIT
echo -n "postgres (first run migrates, later runs find it migrated): "
measure "${pg_admin%/*}/$db?sslmode=disable"
