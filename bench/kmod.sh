#!/usr/bin/env bash
# Benchmark (not a test): kernel module signing, against the old server's
# pipeline and against the physical limit, measured side by side in one run.
#   tree:      N modules (default 2000) of 5-200 KB cut from the machine's own
#              shared libraries (real machine code, so gzip behaves as on real
#              modules), in lib/modules/<ver>/kernel/<dir>/, as a tar.gz.
#   baseline:  what the old server ran: tar -xzf, sign-file once per module,
#              tar -czf (RSA-4096, the kernel's default, and RSA-2048).
#   server:    this server over HTTP with curl, both keys.
#   limit:     (N x one signature's CPU from openssl speed + the CPU gzip needs
#              for the response at the server's level, 1) / cores.
#   memory:    the server's peak RSS while signing a tree of about 500 MB.
# Usage: bench/kmod.sh [MODULES]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
cores=$(nproc)
SIGN_FILE=/usr/lib/linux-kbuild-6.1/scripts/sign-file

source bench/lib.sh
bench_build
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
scripts/make-dev-keys.sh "$work" k4096 >/dev/null
mkdir -p "$work/keys/k2048/kmodsign"
openssl req -new -x509 -newkey rsa:2048 -nodes -sha256 -days 30 -subj "/CN=k2048" \
  -keyout "$work/keys/k2048/kmodsign/kernel-signkey.priv" \
  -out "$work/keys/k2048/kmodsign/kernel-signkey.x509" 2>/dev/null

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }

# make_tree DIR COUNT: COUNT modules cut from a pool of shared libraries.
pool=$work/pool.bin
# (head closes the pipe early: the SIGPIPE of cat is expected)
( set +o pipefail; find /usr/lib /usr/bin -type f -name '*.so*' -size +1M 2>/dev/null | head -60 \
    | xargs cat 2>/dev/null | head -c 100000000 > "$pool" )
pool_size=$(stat -c %s "$pool")
[ "$pool_size" -gt 1000000 ] || { echo "not enough shared libraries to cut modules from" >&2; exit 1; }
make_tree() {
  local dir=$1 count=$2 i size offset sub
  RANDOM=42
  for i in $(seq 1 "$count"); do
    sub=$dir/lib/modules/6.1.0/kernel/drivers/d$((i % 40))
    [ -d "$sub" ] || mkdir -p "$sub"
    size=$(( (RANDOM * 32768 + RANDOM) % 195000 + 5000 ))
    offset=$(( (RANDOM * 32768 + RANDOM) % (pool_size - size) ))
    dd if="$pool" of="$sub/m$i.ko" bs=64K iflag=skip_bytes,count_bytes skip="$offset" count="$size" status=none
  done
  printf 'kernel/drivers/d1/m1.ko:\n' > "$dir/lib/modules/6.1.0/modules.dep"
}
make_tree "$work/tree" "$n"
tar -C "$work/tree" -czf "$work/modules-in.tar.gz" .
tree_mb=$(du -sm "$work/tree" | cut -f1)
echo "== $n modules, $tree_mb MB, $(stat -c %s "$work/modules-in.tar.gz" | awk '{printf "%.0f", $1/1e6}') MB gzipped, $cores cores"

# --- baseline: the old server's pipeline ---------------------------------------------
baseline() {  # baseline KEYSET: seconds
  local keys=$work/keys/$1/kmodsign d=$work/baseline-$1 start
  rm -rf "$d" && mkdir -p "$d"
  start=$(now)
  tar -C "$d" -xzf "$work/modules-in.tar.gz"
  find "$d" -name '*.ko' -print0 | while IFS= read -r -d '' m; do
    "$SIGN_FILE" sha512 "$keys/kernel-signkey.priv" "$keys/kernel-signkey.x509" "$m"
  done
  tar -C "$d" -czf "$work/baseline-$1.tar.gz" .
  elapsed "$start"
}

# --- this server --------------------------------------------------------------------------
start_server() { bench_start_server "$work/keys" "$work"; }
server() {  # server KEYSET TARBALL: seconds
  local start
  start=$(now)
  curl -s --fail -X POST -F "machine=$1" -F hashalg=sha512 -F "artifact=@$2" \
       -o "$work/server-$1.tar.gz" "$url/sign/modules"
  elapsed "$start"
}

start_server
declare -A base srv limit
for keyset in k4096 k2048; do
  base[$keyset]=$(baseline $keyset)
  srv[$keyset]=$(server $keyset "$work/modules-in.tar.gz")
  # Spot check: the server's module equals sign-file's.
  mkdir -p "$work/check-$keyset" && tar -C "$work/check-$keyset" -xzf "$work/server-$keyset.tar.gz" ./lib/modules/6.1.0/kernel/drivers/d1/m1.ko
  cmp -s "$work/check-$keyset/lib/modules/6.1.0/kernel/drivers/d1/m1.ko" \
         "$work/baseline-$keyset/lib/modules/6.1.0/kernel/drivers/d1/m1.ko" \
    || echo "WARNING: $keyset server output differs from sign-file"
done

# --- the physical limit ------------------------------------------------------------------
tar -C "$work/tree" -cf "$work/tree.tar" .
gzip_cpu=$( { /usr/bin/time -f %U gzip -1 -c "$work/tree.tar" > /dev/null; } 2>&1 )
sig4096=$(openssl speed -seconds 3 rsa4096 2>/dev/null | awk '/^rsa 4096 bits/ {print $4}')
sig2048=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $4}')
limit[k4096]=$(awk -v n="$n" -v s="$sig4096" -v g="$gzip_cpu" -v c="$cores" 'BEGIN {printf "%.2f", (n * s + g) / c}')
limit[k2048]=$(awk -v n="$n" -v s="$sig2048" -v g="$gzip_cpu" -v c="$cores" 'BEGIN {printf "%.2f", (n * s + g) / c}')

echo "one signature (openssl speed): RSA-4096 ${sig4096}, RSA-2048 ${sig2048}; gzip -1 of the tree: ${gzip_cpu}s CPU"
printf '%-9s %10s %10s %10s %16s %16s\n' key baseline server limit "baseline/server" "server/limit"
for keyset in k4096 k2048; do
  awk -v k=$keyset -v b="${base[$keyset]}" -v s="${srv[$keyset]}" -v l="${limit[$keyset]}" \
    'BEGIN {printf "%-9s %9.2fs %9.2fs %9.2fs %15.1fx %15.2fx\n", k, b, s, l, b / s, s / l}'
done
echo "targets: baseline/server >= 4 (RSA-4096) and >= 8 (RSA-2048); server/limit <= 1.5"

# --- memory with a ~500 MB tree ------------------------------------------------------------
kill $pid; wait $pid 2>/dev/null || true
big=$work/big
mkdir -p "$big"
copies=$(( (500 + tree_mb - 1) / tree_mb ))
for c in $(seq 1 "$copies"); do
  mkdir -p "$big/lib/modules/6.1.$c"
  cp -r "$work/tree/lib/modules/6.1.0/." "$big/lib/modules/6.1.$c/"
done
tar -C "$big" -czf "$work/big.tar.gz" .
start_server
start=$(now)
secs=$(server k2048 "$work/big.tar.gz")
peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
echo
echo "== $(du -sm "$big" | cut -f1) MB tree ($((copies * n)) modules), RSA-2048: ${secs}s"
echo "server peak RSS: $((peak / 1024)) MiB (target <= 128 MiB)"
