#!/usr/bin/env bash
# `make bench` / scripts/bench.sh MODE [bench arguments…]: one load-tool run with
# everything it needs started here and stopped afterwards — release `confab` instances, a
# throwaway PostgreSQL (initdb in a temp dir, as the `postgres` user when root) and, for
# the multi-instance modes, a throwaway redis-server, each on a free port.
#
#   MODE      fanout | big-room  → 2 instances + Redis (BENCH_INSTANCES to change)
#             idle               → 1 instance, no Redis
#   BENCH_NO_BUILD=1   skip `cargo build --release`
#   BENCH_RESULTS=F    also append the run's JSON line to F
#   BENCH_SERVER_ARGS="…"  extra `confab` flags for every instance (default:
#                      `--max-posts-per-sec 0 --max-frames-per-sec 0`: the send limits would throttle the
#                      load rather than measure the server; "" for builds without the flag)
#   BENCH_CONFAB=path  the `confab` binary to run (default: target/release/confab), to
#                      compare two builds under the same conditions
#   BENCH_SHARED_GROUP=1  run everything in this shell's scheduling autogroup (default:
#                      each process gets its own session, so the kernel's autogroup
#                      scheduler does not squeeze servers, Redis and the tool into one
#                      share of the CPU when the machine is busy)
#
# The open-file limit is raised to the hard limit (see BENCHMARKS.md: each socket costs the
# server one descriptor and the tool another).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:?usage: scripts/bench.sh fanout|big-room|idle [bench arguments…]}
shift
case "$mode" in
  fanout|big-room) instances=${BENCH_INSTANCES:-2}; want_redis=1 ;;
  idle) instances=1; want_redis=0 ;;
  *) echo "unknown mode $mode (fanout, big-room, idle)" >&2; exit 2 ;;
esac

if [ -z "${BENCH_NO_BUILD:-}" ]; then
  cargo build --release -p confab-server --bin confab -p confab-bench --bin bench
fi
ulimit -n "$(ulimit -Hn)"

run=$(mktemp -d /tmp/confab-bench.XXXXXX)
chmod 755 "$run"
pids=()
pg_pid=

# A command prefix, not a function: `$!` must be the process itself, not a subshell.
detach=(setsid)
if [ -n "${BENCH_SHARED_GROUP:-}" ]; then detach=(); fi

# PostgreSQL refuses to run as root: as root, run it as `postgres` (setpriv execs in place,
# so the pid held is the server's).
as_postgres=()
if [ "$(id -u)" = 0 ]; then as_postgres=(setpriv --reuid=postgres --regid=postgres --init-groups); fi

free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 20000))
    if ! ss -Htan "( sport = :$port or dport = :$port )" | grep -q .; then
      echo "$port"
      return
    fi
  done
}

stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  if [ -n "$pg_pid" ]; then kill -INT "$pg_pid" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  rm -rf "$run"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

echo "bench.sh: load before: $(uptime)" >&2

# PostgreSQL, tuned for throwaway data (no fsync), with room for both instances' pools.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pg_port=$(free_port)
mkdir -p "$run/pg"
if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$run/pg"; fi
"${as_postgres[@]}" "$pg_bin/initdb" -D "$run/pg/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
  --no-sync >"$run/initdb.log" 2>&1
"${detach[@]}" "${as_postgres[@]}" "$pg_bin/postgres" -D "$run/pg/data" -p "$pg_port" -k "$run/pg" \
  -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
  -c full_page_writes=off -c max_connections=200 >"$run/postgres.log" 2>&1 &
pg_pid=$!
for _ in $(seq 200); do
  "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" && break
  sleep 0.05
done
psql -q -h 127.0.0.1 -p "$pg_port" -U postgres -c 'CREATE DATABASE confab' >/dev/null
database_url="postgres://postgres@127.0.0.1:$pg_port/confab"
bench_args=(--database-url "$database_url" --cpu-pid "$pg_pid")

redis_args=()
if [ "$want_redis" = 1 ]; then
  redis_port=$(free_port)
  "${detach[@]}" redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
    --dir "$run" --client-output-buffer-limit 'pubsub 256mb 64mb 60' >"$run/redis.log" 2>&1 &
  pids+=($!)
  redis_pid=$!
  for _ in $(seq 200); do
    [ "$(redis-cli -p "$redis_port" PING 2>/dev/null)" = PONG ] && break
    sleep 0.05
  done
  redis_args=(--redis-url "redis://127.0.0.1:$redis_port")
  bench_args+=(--cpu-pid "$redis_pid")
fi

read -r -a server_args <<<"${BENCH_SERVER_ARGS---max-posts-per-sec 0 --max-frames-per-sec 0}"
for i in $(seq 1 "$instances"); do
  port=$(free_port)
  "${detach[@]}" "${BENCH_CONFAB:-./target/release/confab}" --listen "127.0.0.1:$port" --instance-id "bench-$i" \
    --data-dir "$run/instance-$i" --dist-dir "$run/no-dist" --database-url "$database_url" \
    "${redis_args[@]}" "${server_args[@]}" --log warn >"$run/instance-$i.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 200); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.05
  done
  bench_args+=(--server "127.0.0.1:$port" --pid "$pid")
done

status=0
"${detach[@]}" ./target/release/bench "$mode" "${bench_args[@]}" "$@" >"$run/result.json" &
bench_pid=$!
pids+=("$bench_pid")
wait "$bench_pid" || status=$?
cat "$run/result.json"
if [ -n "${BENCH_RESULTS:-}" ]; then cat "$run/result.json" >>"$BENCH_RESULTS"; fi
for i in $(seq 1 "$instances"); do
  if grep -qiE 'error|panick' "$run/instance-$i.log"; then
    echo "bench.sh: instance $i logged:" >&2
    grep -iE 'error|panick|warn' "$run/instance-$i.log" | head -n 5 >&2
  fi
done
echo "bench.sh: load after: $(uptime)" >&2
exit "$status"
