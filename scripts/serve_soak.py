#!/usr/bin/env python3
"""Load soak of `bitjit serve` on loopback (the long form of ctest's ServeLoad test):
--clients concurrent streaming clients make --requests requests in all, every fourth one
hanging up after its first text. Checks that every other reply is exactly the text its prompt
gets alone at temperature 0, that /health shows every slot idle afterwards, and that resident
memory (VmRSS) after all requests is within 5% of what it was after the first 100.

  scripts/serve_soak.py [-m MODEL] [--requests 2000] [--clients 64] [--parallel 8]

Exit 0 when every check held, 1 otherwise."""
import argparse
import os
import sys
import threading
import time

from serve_common import Server, default_bitjit, stream

PROMPTS = 8


def body(k):
    return {"prompt": f"Request {k}: tell a story about the number {k * 13 + 1}",
            "max_tokens": 24, "temperature": 0}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("-m", "--model", default=os.path.join(os.path.dirname(__file__), "..", "..",
                                                          "shared", "golden", "tiny",
                                                          "model.gguf"))
    p.add_argument("--bitjit", default=default_bitjit())
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--parallel", type=int, default=8)
    args = p.parse_args()
    ok = True
    # Room for every client twice: a client that hung up may send its next request before the
    # server has noticed (within 50 ms) and freed the old one's place.
    with Server(args.bitjit, ["-m", args.model, "--parallel", str(args.parallel), "--queue",
                              str(min(2 * args.clients, 1024))]) as server:
        alone = [stream(server.port, "/v1/completions", body(k))["text"] for k in range(PROMPTS)]
        lock = threading.Lock()
        state = {"next": 0, "done": 0, "wrong": 0, "failed": 0, "left": 0, "rss_100": None}

        def client():
            while True:
                with lock:
                    i = state["next"]
                    state["next"] += 1
                if i >= args.requests:
                    return
                leaves = i % 4 == 0
                out = stream(server.port, "/v1/completions", body(i % PROMPTS),
                             on_event=(lambda n: n < 1) if leaves else None)
                with lock:
                    if leaves:
                        state["left"] += 1
                    elif out["status"] != 200 or not out["done"]:
                        state["failed"] += 1
                        if state["failed"] <= 3:
                            print(f"soak: request {i}: HTTP {out['status']}, done={out['done']}")
                    elif out["text"] != alone[i % PROMPTS]:
                        state["wrong"] += 1
                    state["done"] += 1
                    if state["done"] == 100:
                        state["rss_100"] = server.rss_kib()

        start = time.monotonic()
        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - start
        rss_end = server.rss_kib()
        idle = False
        for _ in range(200):
            status, h = server.health()
            if h["slots_busy"] == 0 and h["requests_waiting"] == 0 and \
                    h["slots_idle"] == h["slots_total"]:
                idle = True
                break
            time.sleep(0.1)
        growth = (rss_end - state["rss_100"]) / state["rss_100"] * 100
        print(f"soak: {state['done']} requests in {wall:.1f} s by {args.clients} clients "
              f"({state['left']} hung up): {state['failed']} failed, {state['wrong']} with other "
              f"text; slots idle afterwards: {idle}; VmRSS {state['rss_100'] / 1024:.1f} MiB "
              f"after 100, {rss_end / 1024:.1f} MiB after {state['done']} ({growth:+.1f}%)")
        ok = state["failed"] == 0 and state["wrong"] == 0 and idle and growth <= 5.0
        if server.stop() != 0:
            print("soak: the server did not exit with 0 on SIGTERM")
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
