#!/usr/bin/env bash
# Test helper: a real S3-compatible server on loopback (s3rver from npm,
# installed into a local folder, not globally), with buckets "keys" and
# "artifacts". s3rver does not check request signatures: the SigV4 code path
# is libcurl's and is exercised for shape only.
# Usage: s3rver.sh start DIR PORT [keep] | s3rver.sh stop DIR
#   (keep: restart on the data of the last run instead of empty buckets)
set -euo pipefail
cmd=${1:?usage: s3rver.sh start DIR PORT | stop DIR}
dir=${2:?usage: s3rver.sh start DIR PORT | stop DIR}
case "$cmd" in
  start)
    port=${3:?usage: s3rver.sh start DIR PORT}
    mkdir -p "$dir"
    if [ ! -x "$dir/node_modules/.bin/s3rver" ]; then
      npm install --prefix "$dir" --no-audit --no-fund --silent s3rver@3.7.1 >/dev/null
    fi
    [ -f "$dir/pid" ] && kill "$(cat "$dir/pid")" 2>/dev/null || true
    [ "${4:-}" = keep ] || rm -rf "$dir/data"
    mkdir -p "$dir/data"
    nohup "$dir/node_modules/.bin/s3rver" -d "$dir/data" -a 127.0.0.1 -p "$port" --silent \
      --configure-bucket keys --configure-bucket artifacts > "$dir/s3rver.log" 2>&1 &
    echo $! > "$dir/pid"
    for _ in $(seq 1 100); do
      curl -s -o /dev/null "http://127.0.0.1:$port/" && exit 0
      sleep 0.1
    done
    echo "s3rver did not start:" >&2
    cat "$dir/s3rver.log" >&2
    exit 1
    ;;
  stop)
    [ -f "$dir/pid" ] && kill "$(cat "$dir/pid")" 2>/dev/null || true
    rm -f "$dir/pid"
    ;;
esac
