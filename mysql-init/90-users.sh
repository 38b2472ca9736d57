#!/bin/bash
# Least-privilege accounts, passwords from the environment (sourced by the mariadb
# image's entrypoint on first start, or by scripts/db-init; both define
# docker_process_sql). Runs after the table files so column grants can name columns.
# Re-running it updates the passwords and grants. If the file is made executable (a
# NAS file manager may do so), the entrypoint runs it as a program instead: it then
# brings its own docker_process_sql and fails loudly on any error.
#   collector: INSERT into the log tables (and dns_queries), DELETE what retention expires (reading only their
#              timestamps); EXECUTE on the two procedures of 02-storage.sql that split and
#              drop their day partitions, SELECT on its disk_usage view (no ALTER, DROP or
#              PROCESS);
#              upserts the inventory's ingest columns (MariaDB wants UPDATE on every
#              column an upsert inserts), never the user's name/known/notes; marks
#              events as notified.
#   reader:    SELECT on the database, for the API and Grafana.
#   editor:    (only if SIEM_EDITOR_PASSWORD is set) the API's one write: a device's
#              name, known flag and notes.

siem_db="${MARIADB_DATABASE:-${SIEM_DB_NAME:-siem}}"

if ! declare -F docker_process_sql >/dev/null; then
	# Executed, not sourced: root over the init server's socket, or over TCP when SIEM_DB_HOST is set.
	set -euo pipefail
	docker_process_sql() {
		local target=(--protocol=socket --socket="${SIEM_INIT_SOCKET:-/run/mysqld/mysqld.sock}")
		if [ -n "${SIEM_DB_HOST:-}" ]; then
			target=(--protocol=tcp -h "$SIEM_DB_HOST" -P "${SIEM_DB_PORT:-3306}")
		fi
		MYSQL_PWD="${MARIADB_ROOT_PASSWORD:-}" "$(command -v mariadb || command -v mysql)" "${target[@]}" \
			-u root --batch --database="$siem_db"
	}
fi
siem_collector_user="${SIEM_COLLECTOR_USER:-siem_collector}"
siem_reader_user="${SIEM_READER_USER:-siem_reader}"
siem_editor_user="${SIEM_EDITOR_USER:-siem_editor}"

siem_refuse_weak() {
	# $1: variable name, $2: value
	case "${2,,}" in
	"" | changeme* | change-me* | change_me* | password | secret | example | placeholder)
		echo "90-users.sh: $1 is empty or a placeholder; set a real password in .env" >&2
		return 1
		;;
	esac
}

