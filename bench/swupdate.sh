#!/usr/bin/env bash
# Benchmark (not a test): SWUpdate RSA-2048 signing under load, and memory
# while a large upload is received. Prints ratios against baselines measured
# in the same run, since absolute numbers on a shared machine mean little.
#   1. wrk, 16 keep-alive connections, posting a fixed 4 KiB sw-description
#      for DURATION seconds: requests/s, p50/p99 latency, and the server's CPU
#      time per request next to the CPU time of one RSA-2048 signature from
#      `openssl speed` (target: <= 2x).
#      The contract does not let the server keep keys between requests, so
#      each request decodes its key and pays OpenSSL's first-use set-up of a
#      fresh RSA key (blinding, Montgomery contexts): that floor is measured
#      too, with the server's own code (digsig_key_floor), and printed.
#   2. peak RSS of the server while it receives and signs a 500 MB upload
#      (target: <= 64 MiB).
# Usage: bench/swupdate.sh [DURATION]   (default 10 s)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}

source bench/lib.sh
bench_build
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
scripts/make-dev-keys.sh "$work" bench >/dev/null
start() { bench_start_server "$work/keys" "$work"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# --- 1. throughput and CPU per request ---------------------------------------
start
head -c 4096 /dev/urandom | base64 -w 76 | head -c 4096 > "$work/sw-description"
cat > "$work/post.lua" <<EOL
local f = io.open("$work/sw-description", "rb")
local content = f:read("*a")
f:close()
local b = "----digsigbench"
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. b
wrk.body = "--" .. b .. "\r\nContent-Disposition: form-data; name=\"distro\"\r\n\r\nbench\r\n" ..
  "--" .. b .. "\r\nContent-Disposition: form-data; name=\"method\"\r\n\r\nRSA\r\n" ..
  "--" .. b .. "\r\nContent-Disposition: form-data; name=\"sw-description\"; filename=\"sw-description\"\r\n" ..
  "Content-Type: application/octet-stream\r\n\r\n" .. content .. "\r\n--" .. b .. "--\r\n"
EOL
before=$(cpu_ticks $pid)
wrk -t2 -c16 -d"${duration}s" --latency -s "$work/post.lua" "$url/sign/swupdate" > "$work/wrk.out"
after=$(cpu_ticks $pid)
requests=$(awk '/requests in/ {print $1}' "$work/wrk.out")
rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.out")
p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.out")
p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.out")
non2xx=$(awk '/Non-2xx/ {print $5}' "$work/wrk.out")
server_ms=$(awk -v t=$((after - before)) -v n="$requests" -v hz="$hz" 'BEGIN {printf "%.3f", t / hz * 1000 / n}')
sign_ms=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {printf "%.3f", $4 * 1000}')
floor_ms=$(build/release/digsig_key_floor "$work/keys/bench/swupdate/rsa-private.key" 500 | awk -F: '/fresh key/ {gsub(/[ ms]/, "", $2); print $2}')
kill $pid; wait $pid 2>/dev/null || true

echo "== SWUpdate RSA-2048, 16 connections, ${duration}s, 4 KiB sw-description"
echo "requests:              $requests (non-2xx: ${non2xx:-0})"
echo "requests/s:            $rps"
echo "latency p50 / p99:     $p50 / $p99"
echo "server CPU / request:  $server_ms ms"
echo "one RSA-2048 signature (openssl speed, same machine, same run): $sign_ms ms"
echo "decode a fresh key + sign (the per-request floor, digsig_key_floor): $floor_ms ms"
awk -v a="$server_ms" -v b="$sign_ms" 'BEGIN {printf "ratio server CPU / signature: %.2f (target <= 2)\n", a / b}'
awk -v a="$server_ms" -v b="$floor_ms" 'BEGIN {printf "ratio server CPU / fresh-key floor: %.2f\n", a / b}'

# --- 2. memory while a 500 MB upload is received ---------------------------------
start
rss_idle=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
head -c 500000000 /dev/zero > "$work/big"
curl -s --fail -X POST -F distro=bench -F "sw-description=@$work/big" -o "$work/big.sig" "$url/sign/swupdate"
openssl dgst -sha256 -verify "$work/pki/bench-swupdate-rsa-public.pem" -signature "$work/big.sig" "$work/big" >/dev/null
peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
echo
echo "== 500 MB upload, signed and verified"
echo "server RSS idle:       $((rss_idle / 1024)) MiB"
echo "server peak RSS:       $((peak / 1024)) MiB (target <= 64 MiB)"
