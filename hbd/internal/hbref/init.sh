#!/bin/sh
# hbref node init: PID 1 of a Heartbeat test node's pid namespace, already
# in its own network, UTS and mount namespaces (unshare). Usage: init.sh DIR NAME
set -eu
D=$1
NAME=$2

mount --make-rprivate /
hostname "$NAME"

# Heartbeat's fixed paths, private to this node.
mount --bind "$D/ha.d" /etc/ha.d
mount --bind "$D/lib" /var/lib/heartbeat
mount -t tmpfs -o mode=0755 hbref-run /run
mkdir -p /run/lock /run/heartbeat/ccm /run/heartbeat/crm /run/heartbeat/dopd /run/crm /run/resource-agents
chmod 1777 /run/lock
chmod 1755 /run/resource-agents
chown hacluster:haclient /run/heartbeat /run/heartbeat/ccm /run/heartbeat/crm /run/heartbeat/dopd /run/crm
chmod 0750 /run/heartbeat /run/heartbeat/ccm /run/heartbeat/crm /run/heartbeat/dopd /run/crm
mount -t tmpfs -o mode=0755 hbref-log /var/log
mkdir -p /var/log/ha
mount --bind "$D/log" /var/log/ha

# A resource that fails to stop makes Heartbeat run `reboot -nf`: not here.
for f in reboot halt poweroff shutdown init; do
	for p in /sbin/$f /usr/sbin/$f; do
		[ -e "$p" ] || continue
		mount --bind "$D/noop" "$(readlink -f "$p")"
	done
done

echo "$NAME" >"$D/ready"

# Reap orphans for as long as the node lives: `wait` reaps any child that
# exits (the shell waits with waitpid(-1)), not only the sleep. The node
# ends when this process is SIGKILLed; the kernel then kills the rest.
set +e
while :; do
	sleep 3600 &
	wait $!
done
