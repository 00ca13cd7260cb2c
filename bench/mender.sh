#!/usr/bin/env bash
# Benchmark (not a test): signing a large Mender artifact over file://,
# against `cp` of the same file (one read + one write: the limit) and
# `mender-artifact sign` (what the old server ran), in one run; and the
# server's peak RSS while it signs. The payload is random, so compression
# cannot help anyone.
# Then the same artifact through s3:// (s3rver on loopback): time, peak RSS,
# and the spool's peak size (no local copy of the artifact may be made).
# Usage: bench/mender.sh [SIZE_MB]   (default 2048)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-2048}
source bench/lib.sh
bench_build
scripts/install-deps.sh test >/dev/null   # mender-artifact
work=$(mktemp -d "${TMPDIR:-/tmp}/mender-bench.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
scripts/make-dev-keys.sh "$work" bench >/dev/null
mkdir -p "$work/artifacts"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }

head -c $((size_mb * 1024 * 1024)) /dev/urandom > "$work/rootfs.img"
mender-artifact write rootfs-image -t bench -n bench-1 -f "$work/rootfs.img" -o "$work/artifacts/a.mender" \
  --compression none >/dev/null 2>&1
rm -f "$work/rootfs.img"
cp "$work/artifacts/a.mender" "$work/pristine.mender"   # unsigned, for mender-artifact sign
bytes=$(stat -c %s "$work/artifacts/a.mender")
sync

# Each measurement includes `sync` (the server fsyncs before its rename) and
# is run three times, interleaved, keeping the best: write-back of one run's
# data otherwise lands on the next one's time.
DIGSIGSERVER_ARTIFACT_DIRS="$work/artifacts" bench_start_server "$work/keys" "$work"
best() { awk -v a="$1" -v b="$2" 'BEGIN {print (a == "" || b < a) ? b : a}'; }
t_cp= t_old= t_srv=
for _ in 1 2 3; do
  start=$(now); cp "$work/artifacts/a.mender" "$work/copy.mender"; sync; t_cp=$(best "$t_cp" "$(elapsed "$start")")
  rm -f "$work/copy.mender"
  cp "$work/pristine.mender" "$work/old.mender"; sync
  start=$(now); mender-artifact sign -k "$work/keys/bench/mender/private.key" "$work/old.mender" >/dev/null; sync
  t_old=$(best "$t_old" "$(elapsed "$start")")
  rm -f "$work/old.mender"; sync
  start=$(now)
  curl -s --fail -X POST -F distro=bench -F "artifact-uri=file://$work/artifacts/a.mender" "$url/sign/mender" >/dev/null
  sync
  t_srv=$(best "$t_srv" "$(elapsed "$start")")
done
peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
mender-artifact validate -k "$work/pki/bench-mender-public.pem" "$work/artifacts/a.mender" >/dev/null 2>&1

echo "== Mender artifact, $((bytes / 1048576)) MiB, random payload, file://"
printf '%-28s %8ss\n' "cp (read + write: limit)" "$t_cp" "mender-artifact sign" "$t_old" "this server" "$t_srv"
awk -v s="$t_srv" -v c="$t_cp" -v o="$t_old" \
  'BEGIN {printf "server / cp: %.2f (target <= 1.5); mender-artifact sign / server: %.1fx (target > 1)\n", s / c, o / s}'
echo "server peak RSS: $((peak / 1024)) MiB (target <= 64 MiB); the signed artifact validates"

# --- s3:// --------------------------------------------------------------------------
kill $pid; wait $pid 2>/dev/null || true
tests/support/s3rver.sh start "$work/s3rver" 14599
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; tests/support/s3rver.sh stop "$work/s3rver"; rm -rf "$work"' EXIT
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:14599
aws s3 cp "$work/pristine.mender" s3://artifacts/a.mender >/dev/null
bench_start_server "$work/keys" "$work"
start=$(now)
curl -s --fail -X POST -F distro=bench -F artifact-uri=s3://artifacts/a.mender "$url/sign/mender" >/dev/null &
req=$!
spool_peak=0
while kill -0 $req 2>/dev/null; do
  used=$(du -sk "$work/spool" 2>/dev/null | cut -f1)
  [ "${used:-0}" -gt "$spool_peak" ] && spool_peak=$used
  sleep 0.05
done
wait $req
t_s3=$(elapsed "$start")
peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
aws s3 cp s3://artifacts/a.mender "$work/from-s3.mender" >/dev/null
mender-artifact validate -k "$work/pki/bench-mender-public.pem" "$work/from-s3.mender" >/dev/null 2>&1
echo
echo "== the same artifact via s3:// (s3rver on loopback: GET and multipart PUT through Node.js)"
echo "this server:           ${t_s3}s; peak RSS $((peak / 1024)) MiB; spool peak ${spool_peak} KiB; validates"
