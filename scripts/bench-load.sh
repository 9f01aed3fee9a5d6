#!/usr/bin/env bash
# Load test of a release paperfeed server on loopback with wrk: the hybrid search API (a Lua
# script rotating over 240 distinct queries taken from paper titles) and the daily page.
#
#   scripts/bench-load.sh           # the 74,728-paper corpus; checks >= 1000 req/s, p99 < 50 ms,
#                                   # zero errors for both
#   scripts/bench-load.sh --quick   # the bundled 2,000-paper sample (`paperfeed demo`), a few
#                                   # seconds per run: checks the script works and errors are zero
#
# The corpus is ingested, indexed and embedded (bundled model) into target/bench-load/ once;
# later runs reuse it. PAPERFEED_BENCH_CORPUS overrides the corpus file, DURATION (seconds,
# default 10; 3 with --quick) and CONNECTIONS (default 8) the load. wrk is installed with
# apt-get when missing and running as root. Only 127.0.0.1 is ever targeted.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

quick=0
[ "${1:-}" = "--quick" ] && quick=1
duration=${DURATION:-$([ $quick = 1 ] && echo 3 || echo 10)}
connections=${CONNECTIONS:-8}
threads=2

if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing wrk with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
  else
    echo "bench-load: wrk is missing (sudo apt-get install wrk)" >&2
    exit 1
  fi
fi

cargo build --quiet --release -p paperfeed
bin="$root/target/release/paperfeed"
work="$root/target/bench-load"
mkdir -p "$work"

if [ $quick = 1 ]; then
  data="$work/sample"
  corpus="$root/data/sample/listings-sample-2000.jsonl.zst"
  command=demo
else
  data="$work/full"
  corpus=${PAPERFEED_BENCH_CORPUS:-"$root/../shared/data/arxiv/listings-75k.jsonl.zst"}
  command=serve
  if [ ! -f "$data/.prepared" ]; then
    [ -f "$corpus" ] || { echo "bench-load: corpus $corpus not found" >&2; exit 1; }
    rm -rf "$data"
    echo "preparing $data from $corpus (ingest, index, embed; once)"
    "$bin" --data-dir "$data" --quiet ingest jsonl "$corpus"
    "$bin" --data-dir "$data" --quiet reindex
    "$bin" --data-dir "$data" --quiet embed
    touch "$data/.prepared"
  fi
fi

# Queries: the first words of 240 distinct titles, the way people type a half-remembered one.
queries="$work/queries.lua"
{ zstd -dc "$corpus" || true; } | python3 -c '
import json, re, sys, urllib.parse
seen, out = set(), []
for line in sys.stdin:
    words = re.findall(r"[A-Za-z][A-Za-z0-9-]+", json.loads(line)["title"])[:3]
    q = " ".join(words).lower()
    if len(words) >= 2 and q not in seen:
        seen.add(q)
        out.append(urllib.parse.quote_plus(q))
    if len(out) == 240:
        break
print("queries = {" + ",".join("\"%s\"" % q for q in out) + "}")
' > "$queries"
cat >> "$queries" <<'LUA'
local i = 0
request = function()
  i = i + 1
  local q = queries[(i % #queries) + 1]
  return wrk.format("GET", "/api/search?mode=hybrid&limit=20&q=" .. q)
end
LUA

log="$work/server.log"
out="$work/server.out"
rm -f "$out"
PAPERFEED_LOG=warn PAPERFEED_AUTO_ADMIT=${PAPERFEED_AUTO_ADMIT:-cs} \
  "$bin" --data-dir "$data" "$command" --addr 127.0.0.1:0 >"$out" 2>"$log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  grep -q "listening on" "$out" 2>/dev/null && break
  kill -0 $pid 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.2
done
url=$(sed -n 's/^listening on //p' "$out")
[ -n "$url" ] || { echo "bench-load: the server did not start" >&2; cat "$log" >&2; exit 1; }

# Wait until the index and the vectors cover every paper (the jobs run in the background).
for _ in $(seq 1 600); do
  status=$(curl -s "$url/api/search?q=&mode=hybrid&limit=1" || true)
  case "$status" in *'"semanticComplete":true'*) break ;; esac
  sleep 0.5
done
papers=$(printf '%s' "$status" | sed -n 's/.*"total":\([0-9]*\).*/\1/p')
echo "server $url, $papers papers, wrk -t$threads -c$connections -d${duration}s --latency"

# One short warm-up per target, then the measured run.
fail=0
run() {
  local name=$1; shift
  wrk -t"$threads" -c"$connections" -d1s "$@" >/dev/null
  local report
  report=$(wrk -t"$threads" -c"$connections" -d"${duration}s" --latency "$@")
  printf '%s\n' "$report" > "$work/wrk-$name.txt"
  local rps p50 p99 errors
  rps=$(printf '%s\n' "$report" | awk '/^Requests\/sec/ {print $2}')
  p50=$(printf '%s\n' "$report" | awk '$1 == "50%" {print $2}')
  p99=$(printf '%s\n' "$report" | awk '$1 == "99%" {print $2}')
  errors=$(printf '%s\n' "$report" | awk '/Non-2xx or 3xx responses/ {n += $NF} /Socket errors/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}')
  local p99_ms
  p99_ms=$(printf '%s' "$p99" | awk '/us$/ {sub("us", ""); print $1 / 1000; next} /ms$/ {sub("ms", ""); print $1; next} /s$/ {sub("s", ""); print $1 * 1000; next} {print 1e9}')
  local verdict=ok
  if [ "$errors" != 0 ]; then verdict="FAIL (errors)"; fail=1; fi
  if [ $quick = 0 ]; then
    if awk -v r="$rps" 'BEGIN {exit !(r < 1000)}'; then verdict="FAIL (< 1000 req/s)"; fail=1; fi
    if awk -v p="$p99_ms" 'BEGIN {exit !(p >= 50)}'; then verdict="FAIL (p99 >= 50 ms)"; fail=1; fi
  fi
  printf '%-14s %10s req/s   p50 %8s   p99 %8s   errors %s   %s\n' "$name" "$rps" "$p50" "$p99" "$errors" "$verdict"
}
run "search-api" -s "$queries" "$url"
run "daily-page" "$url/"
exit $fail
