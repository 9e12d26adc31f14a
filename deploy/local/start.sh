#!/usr/bin/env bash
# Start Prometheus and Alertmanager (Debian packages `prometheus`, `prometheus-alertmanager`)
# on loopback with this repository's rules (alerts/rules/*.yml) and routing
# (alerts/alertmanager.yml, rendered by render_alertmanager.py), scraping one or more
# `monitor run` probers. No root needed; writes only into the data directory.
# Ctrl-C / SIGTERM stops both. Used by tests/test_e2e_alerting.py.
#
#   deploy/local/start.sh [--target HOST:PORT=LOCATION]... [options]
#
# Options (environment variable in brackets):
#   --target ADDR=LOCATION   a prober to scrape, with its MONITOR_LOCATION (set as target label
#                            `prober`); repeatable [LOCAL_TARGETS, comma-separated]
#                            default 127.0.0.1:9180=local
#   --prometheus-port N      [PROMETHEUS_PORT] default 9090
#   --alertmanager-port N    [ALERTMANAGER_PORT] default 9093
#   --data-dir DIR           [DATA_DIR] default: a new directory from mktemp -d (kept on exit)
#   --scrape-interval D      [SCRAPE_INTERVAL] default 15s
#   --eval-interval D        [EVAL_INTERVAL] default 15s
#   --rules DIR              [RULES_DIR] rule files *.yml; default alerts/rules of this repository
#   --webhook URL            [WEBHOOK_URL] every receiver posts to URL (send_resolved); without it
#                            receivers have no configs: alerts show in the UI, nothing is sent
#   --group-wait D --group-interval D --repeat-interval D
#                            override Alertmanager timings (tests; default: as in alerts/alertmanager.yml)
#   --listen-address ADDR    [LISTEN_ADDRESS] where Prometheus and Alertmanager listen; default
#                            127.0.0.1 (a fleet's central host: its private address, never 0.0.0.0)
#   --remote-write URL       [REMOTE_WRITE, comma-separated] Prometheus also sends every sample to URL
#                            (e.g. VictoriaMetrics' http://HOST:8428/api/v1/write); repeatable
#   --victoria-metrics       also start VictoriaMetrics (Debian `victoria-metrics`) as the long-term
#                            store (remote_write to it, 400d retention) and vmalert evaluating the same
#                            rules against it (rendered by deploy/fleet/vmalert_rules.py), notifying
#                            the same Alertmanager
#   --vm-port N --vmalert-port N   [VM_PORT, VMALERT_PORT] default 8428, 8880
#   --dry-run                write prometheus.yml and alertmanager.yml into the data directory, check
#                            them with promtool and amtool, print their paths, start nothing
# PYTHON (env) is the interpreter with PyYAML for the renderer (default: the repo's .venv, else python3).
#
# Prints `prometheus http://...`, `alertmanager http://...` (and `victoria-metrics http://...`,
# `vmalert http://...`), `data DIR`, then `ready` once all answer. Exits non-zero if one dies.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

targets=()
if [[ -n "${LOCAL_TARGETS:-}" ]]; then IFS=',' read -r -a targets <<<"$LOCAL_TARGETS"; fi
prom_port="${PROMETHEUS_PORT:-9090}"
am_port="${ALERTMANAGER_PORT:-9093}"
data_dir="${DATA_DIR:-}"
scrape_interval="${SCRAPE_INTERVAL:-15s}"
eval_interval="${EVAL_INTERVAL:-15s}"
rules_dir="${RULES_DIR:-$repo/alerts/rules}"
webhook="${WEBHOOK_URL:-}"
group_wait="" group_interval="" repeat_interval="" dry_run=""
listen="${LISTEN_ADDRESS:-127.0.0.1}"
remote_writes=()
if [[ -n "${REMOTE_WRITE:-}" ]]; then IFS=',' read -r -a remote_writes <<<"$REMOTE_WRITE"; fi
victoria="" vm_port="${VM_PORT:-8428}" vmalert_port="${VMALERT_PORT:-8880}"

