#!/usr/bin/env bash
# Start a fleet's central services on this host: PostgreSQL (Debian `postgresql`: a new cluster in
# the data directory, database and role `monitor` with a generated password), then Prometheus +
# Alertmanager (deploy/local/start.sh) scraping the fleet's probers, and with --victoria-metrics
# VictoriaMetrics + vmalert. No systemd; as root the cluster belongs to the `postgres` user.
# Ctrl-C / SIGTERM stops everything, PostgreSQL last.
#
#   deploy/fleet/start.sh --listen-address 10.213.0.1 --allow 10.213.0.0/24 \
#       --target 10.213.0.11:9180=hanoi --target 10.213.0.12:9180=caobang [--victoria-metrics]
#
# Options:
#   --listen-address ADDR  where PostgreSQL, Prometheus and Alertmanager listen (PostgreSQL on
#                          loopback too); default 127.0.0.1
#   --allow CIDR           a network whose probers may log in to PostgreSQL as `monitor` (password,
#                          scram-sha-256); repeatable; default 127.0.0.1/32
#   --pg-port N            PostgreSQL's port; default 5432
#   --data-dir DIR         default: a new directory from mktemp -d (kept on exit)
#   anything else          passed to deploy/local/start.sh (--target, --victoria-metrics, --prometheus-port,
#                          --scrape-interval, --rules, --webhook, ...; see its --help)
#
# Prints `store-url-file DIR/store.url`: the file (0600) holding the probers' MONITOR_STORE,
# postgresql://monitor:PASSWORD@ADDR:PORT/monitor. Hand it to each prober as a secret (systemd
# credential, Kubernetes Secret, compose secret: deploy/README.md "fleet/"), never on a command line:
# this script itself passes the password to PostgreSQL on psql's standard input only. Then the lines
# of deploy/local/start.sh (`prometheus http://...`, ..., `ready`).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
listen="127.0.0.1" pg_port=5432 data_dir="" allow=() passthrough=()
usage() { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --listen-address) listen="$2"; passthrough+=("$1" "$2"); shift 2 ;;
    --allow) allow+=("$2"); shift 2 ;;
    --pg-port) pg_port="$2"; shift 2 ;;
    --data-dir) data_dir="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    --victoria-metrics) passthrough+=("$1"); shift ;;
    --dry-run) echo "fleet/start.sh: no --dry-run here (it starts PostgreSQL); deploy/local/start.sh --dry-run checks the rest" >&2; exit 2 ;;
    --*) [[ $# -ge 2 ]] || { echo "fleet/start.sh: $1 wants a value (see --help)" >&2; exit 2; }
         passthrough+=("$1" "$2"); shift 2 ;;
    *) echo "fleet/start.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ ${#allow[@]} -gt 0 ]] || allow=("127.0.0.1/32")
[[ "$listen" != "0.0.0.0" && "$listen" != "::" ]] || { echo "fleet/start.sh: --listen-address wants one address, not $listen" >&2; exit 2; }

pg_bin=""
for candidate in /usr/lib/postgresql/*/bin; do [[ -x "$candidate/pg_ctl" ]] && pg_bin="$candidate"; done
[[ -n "$pg_bin" ]] || pg_bin="$(dirname "$(command -v pg_ctl || echo /nonexistent/pg_ctl)")"
[[ -x "$pg_bin/initdb" ]] || { echo "fleet/start.sh: PostgreSQL not found (apt-get install postgresql)" >&2; exit 2; }

[[ -n "$data_dir" ]] || data_dir="$(mktemp -d -t monitor-fleet.XXXXXX)"
mkdir -p "$data_dir"
data_dir="$(cd "$data_dir" && pwd)"
cluster="$data_dir/postgres"
as=() superuser="$(id -un)"
if [[ "$(id -u)" -eq 0 ]]; then  # initdb refuses root: the cluster belongs to Debian's postgres user
  id postgres >/dev/null 2>&1 || { echo "fleet/start.sh: as root, a 'postgres' user must own the cluster" >&2; exit 2; }
  as=(runuser -u postgres --) superuser=postgres
  install -d -o postgres -g postgres -m 0700 "$cluster"
  chmod o+x "$data_dir"
  path="$data_dir"
  while path="$(dirname "$path")" && [[ "$path" != / ]]; do chmod o+x "$path"; done
else
  install -d -m 0700 "$cluster"
fi

# --- the cluster: peer login on its socket for the owner, scram-sha-256 for `monitor` over TCP ----
"${as[@]}" "$pg_bin/initdb" -D "$cluster/data" -U "$superuser" --auth-local=peer --auth-host=reject \
  -E UTF8 --no-locale >"$data_dir/initdb.log" 2>&1 || { echo "fleet/start.sh: initdb failed: $data_dir/initdb.log" >&2; exit 1; }
{
  echo "# Written by deploy/fleet/start.sh: the owner on the socket, the probers by password."
  echo "local all $superuser peer"
  echo "host monitor monitor 127.0.0.1/32 scram-sha-256"
  for network in "${allow[@]}"; do echo "host monitor monitor $network scram-sha-256"; done
} >"$cluster/data/pg_hba.conf"
addresses="127.0.0.1"
[[ "$listen" == "127.0.0.1" ]] || addresses="127.0.0.1,$listen"

stop_postgres() { "${as[@]}" "$pg_bin/pg_ctl" -D "$cluster/data" -m fast -w stop >/dev/null 2>&1 || true; }
stack_pid=""
stop() {
  trap - TERM INT EXIT
  if [[ -n "$stack_pid" ]]; then kill -TERM "$stack_pid" 2>/dev/null || true; wait "$stack_pid" || true; fi
  stop_postgres
}
trap 'stop; exit 0' TERM INT
trap 'stop' EXIT

"${as[@]}" "$pg_bin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 \
  -o "-p $pg_port -k $cluster -c listen_addresses=$addresses -c password_encryption=scram-sha-256" start >/dev/null \
  || { echo "fleet/start.sh: PostgreSQL did not start: $cluster/server.log" >&2; exit 1; }

# The password: 32 characters from the kernel's random source, through pipes only (no argv).
umask 077
password="$(head -c 48 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | head -c 32)"
psql=("${as[@]}" "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$cluster" -p "$pg_port" -U "$superuser" -d postgres)
"${psql[@]}" <<<"CREATE ROLE monitor LOGIN PASSWORD '$password'; CREATE DATABASE monitor OWNER monitor;"
printf 'postgresql://monitor:%s@%s:%s/monitor\n' "$password" "$listen" "$pg_port" >"$data_dir/store.url"
unset password
umask 022
echo "postgresql $listen:$pg_port"
echo "store-url-file $data_dir/store.url"

# --- Prometheus, Alertmanager (and VictoriaMetrics, vmalert) ------------------------------------
bash "$repo/deploy/local/start.sh" "${passthrough[@]}" --data-dir "$data_dir/stack" &
stack_pid=$!
set +e
wait "$stack_pid"
status=$?
stack_pid=""
exit "$status"
