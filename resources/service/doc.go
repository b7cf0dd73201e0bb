// Package service is hbd's `service` agent: a systemd unit or an init
// script as a haresources resource, `service::NAME`.
//
// When systemd runs (/run/systemd/system exists) start, stop and
// status/monitor are `systemctl start|stop|is-active NAME`; otherwise
// `service NAME start|stop|status`, or /etc/init.d/NAME directly when
// there is no `service` command. Status prints `running` (exit 0) or
// `stopped` (exit 3) on stdout, which is what harc reads; the commands'
// own output goes to stderr, where harc logs it. Errors name the unit,
// the command and its output.
package service
