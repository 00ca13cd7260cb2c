#!/usr/bin/env bash
# Benchmark (not a test): the same RSA-2048 keys from files and from a
# SoftHSM2 token, side by side in one run, for SWUpdate (wrk, 8 keep-alive
# connections) and kernel modules (a tree of N small modules). Prints the
# token path's cost relative to the file path (target: within 2x for
# SoftHSM2: the overhead must be the token's, not the server's; the server
# logs in once and reuses its sessions, so there is no login or session
# set-up per signature).
# Usage: bench/pkcs11.sh [DURATION] [MODULES]   (default 10 s, 500 modules)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
n=${2:-500}
MODULE=/usr/lib/softhsm/libsofthsm2.so
PIN=bench-1234

source bench/lib.sh
bench_build
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
scripts/make-dev-keys.sh "$work" bench >/dev/null
# Modules with an RSA-2048 key too (the dev key is RSA-4096, the kernel's default).
openssl req -new -x509 -newkey rsa:2048 -nodes -sha256 -days 30 -subj "/CN=bench kmod 2048" \
  -keyout "$work/keys/bench/kmodsign/kernel-signkey.priv" \
  -out "$work/keys/bench/kmodsign/kernel-signkey.x509" 2>/dev/null

# The same keys on a SoftHSM2 token, in a second key store of pkcs11: URIs.
mkdir -p "$work/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$work" > "$work/softhsm2.conf"
export SOFTHSM2_CONF=$work/softhsm2.conf
softhsm2-util --init-token --free --label bench --pin "$PIN" --so-pin 0000 >/dev/null
import() {
  openssl pkcs8 -topk8 -nocrypt -in "$1" -outform DER -out "$work/import.der"
  pkcs11-tool --module "$MODULE" --token-label bench --login --pin "$PIN" \
    --write-object "$work/import.der" --type privkey --id "$2" --label "$3" >/dev/null 2>&1
  rm -f "$work/import.der"
}
import "$work/keys/bench/swupdate/rsa-private.key" 01 swu
import "$work/keys/bench/kmodsign/kernel-signkey.priv" 02 kmod
cp -a "$work/keys" "$work/token-keys"
echo "pkcs11:token=bench;object=swu;type=private" > "$work/token-keys/bench/swupdate/rsa-private.key"
echo "pkcs11:token=bench;object=kmod;type=private" > "$work/token-keys/bench/kmodsign/kernel-signkey.priv"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
now() { date +%s.%N; }

# --- SWUpdate ------------------------------------------------------------------
echo 'software = { version = "1.0"; };' > "$work/sw-description"
cat > "$work/post.lua" <<EOL
local f = io.open("$work/sw-description", "rb")
local content = f:read("*a")
f:close()
local b = "----digsigbench"
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. b
wrk.body = "--" .. b .. "\r\nContent-Disposition: form-data; name=\"distro\"\r\n\r\nbench\r\n" ..
  "--" .. b .. "\r\nContent-Disposition: form-data; name=\"sw-description\"; filename=\"sw-description\"\r\n" ..
  "Content-Type: application/octet-stream\r\n\r\n" .. content .. "\r\n--" .. b .. "--\r\n"
EOL
# swupdate_run STORE: prints "requests/s cpu-ms-per-request non2xx"
swupdate_run() {
  DIGSIGSERVER_PKCS11_MODULE=$MODULE DIGSIGSERVER_PKCS11_PIN=$PIN bench_start_server "$1" "$work"
  curl -sf -X POST -F distro=bench -F "sw-description=@$work/sw-description" -o /dev/null "$url/sign/swupdate"
  local before after
  before=$(cpu_ticks $pid)
  wrk -t2 -c8 -d"${duration}s" -s "$work/post.lua" "$url/sign/swupdate" > "$work/wrk.out"
  after=$(cpu_ticks $pid)
  kill $pid; wait $pid 2>/dev/null || true; pid=
  awk -v t=$((after - before)) -v hz="$hz" '
    /requests in/ {n = $1} /^Requests\/sec/ {rps = $2} /Non-2xx/ {bad = $5}
    END {printf "%s %.3f %d\n", rps, t / hz * 1000 / n, bad}' "$work/wrk.out"
}
read -r file_rps file_cpu file_bad < <(swupdate_run "$work/keys")
read -r token_rps token_cpu token_bad < <(swupdate_run "$work/token-keys")
echo "== SWUpdate RSA-2048, 8 connections, ${duration}s each"
printf '%-8s %10s %18s %8s\n' "" "req/s" "server CPU/req ms" "non-2xx"
printf '%-8s %10s %18s %8s\n' file "$file_rps" "$file_cpu" "$file_bad" token "$token_rps" "$token_cpu" "$token_bad"
awk -v f="$file_rps" -v t="$token_rps" 'BEGIN {printf "token/file time per request: %.2fx (target <= 2)\n", f / t}'

# --- kernel modules ---------------------------------------------------------------
mkdir -p "$work/tree/lib/modules/6.1/extra"
printf 'int bench_f(void) { return 1; }\n' > "$work/m.c"
cc -c "$work/m.c" -o "$work/m.o"
head -c 60000 /dev/urandom >> "$work/m.o"  # a realistic size; only bytes are signed
for i in $(seq 1 "$n"); do cp "$work/m.o" "$work/tree/lib/modules/6.1/extra/m$i.ko"; done
tar -C "$work/tree" -czf "$work/modules.tar.gz" .
# modules_run STORE: prints the best of three wall-clock times in seconds
modules_run() {
  DIGSIGSERVER_PKCS11_MODULE=$MODULE DIGSIGSERVER_PKCS11_PIN=$PIN bench_start_server "$1" "$work"
  local best=999999 t0 t
  for _ in 1 2 3; do
    t0=$(now)
    curl -sf -X POST -F machine=bench -F hashalg=sha256 -F "artifact=@$work/modules.tar.gz" \
      -o "$work/out.tar.gz" "$url/sign/modules"
    t=$(awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.3f", b - a}')
    best=$(awk -v a="$best" -v b="$t" 'BEGIN {print (b < a) ? b : a}')
  done
  kill $pid; wait $pid 2>/dev/null || true; pid=
  echo "$best"
}
file_s=$(modules_run "$work/keys")
token_s=$(modules_run "$work/token-keys")
echo
echo "== kernel modules, $n x $(stat -c %s "$work/m.o") bytes, RSA-2048, best of 3"
echo "file:  ${file_s} s"
echo "token: ${token_s} s"
awk -v f="$file_s" -v t="$token_s" 'BEGIN {printf "token/file: %.2fx (target <= 2)\n", t / f}'
