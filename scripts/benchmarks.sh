#!/usr/bin/env bash
# Issue 22's measurements of `sitrep serve` as deployed, in one run, each
# command printed before its output (docs/benchmarks.md explains each
# figure and what bounds it):
#
#   scripts/benchmarks.sh            # every aim, ~25 minutes
#   scripts/benchmarks.sh sink       # only the fan-out into the sink, ~3 minutes
#
# Run it on a quiet machine: every figure is a time, and a build or a test
# run beside it moves them all. Needs root and the servers of
# scripts/install-test-deps.sh (Postfix and Dovecot for the Postfix rows,
# PostgreSQL on SITREP_BENCH_PG, default the local one with trust auth).
# A throwaway database is made under it for each run and dropped after.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

what=${1:-all}
case $what in all | sink) ;; *)
	echo "usage: scripts/benchmarks.sh [all|sink]" >&2
	exit 2
	;;
esac
PG=${SITREP_BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
echo "# sitrep $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with uncommitted changes)'), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores"
go build -o "$bin/sitrep" ./cmd/sitrep
go build -o "$bin/sitrep-load" ./cmd/sitrep-load

run() {
	echo "\$ ${*//$bin\//}"
	"$@" 2>&1 | grep -v '^$'
	echo
}
section() { printf '\n## %s\n\n' "$1"; }

section "One update into a discarding sink: sitrep beside the pipelining client, 2 rounds"
for round in 1 2; do
	for n in 10000 100000; do
		for db in sqlite "$PG"; do
			run "$bin/sitrep-load" -serve -sitrep "$bin/sitrep" -n "$n" -hup=false -db "$db" -only sitrep,pipelining
		done
	done
done
[[ $what == sink ]] && exit 0

section "A 100,000-person directory: start, SIGHUP, RSS with the update in flight"
for db in sqlite "$PG"; do
	run "$bin/sitrep-load" -serve -sitrep "$bin/sitrep" -n 100000 -db "$db" -only sitrep
done

section "Update submitted to first SMTP accept, 20 incidents updating every minute (3 minutes each)"
for db in sqlite "$PG"; do
	run "$bin/sitrep-load" -serve -sitrep "$bin/sitrep" -latency -db "$db"
done

section "Accepted by Postfix (its deliveries held), 10,000: each order once"
for db in sqlite "$PG"; do
	for order in sitrep,pipelining pipelining,sitrep; do
		run "$bin/sitrep-load" -serve -postfix -postfix-hold -sitrep "$bin/sitrep" -n 10000 -db "$db" -only "$order"
	done
done

section "Replicas on one PostgreSQL: 100,000 into a sink that takes 40 ms a message"
for r in 1 2 3; do
	run "$bin/sitrep-load" -serve -sitrep "$bin/sitrep" -n 100000 -hup=false -db "$PG" -only sitrep -replicas "$r" -sink-delay 40ms
done

section "Backlog ingest of 10,000 messages against a bare UID FETCH loop"
go test -c -o "$bin/inbox-sqlite.test" ./internal/inbox
SITREP_TEST_DB=postgres go test -c -o "$bin/inbox-postgres.test" ./internal/inbox
for db in sqlite postgres; do
	(cd internal/inbox && SITREP_TEST_DB=$db run "$bin/inbox-$db.test" -test.run '^$' -test.bench '^BenchmarkBacklog(AfterDowntime)?$' -test.benchtime 1x)
done