siem_sql_string() {
	# Quote a value as an SQL string literal (backslashes and quotes doubled).
	local value=${1//\\/\\\\}
	printf "'%s'" "${value//\'/\'\'}"
}

for siem_name in "$siem_db" "$siem_collector_user" "$siem_reader_user" "$siem_editor_user"; do
	if [[ ! $siem_name =~ ^[A-Za-z0-9_]{1,64}$ ]]; then
		echo "90-users.sh: '$siem_name' is not a plain name (letters, digits, _)" >&2
		return 1 2>/dev/null || exit 1
	fi
done
siem_refuse_weak SIEM_COLLECTOR_PASSWORD "${SIEM_COLLECTOR_PASSWORD:-}" || { return 1 2>/dev/null || exit 1; }
siem_refuse_weak SIEM_READER_PASSWORD "${SIEM_READER_PASSWORD:-}" || { return 1 2>/dev/null || exit 1; }

docker_process_sql <<EOSQL
CREATE USER IF NOT EXISTS '${siem_collector_user}'@'%';
ALTER USER '${siem_collector_user}'@'%' IDENTIFIED BY $(siem_sql_string "$SIEM_COLLECTOR_PASSWORD");
GRANT INSERT, DELETE, SELECT (id, timestamp) ON \`${siem_db}\`.messages TO '${siem_collector_user}'@'%';
GRANT INSERT, DELETE, SELECT (id, timestamp, host, action, chain, in_interface, src_ip, src_port, dst_ip) ON \`${siem_db}\`.packetfilter TO '${siem_collector_user}'@'%';
GRANT INSERT, DELETE, SELECT (id, timestamp) ON \`${siem_db}\`.addrwatch TO '${siem_collector_user}'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON \`${siem_db}\`.packetfilter_counts TO '${siem_collector_user}'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON \`${siem_db}\`.messages_counts TO '${siem_collector_user}'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON \`${siem_db}\`.messages_hourly TO '${siem_collector_user}'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON \`${siem_db}\`.packetfilter_ports TO '${siem_collector_user}'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON \`${siem_db}\`.packetfilter_macs TO '${siem_collector_user}'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON \`${siem_db}\`.packetfilter_top TO '${siem_collector_user}'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON \`${siem_db}\`.packetfilter_top_daily TO '${siem_collector_user}'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON \`${siem_db}\`.packetfilter_ports_daily TO '${siem_collector_user}'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON \`${siem_db}\`.packetfilter_macs_daily TO '${siem_collector_user}'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON \`${siem_db}\`.packetfilter_pending TO '${siem_collector_user}'@'%';
GRANT SELECT, INSERT, UPDATE ON \`${siem_db}\`.row_ids TO '${siem_collector_user}'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON \`${siem_db}\`.daily_totals TO '${siem_collector_user}'@'%';
GRANT SELECT ON \`${siem_db}\`.appliance TO '${siem_collector_user}'@'%';
GRANT SELECT ON \`${siem_db}\`.disk_usage TO '${siem_collector_user}'@'%';
GRANT EXECUTE ON PROCEDURE \`${siem_db}\`.siem_split_partition TO '${siem_collector_user}'@'%';
GRANT EXECUTE ON PROCEDURE \`${siem_db}\`.siem_drop_partitions TO '${siem_collector_user}'@'%';
GRANT SELECT, INSERT ON \`${siem_db}\`.devices TO '${siem_collector_user}'@'%';
GRANT UPDATE (mac, first_seen, last_seen, last_ipv4, last_ipv6, interface, vlan, vendor, hostname, randomised, last_source)
    ON \`${siem_db}\`.devices TO '${siem_collector_user}'@'%';
GRANT SELECT, INSERT, UPDATE ON \`${siem_db}\`.device_addresses TO '${siem_collector_user}'@'%';
GRANT SELECT, INSERT, DELETE ON \`${siem_db}\`.device_events TO '${siem_collector_user}'@'%';
GRANT INSERT, DELETE, SELECT (id, timestamp) ON \`${siem_db}\`.dns_queries TO '${siem_collector_user}'@'%';
GRANT SELECT, INSERT ON \`${siem_db}\`.dns_domains TO '${siem_collector_user}'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON \`${siem_db}\`.dns_hourly TO '${siem_collector_user}'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON \`${siem_db}\`.dns_device_hourly TO '${siem_collector_user}'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON \`${siem_db}\`.dns_device_daily TO '${siem_collector_user}'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON \`${siem_db}\`.dns_domain_daily TO '${siem_collector_user}'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON \`${siem_db}\`.dns_device_domains TO '${siem_collector_user}'@'%';
GRANT UPDATE (notified_at, notice) ON \`${siem_db}\`.device_events TO '${siem_collector_user}'@'%';

CREATE USER IF NOT EXISTS '${siem_reader_user}'@'%';
ALTER USER '${siem_reader_user}'@'%' IDENTIFIED BY $(siem_sql_string "$SIEM_READER_PASSWORD");
GRANT SELECT ON \`${siem_db}\`.* TO '${siem_reader_user}'@'%';
FLUSH PRIVILEGES;
EOSQL

if [ -n "${SIEM_EDITOR_PASSWORD:-}" ]; then
	siem_refuse_weak SIEM_EDITOR_PASSWORD "$SIEM_EDITOR_PASSWORD" || { return 1 2>/dev/null || exit 1; }
	docker_process_sql <<EOSQL
CREATE USER IF NOT EXISTS '${siem_editor_user}'@'%';
ALTER USER '${siem_editor_user}'@'%' IDENTIFIED BY $(siem_sql_string "$SIEM_EDITOR_PASSWORD");
GRANT SELECT (mac), UPDATE (name, known, notes) ON \`${siem_db}\`.devices TO '${siem_editor_user}'@'%';
FLUSH PRIVILEGES;
EOSQL
fi
