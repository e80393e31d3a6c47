#!/usr/bin/env python3
"""Figures for `bitjit serve` on loopback (the README's serving figures come from here).

  scripts/serve_bench.py load  -m MODEL [--clients 1,4,16,64] [--requests-per-client 2]
      throughput (completion tokens/s over the wall time) and p50/p99 time to first token at
      each number of concurrent streaming clients
  scripts/serve_bench.py gap   -m MODEL [--long-prompt 2000] [--chunks 4096,256]
      the largest gap between two tokens of a running stream while another client sends a long
      prompt, for each --prefill-chunk
  scripts/serve_bench.py cache -m MODEL [--first-turn 400]
      the second chat turn's time to first token with the prompt cache on and off (and
      whether both give the same text)

Extra server flags go after `--` (e.g. `-- -t 2 -c 4096`). BITJIT names the binary
(default build/tools/bitjit)."""
import argparse
import sys
import threading
import time

from serve_common import Server, default_bitjit, percentile, stream

WORDS = ("the quick brown fox jumps over a lazy dog while seven wise owls count "
         "ninety bright stars above the quiet river near an old stone bridge").split()


def ids_of(n_tokens, salt=0):
    """A prompt of exactly n_tokens token ids (no control tokens: ids 256..20255)."""
    return [256 + (i * 7919 + salt * 104729) % 20000 for i in range(n_tokens)]


def text_of(n_words, salt=0):
    return " ".join(WORDS[(i * 7 + salt) % len(WORDS)] for i in range(n_words))


def load(args, extra):
    print(f"{'clients':>8} {'requests':>9} {'tokens/s':>9} {'ttft p50':>9} {'ttft p99':>9}")
    with Server(args.bitjit, ["-m", args.model, "--parallel", str(args.parallel),
                              "--queue", "1024", *extra]) as server:
        for clients in [int(c) for c in args.clients.split(",")]:
            results, lock = [], threading.Lock()

            def client(k):
                for r in range(args.requests_per_client):
                    body = {"prompt": ids_of(args.prompt_tokens, salt=k * 31 + r),
                            "max_tokens": args.max_tokens, "temperature": 0, "ignore_eos": True}
                    out = stream(server.port, "/v1/completions", body)
                    with lock:
                        results.append(out)

            start = time.monotonic()
            threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.monotonic() - start
            ok = [r for r in results if r["status"] == 200 and r["done"]]
            ttft = [r["events"][0] - r["start"] for r in ok if r["events"]]
            tokens = sum(r["tokens"] for r in ok)
            print(f"{clients:>8} {len(ok):>9} {tokens / wall:>9.1f} "
                  f"{percentile(ttft, 50) * 1000:>7.0f}ms {percentile(ttft, 99) * 1000:>7.0f}ms",
                  flush=True)
            if len(ok) != len(results):
                print(f"  {len(results) - len(ok)} requests failed", file=sys.stderr)


def gap(args, extra):
    print(f"{'chunk':>6} {'max gap':>9} {'median gap':>11} {'long prompt ttft':>17}")
    for chunk in [int(c) for c in args.chunks.split(",")]:
        with Server(args.bitjit, ["-m", args.model, "--parallel", "2", "--prefill-chunk",
                                  str(chunk), "--no-cache-prompt", *extra]) as server:
            started, over = threading.Event(), threading.Event()
            running = {}

            def on_event(n):
                if n >= 5:
                    started.set()
                return not (over.is_set() and n >= running.setdefault("stop_at", n + 3))

            def runner():
                # Runs until a few tokens after the long request is over (or stream_tokens).
                body = {"prompt": ids_of(20), "max_tokens": args.stream_tokens,
                        "temperature": 0, "ignore_eos": True}
                running.update(stream(server.port, "/v1/completions", body, on_event=on_event))

            t = threading.Thread(target=runner)
            t.start()
            started.wait()
            time.sleep(0.5)
            long_start = time.monotonic()
            long = stream(server.port, "/v1/completions",
                          {"prompt": ids_of(args.long_prompt, salt=3), "max_tokens": 1,
                           "temperature": 0})
            if long["status"] != 200:
                raise SystemExit(f"the long request failed: HTTP {long['status']}")
            long_end = time.monotonic()
            over.set()
            t.join()
            if running["status"] != 200:
                raise SystemExit(f"the running stream failed: HTTP {running['status']}")
            ev = running["events"]
            # Gaps of the running stream that overlap the long request.
            gaps = [b - a for a, b in zip(ev, ev[1:]) if b >= long_start and a <= long_end]
            all_gaps = [b - a for a, b in zip(ev, ev[1:])]
            ttft = long["events"][0] - long["start"] if long["events"] else float("nan")
            print(f"{chunk:>6} {max(gaps) * 1000:>7.0f}ms {percentile(all_gaps, 50) * 1000:>9.0f}ms"
                  f" {ttft * 1000:>15.0f}ms", flush=True)


def cache(args, extra):
    print(f"{'cache':>6} {'turn 1 ttft':>12} {'turn 2 ttft':>12} {'same text':>10}")
    texts = {}
    for on in (True, False):
        flags = [] if on else ["--no-cache-prompt"]
        with Server(args.bitjit, ["-m", args.model, "--parallel", "1", *flags, *extra]) as server:
            messages = [{"role": "system", "content": "You answer briefly."},
                        {"role": "user", "content": text_of(args.first_turn_words)}]
            ttfts, replies, n_prompt = [], [], []
            for turn in range(2):
                out = stream(server.port, "/v1/chat/completions",
                             {"messages": messages, "max_tokens": args.max_tokens,
                              "temperature": 0})
                if out["status"] != 200:
                    raise SystemExit(f"turn {turn + 1} failed: HTTP {out['status']}")
                ttfts.append(out["events"][0] - out["start"] if out["events"] else float("nan"))
                n_prompt.append(out["prompt_tokens"])
                replies.append(out["text"])
                messages += [{"role": "assistant", "content": out["text"]},
                             {"role": "user", "content": "And then?"}]
            texts[on] = replies
            same = "" if on else ("yes" if texts[True] == texts[False] else "NO")
            print(f"{'on' if on else 'off':>6} {ttfts[0] * 1000:>10.0f}ms "
                  f"{ttfts[1] * 1000:>10.0f}ms {same:>10}   (prompts of {n_prompt[0]} and "
                  f"{n_prompt[1]} tokens)", flush=True)
    return 0 if texts[True] == texts[False] else 1


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("mode", choices=["load", "gap", "cache"])
    p.add_argument("-m", "--model", required=True)
    p.add_argument("--bitjit", default=default_bitjit())
    p.add_argument("--parallel", type=int, default=8)
    p.add_argument("--clients", default="1,4,16,64")
    p.add_argument("--requests-per-client", type=int, default=2)
    p.add_argument("--prompt-tokens", type=int, default=32)
    p.add_argument("--max-tokens", type=int, default=16)
    p.add_argument("--chunks", default="4096,256")
    p.add_argument("--long-prompt", type=int, default=2000, help="tokens")
    p.add_argument("--stream-tokens", type=int, default=1500)
    p.add_argument("--first-turn-words", type=int, default=100,
                   help="words (the synthetic models' tokenizer makes ~4 tokens of one)")
    args = p.parse_args(argv)
    return {"load": load, "gap": gap, "cache": cache}[args.mode](args, extra) or 0


if __name__ == "__main__":
    sys.exit(main())
