# shellcheck shell=bash
# Runs last. The mariadb image stops at the first init file that fails, yet on the next start it
# finds an initialised data directory and skips mysql-init/ for good: accounts or tables would
# then be missing behind a server that answers. So the compose healthcheck also requires this
# mark, written only once every file before it succeeded (`make upgrade-db` writes it too).
# SIEM_INIT_MARKER: the mark's path; unset means the image's data directory, empty means none
# (scripts/db-init run by hand against a server elsewhere).

siem_marker="${SIEM_INIT_MARKER-/var/lib/mysql/siem-init-complete}"
if [ -n "$siem_marker" ]; then
	date -u +%Y-%m-%dT%H:%M:%SZ >"$siem_marker" || {
		echo "99-complete.sh: cannot write $siem_marker" >&2
		return 1 2>/dev/null || exit 1
	}
	echo "99-complete.sh: mysql-init/ complete, marked in $siem_marker"
fi
