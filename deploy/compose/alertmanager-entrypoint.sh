#!/bin/sh
# Alertmanager in deploy/compose: install alerts/alertmanager.yml (mounted at
# /etc/alertmanager/src) with the Telegram token from the secret file, as the header of
# alerts/alertmanager.yml describes, then run Alertmanager on it.
set -eu
src=/etc/alertmanager/src
secrets=/etc/prometheus/alertmanager/secrets
out=/alertmanager/config
mkdir -p "$out"
token="$(cat "$secrets/telegram_bot_token")"
sed "s|__TELEGRAM_BOT_TOKEN__|$token|g" "$src/alertmanager.yml" > "$out/alertmanager.yml"
chmod 0600 "$out/alertmanager.yml"
ln -sfn "$src/templates" "$out/templates"      # templates: are relative to the config file
exec /bin/alertmanager \
  --config.file="$out/alertmanager.yml" \
  --storage.path=/alertmanager \
  --web.listen-address=:9093 \
  --cluster.listen-address=
