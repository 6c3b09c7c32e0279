#!/usr/bin/env bash
# Installs the real servers the test-suite starts: Prometheus (+ promtool), node_exporter, InfluxDB 1.x, and
# python3-venv where `python3 -m venv` cannot work (stock Debian/Ubuntu: the project lives in .venv, see PEP 668).
# Idempotent: only missing packages are installed. Debian/Ubuntu only.
set -euo pipefail

need=()
command -v prometheus >/dev/null || need+=(prometheus)
command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus-node-exporter >/dev/null || need+=(prometheus-node-exporter)
command -v influxd >/dev/null || need+=(influxdb)
"${PYTHON:-python3}" -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
# Node 20 is preinstalled on our machines; Debian's npm would pull an older nodejs over it.
command -v node >/dev/null || need+=(nodejs npm)

if [ ${#need[@]} -eq 0 ]; then
  echo "system dependencies present"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${need[*]}"
$sudo apt-get update -qq
# The Debian packages start their services on install; tests start their own on free ports.
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
for svc in prometheus prometheus-node-exporter influxdb; do
  $sudo systemctl stop "$svc" >/dev/null 2>&1 || true
done
