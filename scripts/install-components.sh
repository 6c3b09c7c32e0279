#!/usr/bin/env bash
# Builds the real collectors and database of the two stacks from source, at pinned versions:
#   statsd_exporter (Airflow StatsD -> Prometheus), Telegraf (only the plugins our telegraf.conf uses),
#   InfluxDB 2 `influxd` (API only, no UI assets; its Flux engine is Rust, built by cargo).
# Each binary is cached per version under ${AIRFLOW_DASH_COMPONENTS:-$XDG_CACHE_HOME/airflow-dash/components},
# so a second run builds nothing. Needs Go (and cargo + a C compiler for influxd); reaches only the Go module
# proxy and crates.io.
#
#   install-components.sh                 build whatever is missing (idempotent)
#   install-components.sh --path NAME     print the cached binary of NAME (exit 1 when it is not installed)
#   install-components.sh --list          print "NAME VERSION PATH" for every component
set -euo pipefail

STATSD_EXPORTER_VERSION=v0.30.0
TELEGRAF_VERSION=v1.39.3
INFLUXDB_VERSION=v2.9.1
# InfluxData's pkg-config wrapper builds libflux (Rust) for the Flux version influxd pins.
FLUX_PKG_CONFIG_VERSION=v0.3.0
# Every plugin section of the generated telegraf.conf (tests/test_components.py keeps this list complete).
TELEGRAF_PLUGINS="inputs.statsd inputs.docker inputs.cpu inputs.mem inputs.disk inputs.diskio inputs.net \
inputs.system inputs.processes inputs.swap inputs.kernel inputs.linux_sysctl_fs processors.rename \
outputs.influxdb outputs.influxdb_v2"

ROOT="${AIRFLOW_DASH_COMPONENTS:-${XDG_CACHE_HOME:-$HOME/.cache}/airflow-dash/components}"
COMPONENTS="statsd_exporter telegraf influxd"

die() { echo "install-components: $*" >&2; exit 2; }

telegraf_tags() { echo "custom $TELEGRAF_PLUGINS" | tr ' ' ','; }

# The cache directory of a component names its version (and, for Telegraf, its plugin set).
component_dir() {
  case "$1" in
    statsd_exporter) echo "$ROOT/statsd_exporter-$STATSD_EXPORTER_VERSION" ;;
    telegraf) echo "$ROOT/telegraf-$TELEGRAF_VERSION-$(telegraf_tags | sha256sum | cut -c1-10)" ;;
    influxd) echo "$ROOT/influxd-$INFLUXDB_VERSION" ;;
    flux-pkg-config) echo "$ROOT/flux-pkg-config-$FLUX_PKG_CONFIG_VERSION" ;;
    *) die "unknown component '$1' (known: $COMPONENTS)" ;;
  esac
}

component_version() {
  case "$1" in
    statsd_exporter) echo "$STATSD_EXPORTER_VERSION" ;;
    telegraf) echo "$TELEGRAF_VERSION" ;;
    influxd) echo "$INFLUXDB_VERSION" ;;
    flux-pkg-config) echo "$FLUX_PKG_CONFIG_VERSION" ;;
  esac
}

binary_name() { case "$1" in flux-pkg-config) echo pkg-config ;; *) echo "$1" ;; esac; }

# A component is installed once its directory holds the binary and the stamp written after it ran.
installed_binary() {
  local dir; dir="$(component_dir "$1")"
  [ -f "$dir/.installed" ] && [ -x "$dir/$(binary_name "$1")" ] && echo "$dir/$(binary_name "$1")"
}

need_go() {
  command -v go >/dev/null || die "go is missing: install Go >= 1.26 (e.g. the official tarball, or apt-get install golang-go if new enough)"
}

# Builds into a fresh temp directory and renames it into place, so an interrupted build leaves nothing behind.
build_component() {
  local name="$1" dir tmp started=$SECONDS
  dir="$(component_dir "$name")"
  tmp="$(mktemp -d "$ROOT/.build-$name.XXXXXX")"
  # shellcheck disable=SC2064
  trap "chmod -R u+w '$tmp' 2>/dev/null; rm -rf '$tmp'" EXIT
  echo "$name $(component_version "$name"): building (cached afterwards in $dir)"
  "build_$name" "$tmp"
  version_of "$name" "$tmp/$(binary_name "$name")" >"$tmp/.installed" 2>&1 \
    || die "$name: the built binary does not run: $(head -c 300 "$tmp/.installed")"
  chmod 755 "$tmp"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  trap - EXIT
  echo "$name $(component_version "$name"): built in $((SECONDS - started))s -> $dir/$(binary_name "$name")"
}

