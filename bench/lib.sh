# Shared by the bench/ scripts (sourced): build the release binary and run
# it on a free loopback port with a given key store.

# bench_build: installs what is missing and builds; sets BIN.
bench_build() {
  scripts/install-deps.sh bench >/dev/null
  cmake --preset release >/dev/null && cmake --build --preset release >/dev/null
  BIN=$PWD/build/release/digsigserver
}

# bench_start_server KEYSTORE_DIR WORK_DIR: sets pid and url.
bench_start_server() {  # extra DIGSIGSERVER_* settings come from the environment
  DIGSIGSERVER_KEYFILE_URI="file://$1" DIGSIGSERVER_SPOOL_DIR="$2/spool" \
    DIGSIGSERVER_LOG_LEVEL=INFO "$BIN" --address 127.0.0.1 --port 0 > "$2/server.log" 2>&1 &
  pid=$!
  local port=""
  for _ in $(seq 1 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$2/server.log" | head -1)
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { cat "$2/server.log" >&2; return 1; }
  url="http://127.0.0.1:$port"
}
