#!/bin/sh
# test-deps.sh — install what hbd's namespace, interop and benchmark tests need
# (Debian, as root). Idempotent: does nothing when everything is present.
#
#   .ci/test-deps.sh        quiet on success; one line when it installed something
#   .ci/test-deps.sh -v     say what it checks
#
# Installing never starts a system-wide heartbeat, keepalived or etcd: a temporary
# policy-rc.d denies every service start, RUNLEVEL=1 is set for maintainer
# scripts, and on a systemd machine both units are masked before the install.
# Afterwards it checks that neither daemon runs in the host's namespaces and
# stops (and disables) one that does. Daemons that tests run inside their own
# network namespaces are left alone.
#
# Exit status: 0 when the packages are present (or when it cannot install:
# not root, no apt-get — it says so); non-zero when an install failed.
set -eu

PACKAGES="iproute2 nftables iputils-ping iputils-arping procps util-linux psmisc curl net-tools heartbeat keepalived logrotate man-db groff-base systemd etcd-server"
DAEMONS="heartbeat keepalived etcd"
VERBOSE=0
[ "${1:-}" = "-v" ] && VERBOSE=1

say() { [ "$VERBOSE" = 1 ] && echo "test-deps: $*" >&2 || true; }
warn() { echo "test-deps: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
	warn "not root: not installing ($PACKAGES)"
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
	warn "apt-get/dpkg-query not found (not Debian?): not installing"
	exit 0
fi

missing() {
	out=""
	for p in $PACKAGES; do
		st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
		case "$st" in
		ii*) ;;
		*) out="$out $p" ;;
		esac
	done
	echo "$out"
}

# host_daemon_pids NAME: pids of processes called NAME (or "NAME: ...", as
# heartbeat renames its children) in our network namespace (the host's, when
# run as meant). Test nodes run in their own network namespaces and are left
# alone. An empty namespace link (unreadable) never matches.
host_daemon_pids() {
	hostnet=$(readlink /proc/$$/ns/net 2>/dev/null || true)
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		comm=$(cat "$d/comm" 2>/dev/null) || continue
		case "$comm" in
		"$1" | "$1:"*) ;;
		*) continue ;;
		esac
		net=$(readlink "$d/ns/net" 2>/dev/null) || continue
		[ -n "$net" ] && [ "$net" = "$hostnet" ] && echo "$pid"
	done
	return 0
}

have_systemd() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

# Stop and disable system-wide instances; called after every install and on
# every run (cheap), so a daemon started some other way is noticed too.
check_daemons() {
	for d in $DAEMONS; do
		pids=$(host_daemon_pids "$d")
		[ -z "$pids" ] && continue
		warn "a system-wide $d is running (pids $(echo $pids)); stopping and disabling it"
		if have_systemd; then
			systemctl stop "$d.service" >/dev/null 2>&1 || true
			systemctl disable "$d.service" >/dev/null 2>&1 || true
			systemctl mask "$d.service" >/dev/null 2>&1 || true
		elif [ -x "/etc/init.d/$d" ]; then
			"/etc/init.d/$d" stop >/dev/null 2>&1 || true
		fi
		command -v update-rc.d >/dev/null 2>&1 && update-rc.d "$d" disable >/dev/null 2>&1 || true
		# Whatever is left: TERM, then KILL, by pid, bounded.
		i=0
		while pids=$(host_daemon_pids "$d") && [ -n "$pids" ] && [ $i -lt 50 ]; do
			if [ $i -lt 30 ]; then kill -TERM $pids 2>/dev/null || true; else kill -KILL $pids 2>/dev/null || true; fi
			sleep 0.1
			i=$((i + 1))
		done
		if [ -n "$(host_daemon_pids "$d")" ]; then
			warn "could not stop the system-wide $d"
			return 1
		fi
	done
	return 0
}

need=$(missing)
if [ -z "$need" ]; then
	say "all present: $PACKAGES"
	check_daemons
	exit 0
fi

# One installer at a time (tests may call this in parallel).
LOCK=/run/lock/hbd-test-deps.lock
mkdir -p /run/lock
exec 9>"$LOCK"
if command -v flock >/dev/null 2>&1; then
	flock -w 900 9 || { warn "timed out waiting for $LOCK"; exit 1; }
fi
need=$(missing) # another run may have installed them meanwhile
if [ -z "$need" ]; then
	check_daemons
	exit 0
fi

start=$(date +%s.%N)
log=$(mktemp /tmp/hbd-test-deps.XXXXXX)

# Deny every service start while installing; put back whatever was there.
POLICY=/usr/sbin/policy-rc.d
backup=""
if [ -e "$POLICY" ]; then
	backup=$(mktemp /tmp/hbd-policy-rc.d.XXXXXX)
	cp -p "$POLICY" "$backup"
fi
restore() {
	if [ -n "$backup" ]; then
		cp -p "$backup" "$POLICY" && rm -f "$backup"
	else
		rm -f "$POLICY"
	fi
}
trap 'restore' EXIT
trap 'exit 1' INT TERM HUP
printf '#!/bin/sh\n# hbd test-deps: no service starts during install\nexit 101\n' >"$POLICY"
chmod 755 "$POLICY"

masked=""
if have_systemd; then
	for d in $DAEMONS; do
		if [ "$(systemctl is-enabled "$d.service" 2>/dev/null || true)" != masked ]; then
			systemctl mask "$d.service" >/dev/null 2>&1 && masked="$masked $d"
		fi
	done
fi

export DEBIAN_FRONTEND=noninteractive RUNLEVEL=1
APT="apt-get -q -y -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
say "installing:$need"
if ! $APT update >>"$log" 2>&1; then
	warn "apt-get update failed (continuing with the lists we have); log: $log"
fi
# shellcheck disable=SC2086
if ! $APT install --no-install-recommends $need >>"$log" 2>&1; then
	warn "apt-get install$need failed; log: $log"
	tail -n 20 "$log" >&2
	exit 1
fi

# Leave the daemons disabled at boot (tests start their own copies).
for d in $DAEMONS; do
	if have_systemd; then
		systemctl disable "$d.service" >/dev/null 2>&1 || true
	fi
	command -v update-rc.d >/dev/null 2>&1 && update-rc.d "$d" disable >/dev/null 2>&1 || true
done
if have_systemd; then
	for d in $masked; do systemctl unmask "$d.service" >/dev/null 2>&1 || true; done
fi

check_daemons
left=$(missing)
if [ -n "$left" ]; then
	warn "still missing after install:$left; log: $log"
	exit 1
fi
rm -f "$log"
end=$(date +%s.%N)
warn "installed$need in $(echo "$start $end" | awk '{printf "%.1f", $2-$1}') s"
