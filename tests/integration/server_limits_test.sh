#!/usr/bin/env bash
# Server behaviour shared by every signer: start-up, --help/--version,
# /healthz and /signers, request ids, size limit, overload, time limit,
# client disconnects, stale job directories, audit log, secret redaction.
source "$DIGSIG_SOURCE_DIR/tests/support/it_lib.sh"
it_init server_limits
cd "$WORK"
echo 'software = { version = "1.0"; };' > sw-description

# --- start-up and the command line ------------------------------------------
env -i PATH="$PATH" "$DIGSIG_BINARY" > nokeys.out 2>&1
rc=$?
check "missing DIGSIGSERVER_KEYFILE_URI: exit 1 naming the variable" \
  bash -c "[ $rc -eq 1 ] && [ \$(wc -l < nokeys.out) -eq 1 ] && grep -q DIGSIGSERVER_KEYFILE_URI nokeys.out"
"$DIGSIG_BINARY" --version > version.out
check "--version names the version and the signers" \
  bash -c "grep -q '^digsigserver [0-9]' version.out && grep -q 'signers:.*swupdate' version.out"
"$DIGSIG_BINARY" --help > help.out
check "--help documents flags and every variable" \
  bash -c "for w in --address --port --debug DIGSIGSERVER_KEYFILE_URI DIGSIGSERVER_REQUEST_MAX_SIZE DIGSIGSERVER_RESPONSE_TIMEOUT DIGSIGSERVER_SPOOL_DIR DIGSIGSERVER_MAX_JOBS DIGSIGSERVER_YUBIHSM_PASSWORD; do grep -q -- \$w help.out || exit 1; done"

mkdir -p "$SPOOL/job-stale-1/sub" && echo leftover > "$SPOOL/job-stale-1/sub/f"
start_server DIGSIGSERVER_AUDIT_LOG="$WORK/audit.log" DIGSIGSERVER_YUBIHSM_PASSWORD=Sup3rSecretPin
check "stale job directories are removed at start-up" \
  bash -c "[ ! -e '$SPOOL/job-stale-1' ] && grep -q 'removed 1 job directories' '$WORK/server.log'"

# --- health, signer list, request ids, unknown routes --------------------------
check "GET /healthz answers ok" bash -c "[ \"\$(curl -s '$SERVER_URL/healthz')\" = ok ]"
curl -s "$SERVER_URL/signers" > signers.json
check "GET /signers lists swupdate, ready, with its route and keys" \
  jq -e '.signers[] | select(.name == "swupdate") | .ready == true and .route == "/sign/swupdate" and (.keys | length) > 0' signers.json
check "GET /signers lists every signer compiled in (as --version does)" \
  bash -c "[ \"\$(jq -r '[.signers[].name] | join(\" \")' signers.json)\" = \"\$(sed -n 's/^signers: //p' version.out)\" ]"
check "GET /signers says for every signer which of its keys may be on a token" \
  jq -e '(.signers | map(.token_keys | length > 0) | all) and (.signers[] | select(.name == "tegra") | .token_keys | startswith("none:")) and (.signers[] | select(.name == "rk") | .token_keys | contains("fit-image"))' signers.json
check "GET /signers shows the tools a signer found and what is missing" \
  jq -e '(.signers[] | select(.name == "fitimage") | .found | map(startswith("mkimage: /")) | any) and (.signers[] | select(.name == "imx") | .ready == false and (.missing[0] | contains("DIGSIGSERVER_IMX_CST_BASE")))' signers.json
post /sign/swupdate -F distro=demo -F sw-description=@sw-description -H "X-Request-Id: build-1234"
check "a client's X-Request-Id is echoed and used in the log" \
  bash -c "grep -qi '^X-Request-Id: build-1234' '$HEADERS' && grep -q '\[build-1234\] POST /sign/swupdate 200' '$WORK/server.log'"
