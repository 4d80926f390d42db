#!/usr/bin/env bash
# The reliability suite: the real sitrep binary killed, cut off and loaded
# against real servers on loopback (see docs/reliability.md).
#
#   scripts/reliability.sh            # the CI-sized suite, bounded to 8 minutes
#   scripts/reliability.sh full       # every scenario at full size (~15 minutes)
#   scripts/reliability.sh crash-fanout -trials 5 -db postgres
#
# Needs root (Postfix and Dovecot start as root) and the test servers of
# scripts/install-test-deps.sh. Exits non-zero on any loss.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mode=${1:-ci}
go build -o "${TMPDIR:-/tmp}/sitrep-reliability.$$" ./cmd/sitrep-reliability
trap 'rm -f "${TMPDIR:-/tmp}/sitrep-reliability.$$"' EXIT
if [[ $mode == ci ]]; then
	# The bound is a guard against a hang, not the expected time (~2.5 min
	# alone, longer beside a database's Go tests in scripts/test.sh).
	timeout --signal=INT --kill-after=30s 8m "${TMPDIR:-/tmp}/sitrep-reliability.$$" ci
	exit
fi
"${TMPDIR:-/tmp}/sitrep-reliability.$$" "$@"
