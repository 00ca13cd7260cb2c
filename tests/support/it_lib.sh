# Shared helpers for the integration tests (sourced, not run). Each test
# starts the real server binary on a free loopback port with its own key
# store copy and spool directory, calls it with curl as build recipes do,
# and checks the results with real tools.
#
# Environment (set by CTest): DIGSIG_BINARY, DIGSIG_SOURCE_DIR, DIGSIG_TEST_WORK.
set -uo pipefail

IT_PASSED=0
IT_FAILED=0
SERVER_PID=
SERVER_URL=

# it_init NAME: a fresh work directory $WORK; the CA and public keys in $PKI.
it_init() {
  WORK="$DIGSIG_TEST_WORK/$1"
  rm -rf "$WORK"
  mkdir -p "$WORK"
  PKI="$DIGSIG_TEST_WORK/pki-root/pki"
  KEYS="$WORK/keys"
  cp -a "$DIGSIG_TEST_WORK/pki-root/keys" "$KEYS"
  SPOOL="$WORK/spool"
  trap it_cleanup EXIT
}

it_cleanup() {
  stop_server
}

pass() { IT_PASSED=$((IT_PASSED + 1)); echo "ok - $*"; }
failed() { IT_FAILED=$((IT_FAILED + 1)); echo "FAIL - $*"; }

# check DESCRIPTION COMMAND...: passes if the command succeeds.
check() {
  local what=$1
  shift
  if "$@"; then pass "$what"; else failed "$what"; fi
}

# not_in TEXT FILE...: every FILE exists and none contains TEXT (a fixed
# string). A missing file fails, so a secret check cannot pass by grepping
# nothing.
not_in() {
  local text=$1 file
  shift
  for file in "$@"; do
    [ -f "$file" ] || { echo "  (not_in: $file is missing)"; return 1; }
    if grep -qF -- "$text" "$file"; then return 1; fi
  done
}

# start_server [VAR=value...]: starts the server with the test key store and
# extra environment; sets SERVER_URL. The log is $WORK/server.log.
start_server() {
  stop_server
  : > "$WORK/server.log"
  # Only what is given here reaches the server (no AWS_* from the caller).
  env -i PATH="$PATH" HOME="${HOME:-/root}" \
    DIGSIGSERVER_KEYFILE_URI="file://$KEYS" DIGSIGSERVER_SPOOL_DIR="$SPOOL" \
    DIGSIGSERVER_LOG_LEVEL=DEBUG "$@" \
    "$DIGSIG_BINARY" --address 127.0.0.1 --port 0 >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  local port="" i
  for i in $(seq 1 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/server.log" | head -1)
    [ -n "$port" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$port" ]; then
    echo "server did not start:"
    cat "$WORK/server.log"
    exit 1
  fi
  SERVER_URL="http://127.0.0.1:$port"
  DIGSIG_SERVER=$SERVER_URL
  curl -sf "$SERVER_URL/healthz" >/dev/null || { echo "server not healthy"; exit 1; }
}

stop_server() {
  if [ -n "${SERVER_PID:-}" ]; then
    kill -TERM "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=
  fi
}

# post ROUTE CURL_ARGS...: POSTs to the server; sets STATUS, BODY (the
# response body as text) and HEADERS (file). The body is saved in $WORK/body.
post() {
  local route=$1
  shift
  STATUS=$(curl -s -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' -X POST "$@" \
    "$SERVER_URL$route")
  BODY=$(cat "$WORK/body" 2>/dev/null)
  HEADERS="$WORK/headers"
}

# expect_error DESCRIPTION STATUS TEXT ROUTE CURL_ARGS...: the request gets
# STATUS, its body contains TEXT, and the spool is empty afterwards.
expect_error() {
  local what=$1 want_status=$2 want_text=$3 route=$4
  shift 4
  post "$route" "$@"
  if [ "$STATUS" != "$want_status" ]; then
    failed "$what: status $STATUS, wanted $want_status (body: $BODY)"
  elif [[ "$BODY" != *"$want_text"* ]]; then
    failed "$what: body '$BODY' lacks '$want_text'"
  elif ! spool_empty; then
    failed "$what: files left in the spool: $(find "$SPOOL" -mindepth 1 | head -5)"
  else
    pass "$what ($STATUS: $BODY)"
  fi
}

# spool_empty: true once the spool directory holds nothing (waits up to 10 s,
# since a job directory goes away when the response has been sent, later on
# a loaded machine).
spool_empty() {
  local i
  for i in $(seq 1 200); do
    [ -z "$(find "$SPOOL" -mindepth 1 -print -quit 2>/dev/null)" ] && return 0
    sleep 0.05
  done
  return 1
}

# no_secrets_in FILE...: no private key material in these files.
no_secrets_in() {
  ! grep -l -e "PRIVATE KEY" "$@" >/dev/null 2>&1 || return 1
  local key line
  for key in $(find "$KEYS" -type f -name '*.key' | head -20); do
    line=$(sed -n 2p "$key")
    [ -z "$line" ] && continue
    grep -F -q -- "$line" "$@" 2>/dev/null && return 1
  done
  return 0
}

# it_finish: prints the summary and exits non-zero on any failure.
it_finish() {
  stop_server
  echo "$IT_PASSED passed, $IT_FAILED failed"
  [ "$IT_FAILED" -eq 0 ] && [ "$IT_PASSED" -gt 0 ]
  exit $?
}