post /sign/swupdate -F distro=demo -F sw-description=@sw-description
check "every response carries a generated X-Request-Id" grep -qiE '^X-Request-Id: [0-9a-f]{16}' "$HEADERS"
check "the access log line has method, path, status, bytes, duration and client" \
  grep -qE 'POST /sign/swupdate 200 256B [0-9.]+s 127\.0\.0\.1' "$WORK/server.log"
expect_error "unknown endpoint" 404 "No such endpoint" /sign/nothing -F distro=demo

# --- audit trail and redaction ------------------------------------------------
expect_error "a PIN-like value sent by a client" 404 "no swupdate keys" /sign/swupdate -F distro=Sup3rSecretPin -F sw-description=@sw-description
check "the audit log has one JSON record per signing request" \
  bash -c "[ \$(jq -s 'length' audit.log) -eq 3 ] && jq -e -s '.[0].outcome == \"signed\" and .[0].signer == \"swupdate\" and .[0].selector == \"demo\" and (.[0].inputs[0].sha256 | length) == 64 and .[2].outcome == \"not_found\" and .[2].status == 404' audit.log >/dev/null"
check "the configured PIN appears in no log line" \
  not_in Sup3rSecretPin "$WORK/server.log" audit.log
check "  ... and the audit record shows it masked" grep -qF '***' audit.log

# --- request size limit -------------------------------------------------------
start_server DIGSIGSERVER_REQUEST_MAX_SIZE=100000
head -c 300000 /dev/urandom > big.bin
head -c 3000000 /dev/urandom > huge.bin
expect_error "body over the limit (small, sent whole)" 413 "DIGSIGSERVER_REQUEST_MAX_SIZE" /sign/swupdate -H "Expect:" -F distro=demo -F sw-description=@big.bin
expect_error "body over the limit (Expect: 100-continue)" 413 "DIGSIGSERVER_REQUEST_MAX_SIZE" /sign/swupdate -F distro=demo -F sw-description=@huge.bin
expect_error "body over the limit (chunked, no length)" 413 "DIGSIGSERVER_REQUEST_MAX_SIZE" /sign/swupdate -H "Transfer-Encoding: chunked" -F distro=demo -F sw-description=@huge.bin
post /sign/swupdate -F distro=demo -F sw-description=@sw-description
check "a request under the limit still works" test "$STATUS" = 200

# --- overload: one job at a time, nobody may wait -----------------------------
start_server DIGSIGSERVER_MAX_JOBS=1 DIGSIGSERVER_MAX_QUEUED=0
head -c 400000 /dev/urandom > slow.bin
curl -s -o /dev/null --limit-rate 40k -X POST -F distro=demo -F sw-description=@slow.bin \
  "$SERVER_URL/sign/swupdate" &
slow=$!
sleep 1
post /sign/swupdate -F distro=demo -F sw-description=@sw-description
check "a request beyond the job limit gets 503 with Retry-After and a reason" \
  bash -c "[ '$STATUS' = 503 ] && grep -qi '^Retry-After: [0-9]' '$HEADERS' && [[ '$BODY' == *busy* ]]"
kill "$slow" 2>/dev/null
wait "$slow" 2>/dev/null
check "a client that disconnects mid-upload leaves nothing in the spool" spool_empty
post /sign/swupdate -F distro=demo -F sw-description=@sw-description
check "the slot is free again after the disconnect" test "$STATUS" = 200

# --- time limit: an upload slower than DIGSIGSERVER_RESPONSE_TIMEOUT ----------
start_server DIGSIGSERVER_RESPONSE_TIMEOUT=2
post /sign/swupdate --limit-rate 40k -F distro=demo -F sw-description=@slow.bin
check "an upload past the time limit is cut off with 408 naming the setting" \
  bash -c "[ '$STATUS' = 408 ] && [[ '$BODY' == *DIGSIGSERVER_RESPONSE_TIMEOUT* ]]"
check "nothing is left in the spool after the time limit" spool_empty

it_finish