usage() { sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --target) targets+=("$2"); shift 2 ;;
    --prometheus-port) prom_port="$2"; shift 2 ;;
    --alertmanager-port) am_port="$2"; shift 2 ;;
    --data-dir) data_dir="$2"; shift 2 ;;
    --scrape-interval) scrape_interval="$2"; shift 2 ;;
    --eval-interval) eval_interval="$2"; shift 2 ;;
    --rules) rules_dir="$2"; shift 2 ;;
    --webhook) webhook="$2"; shift 2 ;;
    --group-wait) group_wait="$2"; shift 2 ;;
    --group-interval) group_interval="$2"; shift 2 ;;
    --repeat-interval) repeat_interval="$2"; shift 2 ;;
    --listen-address) listen="$2"; shift 2 ;;
    --remote-write) remote_writes+=("$2"); shift 2 ;;
    --victoria-metrics) victoria=1; shift ;;
    --vm-port) vm_port="$2"; shift 2 ;;
    --vmalert-port) vmalert_port="$2"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "start.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=("127.0.0.1:9180=local")

if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x "$repo/.venv/bin/python" ]]; then PYTHON="$repo/.venv/bin/python"; else PYTHON=python3; fi
fi
prometheus_bin="$(command -v prometheus || true)"
alertmanager_bin="$(command -v alertmanager || command -v prometheus-alertmanager || true)"
[[ -n "$prometheus_bin" ]] || { echo "start.sh: prometheus not found (apt-get install prometheus)" >&2; exit 2; }
[[ -n "$alertmanager_bin" ]] || { echo "start.sh: alertmanager not found (apt-get install prometheus-alertmanager)" >&2; exit 2; }
ls "$rules_dir"/*.yml >/dev/null 2>&1 || { echo "start.sh: no rule files in $rules_dir" >&2; exit 2; }
[[ "$listen" != "0.0.0.0" && "$listen" != "::" ]] || { echo "start.sh: --listen-address wants one address, not $listen" >&2; exit 2; }
if [[ -n "$victoria" ]]; then
  vm_bin="$(command -v victoria-metrics || true)" vmalert_bin="$(command -v vmalert || true)"
  [[ -n "$vm_bin" && -n "$vmalert_bin" ]] || { echo "start.sh: victoria-metrics or vmalert not found (apt-get install victoria-metrics)" >&2; exit 2; }
fi

[[ -n "$data_dir" ]] || data_dir="$(mktemp -d -t monitor-local.XXXXXX)"
mkdir -p "$data_dir/prometheus" "$data_dir/alertmanager"
[[ -z "$victoria" ]] || mkdir -p "$data_dir/victoria-metrics" "$data_dir/vmalert-rules"
data_dir="$(cd "$data_dir" && pwd)"

# --- Prometheus configuration: the same scrape contract as deploy/prometheus.yml -------------
{
  echo "# Written by deploy/local/start.sh. Do not edit."
  echo "global:"
  echo "  scrape_interval: $scrape_interval"
  echo "  evaluation_interval: $eval_interval"
  echo "rule_files:"
  echo "  - \"$rules_dir/*.yml\""
  echo "alerting:"
  echo "  alertmanagers:"
  echo "    - static_configs:"
  echo "        - targets: [\"$listen:$am_port\"]"
  if [[ ${#remote_writes[@]} -gt 0 || -n "$victoria" ]]; then
    echo "remote_write:"
    for url in "${remote_writes[@]}"; do echo "  - url: \"$url\""; done
  fi
  if [[ -n "$victoria" ]]; then
    # Scraped series only: vmalert records the rules' series and ALERTS in VictoriaMetrics itself.
    echo "  - url: \"http://127.0.0.1:$vm_port/api/v1/write\""
    echo "    write_relabel_configs:"
    echo "      - source_labels: [__name__]"
    echo "        regex: \".+:.+|ALERTS|ALERTS_FOR_STATE\""
    echo "        action: drop"
  fi
  echo "scrape_configs:"
  echo "  - job_name: monitor"
  echo "    static_configs:"
  for target in "${targets[@]}"; do
    address="${target%%=*}"; location="${target#*=}"
    [[ "$address" != "$target" && -n "$location" ]] || { echo "start.sh: --target wants ADDR=LOCATION, got $target" >&2; exit 2; }
    echo "      - targets: [\"$address\"]"
    echo "        labels: {prober: \"$location\"}"
  done
} >"$data_dir/prometheus.yml"

render_args=(--out "$data_dir/alertmanager.yml")
[[ -z "$webhook" ]] || render_args+=(--webhook "$webhook")
[[ -z "$group_wait" ]] || render_args+=(--group-wait "$group_wait")
[[ -z "$group_interval" ]] || render_args+=(--group-interval "$group_interval")
[[ -z "$repeat_interval" ]] || render_args+=(--repeat-interval "$repeat_interval")
"$PYTHON" "$here/render_alertmanager.py" "${render_args[@]}"

if [[ -n "$dry_run" ]]; then
  promtool check config "$data_dir/prometheus.yml" >&2
  "$(command -v amtool)" check-config "$data_dir/alertmanager.yml" >&2
  echo "prometheus-config $data_dir/prometheus.yml"
  echo "alertmanager-config $data_dir/alertmanager.yml"
  if [[ -n "$victoria" ]]; then
    "$PYTHON" "$repo/deploy/fleet/vmalert_rules.py" --rules "$rules_dir" --out "$data_dir/vmalert-rules" 2>/dev/null
    "$vmalert_bin" -dryRun -rule="$data_dir/vmalert-rules/*.yml" -loggerLevel=ERROR >&2
    echo "vmalert-rules $data_dir/vmalert-rules"
  fi
  exit 0
fi

# --- start both; stop both on SIGTERM/SIGINT ----------------------------------------------------
pids=()
stop() {
  trap - TERM INT
  [[ ${#pids[@]} -eq 0 ]] || kill -TERM "${pids[@]}" 2>/dev/null || true
  wait || true
}
trap 'stop; exit 0' TERM INT
trap 'stop' EXIT

# --cluster.listen-address= disables the gossip port (it would bind 0.0.0.0:9094).
"$alertmanager_bin" \
  --config.file="$data_dir/alertmanager.yml" \
  --storage.path="$data_dir/alertmanager" \
  --web.listen-address="$listen:$am_port" \
  --cluster.listen-address= \
  --log.level=warn >"$data_dir/alertmanager.log" 2>&1 &
pids+=($!)
"$prometheus_bin" \
  --config.file="$data_dir/prometheus.yml" \
  --storage.tsdb.path="$data_dir/prometheus" \
  --web.listen-address="$listen:$prom_port" \
  --web.enable-lifecycle \
  --log.level=warn >"$data_dir/prometheus.log" 2>&1 &
pids+=($!)
ready=("http://$listen:$prom_port/-/ready" "http://$listen:$am_port/-/ready")
if [[ -n "$victoria" ]]; then
  # The long-term store, and the same rules evaluated on it (vmalert 1.79 knows no keep_firing_for).
  "$vm_bin" -storageDataPath="$data_dir/victoria-metrics" -retentionPeriod=400d \
    -httpListenAddr="127.0.0.1:$vm_port" -loggerLevel=WARN >"$data_dir/victoria-metrics.log" 2>&1 &
  pids+=($!)
  "$PYTHON" "$repo/deploy/fleet/vmalert_rules.py" --rules "$rules_dir" --out "$data_dir/vmalert-rules" 2>/dev/null
  "$vmalert_bin" -rule="$data_dir/vmalert-rules/*.yml" -datasource.url="http://127.0.0.1:$vm_port" \
    -remoteWrite.url="http://127.0.0.1:$vm_port" -remoteRead.url="http://127.0.0.1:$vm_port" \
    -notifier.url="http://$listen:$am_port" -evaluationInterval="$eval_interval" \
    -httpListenAddr="127.0.0.1:$vmalert_port" -loggerLevel=WARN >"$data_dir/vmalert.log" 2>&1 &
  pids+=($!)
  ready+=("http://127.0.0.1:$vm_port/health" "http://127.0.0.1:$vmalert_port/health")
fi

echo "prometheus http://$listen:$prom_port"
echo "alertmanager http://$listen:$am_port"
if [[ -n "$victoria" ]]; then
  echo "victoria-metrics http://127.0.0.1:$vm_port"
  echo "vmalert http://127.0.0.1:$vmalert_port"
fi
echo "data $data_dir"

"$PYTHON" - "${ready[@]}" <<'EOF' || { echo "start.sh: not ready; logs in $data_dir" >&2; exit 1; }
import sys, time, urllib.request
deadline = time.monotonic() + 60
for url in sys.argv[1:]:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            sys.exit(1)
        time.sleep(0.2)
EOF
echo "ready"

# Wait until either dies (then stop the other and fail) or a signal arrives.
set +e
wait -n "${pids[@]}"
status=$?
echo "start.sh: a process exited ($status); logs in $data_dir" >&2
exit 1
