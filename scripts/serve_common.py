"""Shared by scripts/serve_bench.py and scripts/serve_soak.py: starts `bitjit serve` on a free
loopback port and makes streamed requests whose events are timed as they arrive."""
import http.client
import json
import os
import subprocess
import time


class Server:
    """`bitjit serve ARGS --host 127.0.0.1 --port 0`, stopped with SIGTERM on exit."""

    def __init__(self, bitjit, args):
        self.proc = subprocess.Popen(
            [bitjit, "serve", *args, "--host", "127.0.0.1", "--port", "0", "--quiet"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()  # "bitjit serve: listening on http://HOST:PORT (...)"
        if "listening on http://" not in line:
            raise SystemExit(f"the server did not start: {line!r}")
        self.port = int(line.split("http://", 1)[1].split(":", 1)[1].split(" ", 1)[0])

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def health(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("GET", "/health")
        r = conn.getresponse()
        body = json.loads(r.read())
        conn.close()
        return r.status, body

    def stop(self, timeout=60):
        self.proc.terminate()
        return self.proc.wait(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def stream(port, path, body, on_event=None, timeout=600):
    """POSTs `body` with stream=true. Returns dict(status, text, events (arrival times of the
    events that carry text), tokens (usage.completion_tokens), done (saw [DONE]), start).
    `on_event(n_events)` may return False to hang up."""
    body = dict(body, stream=True, stream_options={"include_usage": True})
    out = {"status": 0, "text": "", "events": [], "tokens": 0, "prompt_tokens": 0, "done": False,
           "start": time.monotonic()}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        r = conn.getresponse()
        out["status"] = r.status
        if r.status != 200:
            r.read()
            return out
        for raw in r:
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("data: "):
                continue
            data = line[6:]
            if data == "[DONE]":
                out["done"] = True
                break
            chunk = json.loads(data)
            if chunk.get("usage"):
                out["tokens"] = chunk["usage"]["completion_tokens"]
                out["prompt_tokens"] = chunk["usage"]["prompt_tokens"]
            for choice in chunk.get("choices", []):
                piece = choice.get("text") or choice.get("delta", {}).get("content") or ""
                if piece:
                    out["text"] += piece
                    out["events"].append(time.monotonic())
            if on_event is not None and on_event(len(out["events"])) is False:
                break
    finally:
        conn.close()
    return out


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def default_bitjit():
    return os.environ.get("BITJIT", os.path.join(os.path.dirname(__file__), "..", "build",
                                                 "tools", "bitjit"))
