#!/usr/bin/env bash
# Install the monitor's alerting on a Debian host that runs the Debian packages `prometheus`
# and `prometheus-alertmanager`, and the prober unit. Run as root from a checkout of this
# repository (e.g. /opt/monitor/src); the package itself goes into /opt/monitor/.venv:
#   python3 -m venv /opt/monitor/.venv && /opt/monitor/.venv/bin/pip install -c constraints.txt .
#
#   deploy/systemd/install.sh              # then: systemctl enable --now monitor@hanoi
#
# Writes (DESTDIR=/some/dir prefixes every path and skips systemctl/chown: used by the tests):
#   /etc/prometheus/prometheus.yml               <- deploy/systemd/prometheus.yml (old one kept as .orig)
#   /etc/prometheus/rules/monitor/*.yml          <- alerts/rules/*.yml (replaced as a whole)
#   /etc/prometheus/alertmanager.yml             <- alerts/alertmanager.yml, Telegram token substituted
#   /etc/prometheus/templates/*.tmpl             <- alerts/templates/*.tmpl
#   /etc/systemd/system/prometheus.service.d/monitor.conf, prometheus-alertmanager.service.d/monitor.conf
#   /etc/systemd/system/monitor@.service
#   /etc/monitor/checks/                         <- checks/*.yml (only if the directory does not exist)
# Secrets, created beforehand (mode 0400, owner prometheus), see alerts/alertmanager.yml:
#   /etc/prometheus/alertmanager/secrets/{telegram_bot_token,smtp_password,paging_webhook_token}
# TELEGRAM_TOKEN_FILE overrides where the Telegram token is read from.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dest="${DESTDIR:-}"
token_file="${TELEGRAM_TOKEN_FILE:-/etc/prometheus/alertmanager/secrets/telegram_bot_token}"
[[ -r "$token_file" ]] || { echo "install.sh: cannot read the Telegram token from $token_file" >&2; exit 2; }

etc="$dest/etc/prometheus"
install -d "$etc/rules/monitor" "$etc/templates" "$dest/etc/systemd/system/prometheus.service.d" \
  "$dest/etc/systemd/system/prometheus-alertmanager.service.d"
if [[ -f "$etc/prometheus.yml" && ! -f "$etc/prometheus.yml.orig" ]]; then cp -p "$etc/prometheus.yml" "$etc/prometheus.yml.orig"; fi
install -m 0644 "$here/prometheus.yml" "$etc/prometheus.yml"
rm -f "$etc/rules/monitor/"*.yml
install -m 0644 "$repo"/alerts/rules/*.yml "$etc/rules/monitor/"
install -m 0644 "$repo"/alerts/templates/*.tmpl "$etc/templates/"
# The token never leaves this shell: bash reads it ($(<file)), substitutes it (${//}) and writes it
# (printf, a builtin, and a redirection) without running another program, so it is in no command's
# argv (ps, /proc/*/cmdline) and no environment. tests/test_deploy.py checks this line by line and
# under strace.
umask 027
token=$(<"$token_file")
config=$(<"$repo/alerts/alertmanager.yml")
shopt -u patsub_replacement 2>/dev/null || true  # bash >= 5.2: an "&" in the token stays an "&"
printf '%s\n' "${config//__TELEGRAM_BOT_TOKEN__/"$token"}" >"$etc/alertmanager.yml.new"
unset token config
mv "$etc/alertmanager.yml.new" "$etc/alertmanager.yml"
umask 022
install -m 0644 "$here/prometheus.service.d/monitor.conf" "$dest/etc/systemd/system/prometheus.service.d/monitor.conf"
install -m 0644 "$here/prometheus-alertmanager.service.d/monitor.conf" \
  "$dest/etc/systemd/system/prometheus-alertmanager.service.d/monitor.conf"
install -m 0644 "$here/monitor@.service" "$dest/etc/systemd/system/monitor@.service"
if [[ ! -d "$dest/etc/monitor/checks" ]]; then
  install -d "$dest/etc/monitor/checks"
  install -m 0644 "$repo"/checks/*.yml "$dest/etc/monitor/checks/"
fi

if [[ -z "$dest" ]]; then
  chgrp prometheus "$etc/alertmanager.yml"
  id monitor >/dev/null 2>&1 || useradd --system --home-dir /var/lib/monitor --shell /usr/sbin/nologin monitor
  promtool check config "$etc/prometheus.yml"
  amtool check-config "$etc/alertmanager.yml"
  systemctl daemon-reload
  systemctl restart prometheus prometheus-alertmanager
  echo "installed; now: systemctl enable --now monitor@<location> (and set prober: <location> in $etc/prometheus.yml)"
fi
