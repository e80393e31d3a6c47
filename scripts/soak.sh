#!/usr/bin/env bash
# Soak test of `bitjit serve` (not part of CI): starts a server on 127.0.0.1, runs the attacks
# of issue 15 against it one after another (slowloris, idle sockets, a gzip bomb, deep JSON
# nesting) and then a mixed load (streamed and whole completions with /health polling), and
# reports /health latency and the server's RSS after each phase.
#
#   bash scripts/soak.sh [MODEL.gguf]      (default: ../shared/golden/tiny/model.gguf)
#   SOAK_SECONDS=600  length of the mixed load (default 600)
#   SOAK_CLIENTS=8    concurrent clients in the mixed load
#
# Exit 0 when the server lived through every phase and answered /health within 2 s throughout;
# 1 otherwise. Every socket is bounded: at most 200 at once, each phase at most a few seconds
# except the mixed load.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL="${1:-../shared/golden/tiny/model.gguf}"
BITJIT="${BITJIT:-./build/tools/bitjit}"
LOG="$(mktemp -t bitjit-soak.XXXXXX)"
OUT="$(mktemp -t bitjit-soak-out.XXXXXX)"
"$BITJIT" serve -m "$MODEL" --host 127.0.0.1 --port 0 --parallel 2 -c 256 --quiet \
  >"$OUT" 2>"$LOG" &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; rm -f "$OUT"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$OUT" && break; sleep 0.1; done
PORT="$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$OUT")"
[ -n "$PORT" ] || { echo "soak: the server did not start (log: $LOG)"; exit 1; }

status=0
python3 - "$PORT" "$SERVER" "${SOAK_SECONDS:-600}" "${SOAK_CLIENTS:-8}" <<'PY' || status=$?
import gzip, json, socket, sys, threading, time, urllib.request

port, pid, soak_seconds, clients = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
url = f"http://127.0.0.1:{port}"
ok = True

def rss_mib():
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024

def health_latency(timeout=5.0):
    start = time.monotonic()
    try:
        with urllib.request.urlopen(url + "/health", timeout=timeout) as r:
            r.read()
        return time.monotonic() - start
    except Exception:
        return None

def poll_health(seconds):
    lat = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        lat.append(health_latency())
        time.sleep(0.1)
    return lat

def report(phase, lat):
    global ok
    answered = [x for x in lat if x is not None]
    worst = max(answered) if answered else float("inf")
    missing = len(lat) - len(answered)
    rss, hwm = rss_mib()
    good = missing == 0 and worst < 2.0
    ok = ok and good
    p50 = sorted(answered)[len(answered) // 2] if answered else float("nan")
    print(f"{phase:<22} /health p50 {p50*1000:7.1f} ms  max {worst*1000:8.1f} ms  "
          f"unanswered {missing:3d}  RSS {rss:7.1f} MiB (peak {hwm:7.1f})  {'ok' if good else 'FAIL'}",
          flush=True)

def connect():
    return socket.create_connection(("127.0.0.1", port), timeout=10)

def post(path, body, headers=None, timeout=60):
    req = urllib.request.Request(url + path, data=body, method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except Exception as e:
        return 0, str(e).encode()

report("baseline", poll_health(1))

# Slowloris: 40 connections dripping a header byte every second for 6 s.
drippers = [connect() for _ in range(40)]
for s in drippers:
    s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
stop = threading.Event()
def drip():
    while not stop.is_set():
        for s in drippers:
            try: s.send(b"a")
            except OSError: pass
        stop.wait(1.0)
t = threading.Thread(target=drip); t.start()
lat = poll_health(6)
stop.set(); t.join()
for s in drippers: s.close()
report("slowloris x40", lat)

# Idle: 200 connections that send nothing, for 4 s.
idle = [connect() for _ in range(200)]
lat = poll_health(4)
for s in idle: s.close()
report("idle x200", lat)

# Gzip bomb: 256 MiB of zeros inside a JSON string, about 256 KB compressed.
bomb = gzip.compress(b'{"prompt":"a","x":"' + b"0" * (256 << 20) + b'"}', 9)
status, _ = post("/v1/completions", bomb, {"Content-Encoding": "gzip"})
report(f"gzip bomb ({len(bomb)>>10} KB) -> {status}", poll_health(1))
ok = ok and status == 413

# Deep nesting: 150,000 arrays in a message's content.
nested = b'{"messages":[{"role":"user","content":' + b"[" * 150000 + b"]" * 150000 + b"}]}"
status, _ = post("/v1/chat/completions", nested)
report(f"nesting 150k -> {status}", poll_health(1))
ok = ok and status == 400

# Mixed load: `clients` threads of whole and streamed completions, health polled throughout.
errors = []
def load(i):
    end = time.monotonic() + soak_seconds
    n = 0
    while time.monotonic() < end:
        body = {"prompt": f"client {i} request {n}", "max_tokens": 16, "stream": n % 2 == 1}
        status, _ = post("/v1/completions", json.dumps(body).encode())
        if status not in (200, 503):
            errors.append(status)
        n += 1
threads = [threading.Thread(target=load, args=(i,)) for i in range(clients)]
for t in threads: t.start()
lat = []
end = time.monotonic() + soak_seconds
while time.monotonic() < end:
    lat += poll_health(min(10, max(0.1, end - time.monotonic())))
    report(f"mixed load ({int(soak_seconds - (end - time.monotonic()))} s)", lat[-100:])
for t in threads: t.join()
if errors:
    print(f"mixed load: {len(errors)} requests failed: {sorted(set(errors))}")
    ok = False
report("after", poll_health(1))
sys.exit(0 if ok else 1)
PY
kill -TERM "$SERVER"
wait "$SERVER" || { echo "soak: the server exited with $? (log: $LOG)"; exit 1; }
rm -f "$LOG"
exit $status
