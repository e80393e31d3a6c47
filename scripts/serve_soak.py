#!/usr/bin/env python3
"""Load soak of `bitjit serve` on loopback (the long form of ctest's ServeLoad test):
--clients concurrent streaming clients make --requests requests in all, every fourth one
hanging up after its first text. Checks that every other reply is exactly the text its prompt
gets alone at temperature 0, that /health shows every slot idle afterwards, and that resident
memory (VmRSS) does not keep growing: over the second half of the requests it grows by at most
3% (a leak of 16 bytes a request shows as ~6% over 100,000 requests on the tiny model's ~27 MiB;
the first requests warm up the allocator's caches, which is not a leak).

  scripts/serve_soak.py [-m MODEL] [--requests 2000] [--clients 64] [--parallel 8]
  scripts/serve_soak.py --minutes 10     (as many requests as 10 minutes take, instead)

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
    p.add_argument("--minutes", type=float, default=0,
                   help="run for this long instead of for --requests requests")
    args = p.parse_args()
    deadline = time.monotonic() + args.minutes * 60 if args.minutes > 0 else None
    ok = True
    # Room for every client twice: a client that hung up may send its next request before the
    # server has noticed (within 50 ms) and freed the old one's place.
    with Server(args.bitjit, ["-m", args.model, "--parallel", str(args.parallel), "--queue",
                              str(min(2 * args.clients, 1024))]) as server:
        alone = [stream(server.port, "/v1/completions", body(k))["text"] for k in range(PROMPTS)]
        lock = threading.Lock()
        state = {"next": 0, "done": 0, "wrong": 0, "failed": 0, "left": 0, "rss_100": None}
        samples = []  # (requests done, VmRSS KiB), at every tenth of the run

        def sample(done):
            samples.append((done, server.rss_kib()))

        def client():
            while True:
                with lock:
                    i = state["next"]
                    state["next"] += 1
                if (deadline is None and i >= args.requests) or \
                        (deadline is not None and time.monotonic() >= deadline):
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
                    if deadline is None and state["done"] % max(args.requests // 10, 1) == 0:
                        sample(state["done"])

        def time_sampler():
            for tenth in range(1, 10):
                while time.monotonic() < start + args.minutes * 6 * tenth:
                    time.sleep(0.2)
                with lock:
                    sample(state["done"])

        start = time.monotonic()
        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        if deadline is not None:
            threads.append(threading.Thread(target=time_sampler))
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
        samples.append((state["done"], rss_end))
        half = next(rss for done, rss in samples if done >= state["done"] / 2)
        growth = (rss_end - half) / half * 100
        curve = ", ".join(f"{rss / 1024:.1f}" for _, rss in samples)
        print(f"soak: {state['done']} requests in {wall:.1f} s by {args.clients} clients "
              f"({state['left']} hung up): {state['failed']} failed, {state['wrong']} with other "
              f"text; slots idle afterwards: {idle}; VmRSS {state['rss_100'] / 1024:.1f} MiB "
              f"after 100, then each tenth: {curve} MiB; second half {growth:+.1f}%")
        ok = state["failed"] == 0 and state["wrong"] == 0 and idle and growth <= 3.0
        if server.stop() != 0:
            print("soak: the server did not exit with 0 on SIGTERM")
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
