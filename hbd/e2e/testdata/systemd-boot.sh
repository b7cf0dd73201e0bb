#!/bin/sh
# systemd-boot.sh ROOT HBD UNIT CONFDIR
#
# Run inside `unshare --pid --mount --uts --ipc --net --cgroup --fork`:
# builds a machine in ROOT (a tmpfs) from this host's /usr, read through
# an overlay so hbd can be installed as /usr/sbin/hbd without touching the
# host, and a fresh /etc holding the unit under test, the configuration
# in CONFDIR and /etc/default/heartbeat; then pivots into it and execs
# systemd as PID 1 with a target that starts only the journal. Everything
# lives in the new mount namespace and goes away with it.
set -eu
R=$1 HBD=$2 UNIT=$3 CONF=$4
mount -t tmpfs -o mode=755 tmpfs "$R"
mkdir -p "$R/usr" "$R/.usr-upper" "$R/.usr-work" "$R/etc/systemd/system" "$R/etc/default" \
	"$R/proc" "$R/sys" "$R/dev" "$R/run" "$R/tmp" "$R/var/log/journal" "$R/var/lib" "$R/root" "$R/.old"
chmod 1777 "$R/tmp"
mount -t overlay overlay -o lowerdir=/usr,upperdir="$R/.usr-upper",workdir="$R/.usr-work" "$R/usr"
for l in bin sbin lib lib64; do
	[ -e "/usr/$l" ] && ln -s "usr/$l" "$R/$l"
done
cp "$HBD" "$R/usr/sbin/hbd"
for f in passwd group shadow gshadow nsswitch.conf services protocols hosts; do
	if [ -e "/etc/$f" ]; then cp "/etc/$f" "$R/etc/"; fi
done
ln -s ../usr/lib/os-release "$R/etc/os-release"
: >"$R/etc/machine-id"
echo hbdtest >"$R/etc/hostname"
cp "$UNIT" "$R/etc/systemd/system/heartbeat.service"
cp -a "$CONF" "$R/etc/ha.d"
chown -R root:root "$R/etc/ha.d"
echo HBD_NODE=hbdtest >"$R/etc/default/heartbeat"
cat >"$R/etc/systemd/system/hbd-test.target" <<'T'
[Unit]
Description=hbd under a real systemd (hbd/e2e TestSystemdUnit)
Wants=systemd-journald.socket systemd-journald.service
T
mount --rbind /dev "$R/dev"
mount -t sysfs sysfs "$R/sys"
mount -t cgroup2 cgroup2 "$R/sys/fs/cgroup"
ip link set lo up
cd "$R"
pivot_root . .old
mount -t proc proc /proc
umount -l /.old
rmdir /.old
export container=hbd-test
exec /lib/systemd/systemd --system --unit=hbd-test.target