# What the binary says of itself, kept in the stamp file.
version_of() {
  case "$1" in
    influxd) "$2" version ;;
    flux-pkg-config) echo "pkg-config wrapper $FLUX_PKG_CONFIG_VERSION"; test -x "$2" ;;
    *) "$2" --version 2>&1 ;;
  esac
}

build_statsd_exporter() {
  need_go
  GOBIN="$1" go install "github.com/prometheus/statsd_exporter@$STATSD_EXPORTER_VERSION"
}

build_telegraf() {
  need_go
  GOBIN="$1" go install -tags "$(telegraf_tags)" \
    -ldflags "-X github.com/influxdata/telegraf/internal.Version=${TELEGRAF_VERSION#v}" \
    "github.com/influxdata/telegraf/cmd/telegraf@$TELEGRAF_VERSION"
  telegraf_tags >"$1/plugins"
}

build_flux-pkg-config() {
  need_go
  GOBIN="$1" go install "github.com/influxdata/pkg-config@$FLUX_PKG_CONFIG_VERSION"
}

build_influxd() {
  need_go
  command -v cargo >/dev/null || die "cargo is missing: influxd's Flux engine is Rust; install a stable Rust toolchain (rustup or apt-get install cargo)"
  command -v cc >/dev/null || die "cc is missing: influxd needs a C compiler for cgo (apt-get install build-essential)"
  command -v pkg-config >/dev/null || die "pkg-config is missing: InfluxData's wrapper calls the real one (apt-get install pkg-config)"
  local pkgconfig
  pkgconfig="$(installed_binary flux-pkg-config)" || { build_component_nested flux-pkg-config; pkgconfig="$(installed_binary flux-pkg-config)"; }
  # influxd's go.mod has replace directives, so `go install pkg@version` refuses it: build inside a copy of the
  # module, downloaded through the Go module proxy like any dependency.
  local src
  src="$(cd "$1" && go mod download -json "github.com/influxdata/influxdb/v2@$INFLUXDB_VERSION" \
         | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -n "$src" ] && [ -d "$src" ] || die "influxd: go mod download found no module directory"
  cp -R "$src" "$1/src"
  chmod -R u+w "$1/src"
  # Flux pins Rust 1.83 in rust-toolchain.toml, which rustup cannot fetch offline; the stable toolchain builds it.
  # No `assets` tag: the binary serves the HTTP API without the UI.
  (cd "$1/src" && PKG_CONFIG="$pkgconfig" RUSTUP_TOOLCHAIN="${RUSTUP_TOOLCHAIN:-stable}" \
     go build -tags sqlite_foreign_keys,sqlite_json \
       -ldflags "-X main.version=${INFLUXDB_VERSION#v} -X main.commit=release" \
       -o "$1/influxd" ./cmd/influxd)
  chmod -R u+w "$1/src"
  rm -rf "$1/src"
}

# flux-pkg-config is built in its own temp dir while influxd's build is under way.
build_component_nested() { (build_component "$1"); }

ensure() {
  local name="$1" bin
  if bin="$(installed_binary "$name")"; then
    echo "$name $(component_version "$name"): cached, nothing to build ($bin)"
  else
    build_component "$name"
  fi
}

case "${1:-}" in
  --path)
    [ -n "${2:-}" ] || die "--path needs a component name (one of: $COMPONENTS)"
    component_dir "$2" >/dev/null
    installed_binary "$2" || exit 1
    ;;
  --list)
    for c in $COMPONENTS; do echo "$c $(component_version "$c") $(installed_binary "$c" || echo '-')"; done
    ;;
  --telegraf-plugins)
    echo "$TELEGRAF_PLUGINS" | tr -s ' ' '\n'
    ;;
  "")
    mkdir -p "$ROOT"
    # One installer at a time per cache (CI and a developer may share the machine).
    exec 9>"$ROOT/.lock"
    flock 9
    for c in $COMPONENTS; do ensure "$c"; done
    ;;
  *)
    die "unknown argument '$1' (usage: install-components.sh [--path NAME | --list | --telegraf-plugins])"
    ;;
esac
