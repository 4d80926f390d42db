#!/usr/bin/env bash
# Installs the real servers the test suite talks to on loopback: Dovecot (IMAP +
# LMTP), Postfix (SMTP), Radicale (CalDAV), ngIRCd (IRC), headless Chromium, python3-icalendar,
# and a PostgreSQL that answers on 127.0.0.1:5432 with trust auth.
#
# Idempotent and quick when everything is already there: it checks first and only
# calls apt-get for what is missing. No daemon is left running by the packages
# (policy-rc.d exits 101); the tests start private instances from their own
# configs (internal/testenv). PostgreSQL is the exception: the suite shares one
# cluster and makes a throwaway database per test.
#
# Knobs: SITREP_TEST_PG_HOST (default 127.0.0.1), SITREP_TEST_PG_PORT (5432).
set -euo pipefail

PG_HOST="${SITREP_TEST_PG_HOST:-127.0.0.1}"
PG_PORT="${SITREP_TEST_PG_PORT:-5432}"

log() { printf 'install-test-deps: %s\n' "$*"; }
die() { printf 'install-test-deps: error: %s\n' "$*" >&2; exit 1; }

# Root only when there is something to install or start: a non-root developer
# whose machine is ready can still run scripts/test.sh.
as_root() {
	if [[ "$(id -u)" -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo -n "$@"
	else
		die "must run as root (or with password-less sudo) to run: $*; run: sudo $0"
	fi
}

start=$(date +%s)

# Package scripts must not start system daemons: they would bind ports 25/143/993
# and fight the private instances the tests start.
if [[ ! -x /usr/sbin/policy-rc.d ]] || ! grep -q 'exit 101' /usr/sbin/policy-rc.d; then
	log "writing /usr/sbin/policy-rc.d (exit 101) so packages start no daemons"
	printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
	as_root chmod 0755 /usr/sbin/policy-rc.d
fi

installed() { [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]; }

# fonts-ipafont-gothic: Japanese glyphs for Chromium, so that the screenshots
# of emails in Japanese (docs/languages.md) show text, not empty boxes.
want=(dovecot-imapd dovecot-lmtpd dovecot-sieve postfix radicale chromium chromium-driver python3-icalendar ngircd fonts-ipafont-gothic)
missing=()
for p in "${want[@]}"; do
	installed "$p" || missing+=("$p")
done

pg_up() { command -v pg_isready >/dev/null 2>&1 && pg_isready -q -t 2 -h "$PG_HOST" -p "$PG_PORT"; }
if ! pg_up && ! installed postgresql; then
	missing+=(postgresql)
fi

apt_updated=0
apt_update() {
	if [[ $apt_updated -eq 0 ]]; then
		log "apt-get update"
		as_root apt-get update -qq
		apt_updated=1
	fi
}

if [[ ${#missing[@]} -gt 0 ]]; then
	log "installing: ${missing[*]}"
	# Empty or stale lists make apt-get install fail with "Unable to locate package".
	if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
		apt_update
	fi
	# Postfix asks a debconf question; "No configuration" leaves no system main.cf
	# and starts nothing.
	echo 'postfix postfix/main_mailer_type select No configuration' | as_root debconf-set-selections
	t0=$(date +%s)
	if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/sitrep-apt.log 2>&1; then
		# A list from an old snapshot names package versions the mirror no longer has.
		log "apt-get install failed; updating the package lists and trying again"
		apt_updated=0
		apt_update
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/sitrep-apt.log 2>&1 ||
			{ tail -n 30 /tmp/sitrep-apt.log >&2; die "apt-get install ${missing[*]} failed (log: /tmp/sitrep-apt.log)"; }
	fi
	log "installed in $(($(date +%s) - t0)) s"
else
	log "packages already installed: ${want[*]}"
fi

# PostgreSQL: the suite needs something answering on PG_HOST:PG_PORT with trust auth
# for user postgres. Leave an existing server alone; otherwise start the Debian
# cluster.
if pg_up; then
	log "postgresql answers on $PG_HOST:$PG_PORT"
else
	ver=$(pg_lsclusters -h 2>/dev/null | awk 'NR==1 {print $1}')
	if [[ -z "$ver" ]]; then
		ver=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)
		[[ -n "$ver" ]] || die "postgresql is installed but no server version is found under /usr/lib/postgresql"
		log "creating postgresql $ver cluster main"
		as_root pg_createcluster --port "$PG_PORT" "$ver" main >/dev/null
	fi
	hba="/etc/postgresql/$ver/main/pg_hba.conf"
	if ! as_root grep -Eq "^host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust" "$hba"; then
		log "trust auth for 127.0.0.1 in $hba"
		# First matching line wins in pg_hba.conf, so the trust line goes on top.
		as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
	fi
	log "starting postgresql $ver main"
	as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
	deadline=$(($(date +%s) + 15))
	until pg_up || [[ $(date +%s) -ge $deadline ]]; do
		sleep 0.2
	done
	pg_up || die "postgresql does not answer on $PG_HOST:$PG_PORT (see /var/log/postgresql/postgresql-$ver-main.log)"
	log "postgresql $ver answers on $PG_HOST:$PG_PORT"
fi

for bin in dovecot postfix radicale chromium; do
	command -v "$bin" >/dev/null 2>&1 || [[ -x "/usr/sbin/$bin" ]] || die "$bin not found after install"
done
log "ready in $(($(date +%s) - start)) s"
