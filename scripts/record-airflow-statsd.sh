#!/usr/bin/env bash
# Re-record the StatsD fixtures tests/fixtures/statsd/airflow{3,2}.tsv from REAL Airflow 3.x and 2.10.
#
# What it does, per Airflow major version:
#   1. creates a venv outside the repo if missing (apache-airflow + statsd + psycopg2-binary, from PyPI)
#   2. starts a private PostgreSQL cluster on 127.0.0.1:<free port> (LocalExecutor needs it on 2.x;
#      3.x uses it too so both captures come from the same setup). Without PostgreSQL binaries it falls
#      back to SQLite: LocalExecutor on 3.x, SequentialExecutor on 2.x (written to the file header).
#   3. starts scripts/record_statsd/recorder.py (UDP, 127.0.0.1:<free port>) and points Airflow at it
#   4. airflow db migrate; pools set etl_pool; dags reserialize; dags test etl_orders / billing_report
#   5. scheduler (+ dag-processor + api-server on 3.x, all on loopback) for RUN_SECONDS with both DAGs
#      unpaused and triggered, then stops everything with SIGTERM (SIGKILL after a grace period)
#   6. writes the capture (size-capped by scripts/record_statsd/finalize.py) into tests/fixtures/statsd/
#
# Usage: bash scripts/record-airflow-statsd.sh [3] [2]      (default: both)
# Env:   AIRFLOW_DASH_VENVS  where the venvs live (default: $HOME/.cache/airflow-dash/venvs)
#        STATSD_TAGS         plain (default) | influxdb: Airflow's statsd_influxdb_enabled, tags appended to
#                            names as `,k=v` (the capture is then airflow<N>-influxdb-tags.tsv; stripping the
#                            tags gives the plain names, so it also replays as a plain capture)
#        SCHEDULERS          scheduler processes at once (default 1; 2 for an HA capture, PostgreSQL only)
#        PYTHON              interpreter for new venvs (default: python3, needs >= 3.10)
#        RUN_SECONDS         scheduler phase length after the DAGs are unpaused (default: 150)
#        KEEP_WORK=1         keep the temp dir (logs, AIRFLOW_HOME, raw capture) for debugging
#        FIXTURE_DIR         where to write the captures (default: tests/fixtures/statsd)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HERE="$REPO/scripts/record_statsd"
VENVS="${AIRFLOW_DASH_VENVS:-$HOME/.cache/airflow-dash/venvs}"
PYTHON="${PYTHON:-python3}"
RUN_SECONDS="${RUN_SECONDS:-150}"
STATSD_TAGS="${STATSD_TAGS:-plain}"
SCHEDULERS="${SCHEDULERS:-1}"
case $STATSD_TAGS in plain) CAPTURE_SUFFIX="" ;; influxdb) CAPTURE_SUFFIX="-influxdb-tags" ;;
    *) echo "STATSD_TAGS must be plain or influxdb" >&2; exit 2 ;; esac
