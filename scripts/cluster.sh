#!/usr/bin/env bash
# `make cluster`: three Confab instances on http://127.0.0.1:8080, :8081 and :8082 sharing
# one PostgreSQL database and one Redis, all started here in ./data/cluster and stopped on
# Ctrl-C. Open two browser tabs on different ports (one private window, to be two users)
# and chat: messages cross instances through Redis.
set -euo pipefail
cd "$(dirname "$0")/.."

root="$PWD/data/cluster"
mkdir -p "$root"
redis_port=${CLUSTER_REDIS_PORT:-6391}
pg_port=${CLUSTER_PG_PORT:-5441}
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pids=()

as_postgres() {
  if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups "$@"; else "$@"; fi
}

stop_all() {
  echo "stopping…"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  [ -n "${pg_pid:-}" ] && kill -INT "$pg_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop_all EXIT INT TERM

redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --dir "$root" >"$root/redis.log" 2>&1 &
pids+=($!)

if [ ! -d "$root/pg" ]; then
  mkdir -p "$root/pg"
  [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$root/pg"
  as_postgres "$pg_bin/initdb" -D "$root/pg/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
fi
as_postgres "$pg_bin/postgres" -D "$root/pg/data" -p "$pg_port" -k "$root/pg" \
  -c listen_addresses=127.0.0.1 >"$root/postgres.log" 2>&1 &
pg_pid=$!
for _ in $(seq 100); do
  psql -h 127.0.0.1 -p "$pg_port" -U postgres -tAc 'SELECT 1' >/dev/null 2>&1 && break
  sleep 0.1
done
psql -h 127.0.0.1 -p "$pg_port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'confab'" | grep -q 1 \
  || psql -h 127.0.0.1 -p "$pg_port" -U postgres -c 'CREATE DATABASE confab' >/dev/null

for i in 0 1 2; do
  port=$((8080 + i))
  ./target/release/confab --listen "127.0.0.1:$port" --instance-id "confab-$port" \
    --data-dir "$root/instance-$port" --files-dir "$root/files" \
    --database-url "postgres://postgres@127.0.0.1:$pg_port/confab" \
    --redis-url "redis://127.0.0.1:$redis_port" &
  pids+=($!)
done
echo "Confab cluster: http://127.0.0.1:8080  http://127.0.0.1:8081  http://127.0.0.1:8082  (Ctrl-C stops it)"
wait "${pids[@]}"
