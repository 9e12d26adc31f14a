#!/bin/sh
# Alertmanager in deploy/compose: install alerts/alertmanager.yml (mounted at
# /etc/alertmanager/src) with the Telegram token from the secret file, as the header of
# alerts/alertmanager.yml describes, then run Alertmanager on it.
# The token never leaves this shell: read (read), substituted (${x%%…}, ${x#…}) and written
# (printf, a builtin in busybox ash and dash, and a redirection) without running another program,
# so it is in no process's argv (ps, /proc/*/cmdline). tests/test_deploy.py runs this script.
# The AM_* variables exist for that test; the container sets none of them.
set -eu
src=${AM_SRC:-/etc/alertmanager/src}
secrets=${AM_SECRETS:-/etc/prometheus/alertmanager/secrets}
config_dir=${AM_CONFIG_DIR:-/alertmanager/config}
placeholder=__TELEGRAM_BOT_TOKEN__
mkdir -p "$config_dir"
token=
IFS= read -r token <"$secrets/telegram_bot_token" || [ -n "$token" ] ||
  { echo "alertmanager-entrypoint.sh: $secrets/telegram_bot_token is empty" >&2; exit 2; }
umask 077
while IFS= read -r line || [ -n "$line" ]; do
  done_part=
  while :; do
    case $line in
      *"$placeholder"*) done_part=$done_part${line%%"$placeholder"*}$token; line=${line#*"$placeholder"} ;;
      *) break ;;
    esac
  done
  printf '%s\n' "$done_part$line"
done <"$src/alertmanager.yml" >"$config_dir/alertmanager.yml"
unset token line done_part
ln -sfn "$src/templates" "$config_dir/templates"      # templates: are relative to the config file
exec "${AM_BINARY:-/bin/alertmanager}" \
  --config.file="$config_dir/alertmanager.yml" \
  --storage.path=/alertmanager \
  --web.listen-address=:9093 \
  --cluster.listen-address=