FIXTURE_DIR="${FIXTURE_DIR:-$REPO/tests/fixtures/statsd}"
VERSIONS=("$@")
[ ${#VERSIONS[@]} -gt 0 ] || VERSIONS=(3 2)

WORK="$(mktemp -d "${TMPDIR:-/tmp}/record-airflow.XXXXXX")"
chmod 755 "$WORK"              # the postgres user must reach its data dir below it
PIDS=()                        # process-group leaders we started (setsid)
CAPTURE_DAGS=(etl_orders billing_report team.etl_groups)
PG_BIN="" PG_DATA="" PG_PORT="" PG_AS=()

log() { printf '[record-airflow %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Stop one process group: SIGTERM, wait up to $2 seconds, then SIGKILL.
stop_group() {
    local pid=$1 grace=${2:-30} i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 5; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid did not stop in ${grace}s, killing its group"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    # Stragglers of the same group (LocalExecutor workers, uvicorn/gunicorn children).
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? pid
    set +e
    for pid in "${PIDS[@]}"; do stop_group "$pid" 10; done
    PIDS=()
    if [ -n "$PG_DATA" ] && [ -f "$PG_DATA/postmaster.pid" ]; then
        "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 \
            || kill -KILL "$(head -1 "$PG_DATA/postmaster.pid")" 2>/dev/null
    fi
    if [ "${KEEP_WORK:-0}" = 1 ] || [ $rc -ne 0 ]; then
        log "work dir kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_bg NAME LOGFILE CMD... : run CMD in its own session/process group, remember its pid.
start_bg() {
    local name=$1 logf=$2; shift 2
    setsid "$@" >"$logf" 2>&1 < /dev/null &
    local pid=$!
    PIDS+=("$pid")
    log "started $name (pid $pid)"
    LAST_PID=$pid
}

forget_pid() { local p=$1 x; local keep=(); for x in "${PIDS[@]}"; do [ "$x" = "$p" ] || keep+=("$x"); done; PIDS=("${keep[@]}"); }

# ---------------------------------------------------------------------------------------------
ensure_venv() {
    local major=$1 venv="$VENVS/airflow$major" spec
    local extra=()
    case $major in
        3) spec='apache-airflow>=3,<4'; extra=(asyncpg) ;;   # 3.x opens an async engine too
        2) spec='apache-airflow==2.10.*' ;;
        *) die "unknown airflow major $major" ;;
    esac
    if [ -x "$venv/bin/airflow" ] && "$venv/bin/python" -c 'import statsd, psycopg2'"$([ "$major" = 3 ] && echo ', asyncpg')" 2>/dev/null; then
        return 0
    fi
    log "creating venv $venv ($spec), this takes a few minutes"
    mkdir -p "$VENVS"
    [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
    timeout 1800 "$venv/bin/pip" install --quiet --upgrade pip >"$WORK/pip-$major.log" 2>&1 || true
    timeout 1800 "$venv/bin/pip" install "$spec" statsd psycopg2-binary "${extra[@]}" >>"$WORK/pip-$major.log" 2>&1 \
        || { tail -30 "$WORK/pip-$major.log" >&2; die "pip install $spec failed"; }
}

find_pg_bin() {
    local d
    for d in "$(command -v pg_config >/dev/null 2>&1 && pg_config --bindir)" /usr/lib/postgresql/*/bin; do
        [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
    done
    return 1
}

start_postgres() {
    PG_BIN="$(find_pg_bin)" || { log "no PostgreSQL binaries found: falling back to SQLite"; return 1; }
    PG_DATA="$WORK/pg/data"
    PG_PORT="$(free_port)"
    mkdir -p "$WORK/pg/sock"
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || { log "running as root without a 'postgres' user: SQLite fallback"; PG_DATA=""; return 1; }
        chown -R postgres "$WORK/pg"
        PG_AS=(runuser -u postgres --)
    else
        PG_AS=(env)
    fi
    "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U postgres >"$WORK/pg/initdb.log" 2>&1 \
        || { cat "$WORK/pg/initdb.log" >&2; die "initdb failed"; }
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -t 60 -l "$WORK/pg/postgres.log" \
        -o "-p $PG_PORT -k $WORK/pg/sock -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null \
        || { cat "$WORK/pg/postgres.log" >&2; die "postgres did not start"; }
    log "postgres $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT"
    return 0
}

# ---------------------------------------------------------------------------------------------
record_version() {
    local major=$1 venv="$VENVS/airflow$major"
    local home="$WORK/airflow$major" logs="$WORK/logs$major" raw="$WORK/airflow$major.raw.tsv"
    mkdir -p "$home" "$logs" "$home/dags"
    cp "$HERE/dags/"*.py "$home/dags/"
    local af="$venv/bin/airflow" version
    version="$(cd "$home" && AIRFLOW_HOME="$home" timeout 300 "$af" version 2>/dev/null | tail -1)"
    [[ "$version" == "$major".* ]] || die "expected Airflow $major.x in $venv, got '$version'"
    log "=== Airflow $version ==="

    local statsd_port db executor db_desc
    local api_port log_port
    api_port="$(free_port)"; log_port="$(free_port)"

    if [ -n "$PG_PORT" ]; then
        "${PG_AS[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "airflow$major"
        db="postgresql+psycopg2://postgres@127.0.0.1:$PG_PORT/airflow$major"
        db_desc="PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}')"
        executor=LocalExecutor
    else
        db="sqlite:///$home/airflow.db"
        db_desc="SQLite"
        if [ "$major" = 2 ]; then executor=SequentialExecutor; else executor=LocalExecutor; fi
    fi

    # Recorder first, so the capture includes every process from db migrate onwards.
    local cmd_desc="airflow db migrate; airflow pools set etl_pool 2; airflow dags reserialize; airflow dags test etl_orders; airflow dags test billing_report;"
    local n_sched=$SCHEDULERS
    [ -n "$PG_PORT" ] || n_sched=1   # several schedulers need row locks (PostgreSQL)
    if [ "$major" = 3 ]; then
        cmd_desc+=" airflow api-server + airflow dag-processor + airflow triggerer + ${n_sched} x airflow scheduler --skip-serve-logs"
    else
        cmd_desc+=" airflow triggerer + ${n_sched} x airflow scheduler --skip-serve-logs (in-process DAG file processor)"
    fi
    cmd_desc+=" for ${RUN_SECONDS}s after airflow dags unpause + airflow dags trigger of ${CAPTURE_DAGS[*]}"
    local statsd_mode="plain StatsD (statsd_datadog_enabled=False, statsd_influxdb_enabled=False)"
    [ "$STATSD_TAGS" = plain ] || statsd_mode="InfluxDB-style tags (statsd_influxdb_enabled=True, statsd_datadog_enabled=False)"
    start_bg recorder "$logs/recorder.log" "$PYTHON" "$HERE/recorder.py" --out "$raw" --port 0 \
        --port-file "$WORK/statsd$major.port" --airflow-version "$version" --prefix airflow \
        --command "$cmd_desc" \
        --header "executor $executor, metadata db $db_desc, python $("$venv/bin/python" -c 'import platform; print(platform.python_version())')" \
        --header "statsd mode: $statsd_mode, legacy_names_on default" \
        --header "dags: etl_orders (every 1 min, run succeeds, check_late_orders fails after 1 retry, transform in pool etl_pool), billing_report (every 2 min, run fails: upload exits 1), team.etl_groups (every 1 min: dotted dag id, TaskGroups grp and grp.inner, grp.inner.transform in pool etl_pool, grp.inner.flaky succeeds on its retry, wait_deferred defers to the triggerer)"
    local rec_pid=$LAST_PID i
    for ((i = 0; i < 50; i++)); do [ -s "$WORK/statsd$major.port" ] && break; sleep 0.1; done
    statsd_port="$(cat "$WORK/statsd$major.port")" || die "recorder did not start"

    # Environment of every airflow command below (scoped to a subshell-less export list).
    local -a ENV=(
        AIRFLOW_HOME="$home"
        AIRFLOW__CORE__DAGS_FOLDER="$home/dags"
        AIRFLOW__CORE__LOAD_EXAMPLES=False
        AIRFLOW__CORE__EXECUTOR="$executor"
        AIRFLOW__CORE__PARALLELISM=8
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="$db"
        AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS=False
        AIRFLOW__METRICS__STATSD_ON=True
        AIRFLOW__METRICS__STATSD_HOST=127.0.0.1
        AIRFLOW__METRICS__STATSD_PORT="$statsd_port"
        AIRFLOW__METRICS__STATSD_PREFIX=airflow
        AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED="$([ "$STATSD_TAGS" = influxdb ] && echo True || echo False)"
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT="$log_port"
        AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT="$(free_port)"
        AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL=30
        AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL=20
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=30
        AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL=20
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$api_port/execution/"
        AIRFLOW__API__BASE_URL="http://127.0.0.1:$api_port"
        AIRFLOW__API__HOST=127.0.0.1
        AIRFLOW__API__PORT="$api_port"
        AIRFLOW__API_AUTH__JWT_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        AIRFLOW__API__SECRET_KEY="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        AIRFLOW__WEBSERVER__SECRET_KEY="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=True
        PYTHONWARNINGS=ignore
    )
    run_af() {  # run_af TIMEOUT LOGNAME args... (fails on non-zero)
        local t=$1 name=$2; shift 2
        (cd "$home" && env "${ENV[@]}" timeout -k 10 "$t" "$af" "$@") >"$logs/$name.log" 2>&1
    }

    log "db migrate"
    run_af 600 db-migrate db migrate || { tail -30 "$logs/db-migrate.log" >&2; die "db migrate failed"; }
    run_af 120 pools pools set etl_pool 2 "pool of the statsd capture" || { tail -20 "$logs/pools.log" >&2; die "pools set failed"; }
    run_af 300 reserialize dags reserialize || log "dags reserialize failed (see $logs/reserialize.log), going on"
    local dag
    for dag in etl_orders billing_report; do
        log "dags test $dag"
        run_af 300 "dags-test-$dag" dags test "$dag" || log "dags test $dag exited non-zero (expected for a failing run)"
    done

    local sched_pid dp_pid="" api_pid=""
    if [ "$major" = 3 ]; then
        start_bg api-server "$logs/api-server.log" env "${ENV[@]}" "$af" api-server --host 127.0.0.1 --port "$api_port"
        api_pid=$LAST_PID
        for ((i = 0; i < 120; i++)); do
            "$PYTHON" - "$api_port" <<'PY' 2>/dev/null && break
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/v2/monitor/health", timeout=2)
PY
            kill -0 "$api_pid" 2>/dev/null || { tail -30 "$logs/api-server.log" >&2; die "api-server exited"; }
            sleep 1
        done
        [ $i -lt 120 ] || die "api-server not healthy after 120s"
        start_bg dag-processor "$logs/dag-processor.log" env "${ENV[@]}" "$af" dag-processor
        dp_pid=$LAST_PID
    fi
    start_bg triggerer "$logs/triggerer.log" env "${ENV[@]}" "$af" triggerer --skip-serve-logs
    local trig_pid=$LAST_PID extra_sched=() s
    start_bg scheduler "$logs/scheduler.log" env "${ENV[@]}" "$af" scheduler --skip-serve-logs
    sched_pid=$LAST_PID
    for ((s = 2; s <= n_sched; s++)); do
        start_bg "scheduler $s" "$logs/scheduler$s.log" env "${ENV[@]}" "$af" scheduler --skip-serve-logs
        extra_sched+=("$LAST_PID")
    done

    # Wait until the DAGs are (re)parsed, then unpause and trigger.
    for ((i = 0; i < 60; i++)); do
        run_af 60 dags-list dags list -o plain && grep -q etl_orders "$logs/dags-list.log" && break
        sleep 2
    done
    for dag in "${CAPTURE_DAGS[@]}"; do
        run_af 120 "unpause-$dag" dags unpause "$dag" || log "unpause $dag failed (see $logs/unpause-$dag.log)"
        run_af 120 "trigger-$dag" dags trigger "$dag" || log "trigger $dag failed (see $logs/trigger-$dag.log)"
    done
    log "scheduler phase: ${RUN_SECONDS}s"
    local deadline=$((SECONDS + RUN_SECONDS)) retriggered=0
    while [ $SECONDS -lt $deadline ]; do
        kill -0 "$sched_pid" 2>/dev/null || { tail -30 "$logs/scheduler.log" >&2; die "scheduler exited early"; }
        if [ $retriggered = 0 ] && [ $((deadline - SECONDS)) -lt $((RUN_SECONDS / 2)) ]; then
            run_af 120 trigger-etl_orders-2 dags trigger etl_orders || true
            run_af 120 trigger-team.etl_groups-2 dags trigger team.etl_groups || true
            retriggered=1
        fi
        sleep 5
    done
    run_af 120 list-runs dags list-runs etl_orders || true
    run_af 120 list-runs-billing dags list-runs billing_report || true
    run_af 120 list-runs-groups dags list-runs team.etl_groups || true

    log "stopping airflow $major"
    for s in "${extra_sched[@]}"; do stop_group "$s" 60; forget_pid "$s"; done
    stop_group "$sched_pid" 60; forget_pid "$sched_pid"
    stop_group "$trig_pid" 30; forget_pid "$trig_pid"
    [ -z "$dp_pid" ] || { stop_group "$dp_pid" 30; forget_pid "$dp_pid"; }
    [ -z "$api_pid" ] || { stop_group "$api_pid" 30; forget_pid "$api_pid"; }
    sleep 2
    stop_group "$rec_pid" 10; forget_pid "$rec_pid"

    local n
    n=$(grep -vc '^#' "$raw" || true)
    [ "$n" -gt 100 ] || die "capture for Airflow $version has only $n lines (see $logs/)"
    mkdir -p "$FIXTURE_DIR"
    "$PYTHON" "$HERE/finalize.py" "$raw" "$FIXTURE_DIR/airflow$major$CAPTURE_SUFFIX.tsv"
    log "wrote $FIXTURE_DIR/airflow$major$CAPTURE_SUFFIX.tsv ($n raw lines)"
}

# ---------------------------------------------------------------------------------------------
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' || die "$PYTHON must be >= 3.10"
T0=$SECONDS
# Create missing venvs in parallel (each takes minutes).
venv_pids=()
for major in "${VERSIONS[@]}"; do
    ( ensure_venv "$major" ) &
    venv_pids+=($!)
done
for p in "${venv_pids[@]}"; do wait "$p" || die "venv creation failed"; done
log "venvs ready after $((SECONDS - T0))s"

start_postgres || true
for major in "${VERSIONS[@]}"; do
    record_version "$major"
done
log "done in $((SECONDS - T0))s"
