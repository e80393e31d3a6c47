"""Trains bitjit's default model: a small bitnet-b1.58 model on generated stories.

Pipeline (all from --seed): generate the corpus (story_generator.py), hold out its last stories,
learn a byte-level BPE on it (bpe.py), train the model quantization-aware (bitnet_model.py),
evaluate the shipped math on the held-out text exactly as `bitjit perplexity` measures it, record
greedy continuations, write the F32 GGUF in BitNet's converter layout (ternarized weights times
their scale) and run `bitjit quantize` on it to get the I2_S file. A maintainer tool: CI does not
train. Needs PyTorch (Debian's python3-torch).

    nice -n 10 /usr/bin/python3 tools/train/train.py --minutes 40 --out models
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

# One thread: on a shared 2-core machine, OpenMP and OpenBLAS threads spin-waiting for each other
# made a step 3-4x slower than a single thread (measured under the other helpers' builds).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy/torch load the BLAS

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bitnet_model  # noqa: E402
import bpe  # noqa: E402
import gguf_f32  # noqa: E402
import story_generator  # noqa: E402

CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first %}{{ bos_token }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ 'Human: ' + message['content'] + '\\n\\nBITNETAssistant: '"
    " + eos_token }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}"
    "{% endif %}{% endfor %}")
PROMPTS = ["Once upon a time", "One day, Lily went to the", "Tom said, \"", "The little dog",
           "They looked everywhere."]
ARCH = "bitnet-b1.58"


def split_corpus(text, heldout_bytes):
    """The last whole stories, at most heldout_bytes of text, are held out."""
    stories = text.rstrip("\n").split("\n\n")
    held = []
    while stories and len("\n\n".join(held + [stories[-1]])) + 1 <= heldout_bytes:
        held.insert(0, stories.pop())
    return "\n\n".join(stories) + "\n", "\n\n".join(held) + "\n"


def perplexity_windows(ids, n_ctx, bos):
    """llama-perplexity's protocol (runtime/perplexity.cc): non-overlapping windows of n_ctx
    tokens, the first token of each replaced by BOS, positions n_ctx/2 .. n_ctx-2 scored
    against the original next token."""
    n = len(ids) // n_ctx
    for w in range(n):
        src = ids[w * n_ctx:(w + 1) * n_ctx]
        yield [bos] + src[1:], src


@torch.no_grad()
def evaluate(model, ids, n_ctx, bos):
    nll, count = 0.0, 0
    for window, src in perplexity_windows(ids, n_ctx, bos):
        logits = model(torch.tensor([window]), exact=True)[0].double()
        logp = logits.log_softmax(-1)
        for pos in range(n_ctx // 2, n_ctx - 1):
            nll -= logp[pos, src[pos + 1]].item()
            count += 1
    return math.exp(nll / count), nll / count, count


@torch.no_grad()
def greedy(model, vocab, prompt, n):
    ids = vocab.encode(prompt, add_bos=True)
    out, margins = [], []
    for _ in range(n):
        logits = model(torch.tensor([ids + out]), exact=True)[0, -1]
        top = logits.topk(2)
        out.append(int(top.indices[0]))
        margins.append(float(top.values[0] - top.values[1]))
    return {"prompt": prompt, "prompt_ids": ids, "ids": out, "text": vocab.decode(out),
            "top1_margins": [round(m, 4) for m in margins]}


class Schedule:
    """Warmup, a constant learning rate, then a linear cooldown to 10% (warmup-stable-decay).
    With --minutes the cooldown starts when 80% of the time is spent and lasts a quarter of the
    steps made so far; the steps it chose are recorded, and --steps N --decay-start M replays
    the same run without a clock."""

    def __init__(self, args):
        self.lr, self.warm = args.lr, 30
        self.steps, self.decay_start, self.minutes = args.steps, args.decay_start, args.minutes
        if self.minutes:
            self.steps, self.decay_start = float("inf"), 0  # both chosen by the clock
        elif not self.decay_start:
            self.decay_start = self.steps * 4 // 5

    def update(self, step, elapsed):
        if self.minutes and not self.decay_start and elapsed > 0.8 * 60 * self.minutes:
            self.decay_start = step
            self.steps = step + max(1, step // 4)
        return step < self.steps

    def at(self, step):
        if step < self.warm:
            return self.lr * (step + 1) / self.warm
        if not self.decay_start or step < self.decay_start:
            return self.lr
        t = (step - self.decay_start) / max(1, self.steps - self.decay_start)
        return self.lr * (1 - 0.9 * t)


def train(model, stream, vocab, args, log):
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    rest = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": rest, "weight_decay": 0.0}], lr=args.lr,
                            betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(args.seed)
    data = torch.from_numpy(stream.astype(np.int64))
    t0, ema = time.time(), None
    sched = Schedule(args)
    step = 0
    while sched.update(step, time.time() - t0):
        lr = sched.at(step)
        for g in opt.param_groups:
            g["lr"] = lr
        starts = torch.randint(0, len(data) - args.n_ctx - 1, (args.batch,), generator=gen)
        batch = torch.stack([data[s:s + args.n_ctx + 1] for s in starts.tolist()])
        x, y = batch[:, :-1].clone(), batch[:, 1:]
        x[:, 0] = vocab.bos_id  # every window starts with BOS, as perplexity's do
        loss = F.cross_entropy(model(x).reshape(-1, len(vocab)), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if step % 25 == 0:
            log(f"step {step} loss {loss.item():.4f} ema {ema:.4f} lr {lr:.2e} "
                f"{time.time() - t0:.0f}s")
        if args.checkpoint and step % 100 == 99:
            torch.save(model.state_dict(), args.checkpoint)
        step += 1
    log(f"trained {step} steps (cooldown from step {sched.decay_start}), loss ema {ema:.4f}")
    return time.time() - t0, step, sched.decay_start


def export_f32(model, vocab, c, path, name):
    u = gguf_f32.u32
    kvs = [("general.architecture", gguf_f32.string(ARCH)),
           ("general.name", gguf_f32.string(name)),
           (ARCH + ".vocab_size", u(c["n_vocab"])),
           (ARCH + ".context_length", u(c["n_ctx"])),
           (ARCH + ".embedding_length", u(c["n_embd"])),
           (ARCH + ".block_count", u(c["n_layer"])),
           (ARCH + ".feed_forward_length", u(c["n_ff"])),
           (ARCH + ".rope.dimension_count", u(c["n_embd"] // c["n_head"])),
           (ARCH + ".attention.head_count", u(c["n_head"])),
           (ARCH + ".attention.head_count_kv", u(c["n_head_kv"])),
           ("tokenizer.ggml.add_bos_token", gguf_f32.boolean(True)),
           (ARCH + ".attention.layer_norm_rms_epsilon", gguf_f32.f32(bitnet_model.EPS)),
           (ARCH + ".rope.freq_base", gguf_f32.f32(c["rope_base"])),
           ("general.file_type", u(0)),
           ("tokenizer.ggml.model", gguf_f32.string("gpt2")),
           ("tokenizer.ggml.tokens", gguf_f32.str_array(vocab.tokens)),
           ("tokenizer.ggml.scores", gguf_f32.f32_array([0.0] * len(vocab))),
           ("tokenizer.ggml.token_type", gguf_f32.i32_array(vocab.token_types)),
           ("tokenizer.ggml.merges", gguf_f32.str_array([l + " " + r for l, r in vocab.merges])),
           ("tokenizer.ggml.bos_token_id", u(vocab.bos_id)),
           ("tokenizer.ggml.eos_token_id", u(vocab.eos_id)),
           ("tokenizer.ggml.padding_token_id", u(vocab.eos_id)),
           ("tokenizer.chat_template", gguf_f32.string(CHAT_TEMPLATE))]
    t = lambda p: p.detach().float().numpy()
    q = lambda lin: bitnet_model.weight_quant(lin.weight.detach()).numpy()
    tensors = [("token_embd.weight", t(model.token_embd))]
    for i, b in enumerate(model.blocks):
        p = f"blk.{i}."
        tensors += [(p + "attn_norm.weight", t(b.attn_norm.weight)),
                    (p + "attn_q.weight", q(b.attn_q)), (p + "attn_k.weight", q(b.attn_k)),
                    (p + "attn_v.weight", q(b.attn_v)),
                    (p + "attn_output.weight", q(b.attn_output)),
                    (p + "attn_sub_norm.weight", t(b.attn_sub_norm.weight)),
                    (p + "ffn_norm.weight", t(b.ffn_norm.weight)),
                    (p + "ffn_gate.weight", q(b.ffn_gate)), (p + "ffn_up.weight", q(b.ffn_up)),
                    (p + "ffn_down.weight", q(b.ffn_down)),
                    (p + "ffn_sub_norm.weight", t(b.ffn_sub_norm.weight))]
    tensors.append(("output_norm.weight", t(model.output_norm.weight)))
    gguf_f32.write(path, kvs, tensors)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--stories", type=int, default=20000, help="stories generated in all")
    p.add_argument("--heldout-bytes", type=int, default=40000)
    p.add_argument("--bpe-stories", type=int, default=3000, help="stories the BPE learns from")
    p.add_argument("--steps", type=int, default=600, help="steps (ignored with --minutes)")
    p.add_argument("--decay-start", type=int, default=0, help="first cooldown step (0: 80%%)")
    p.add_argument("--minutes", type=float, default=0,
                   help="train for this long instead (cooldown in the last 20%%); the record "
                   "gives the --steps and --decay-start that replay it")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--n-embd", type=int, default=256)
    p.add_argument("--n-ff", type=int, default=512)
    p.add_argument("--n-layer", type=int, default=4)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--n-head-kv", type=int, default=2)
    p.add_argument("--n-ctx", type=int, default=256)
    p.add_argument("--rope-base", type=float, default=10000.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--name", default="bitjit-stories")
    p.add_argument("--out", default="models", help="directory for NAME.gguf, NAME.json, heldout.txt")
    p.add_argument("--bitjit", default="build/tools/bitjit")
    p.add_argument("--checkpoint", default="", help="save the weights here every 200 steps")
    p.add_argument("--resume", default="", help="skip training: load these weights")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    log_start = time.time()

    def log(msg):
        print(f"[{time.time() - log_start:7.1f}s] {msg}", flush=True)

    text = story_generator.generate(args.seed, args.stories)
    train_text, heldout = split_corpus(text, args.heldout_bytes)
    bpe_text = "\n\n".join(train_text.split("\n\n")[:args.bpe_stories])
    merges = bpe.train_merges(bpe_text, 4096)
    n_vocab = (256 + len(merges) + len(bpe.CONTROL_TOKENS) + 127) // 128 * 128
    vocab = bpe.Vocab(merges, n_vocab)
    stream = np.array(vocab.encode(train_text, add_bos=False), dtype=np.int32)
    held_ids = vocab.encode(heldout, add_bos=True)  # as `bitjit perplexity -f` tokenizes
    log(f"corpus {len(train_text)} bytes, {len(stream)} tokens; held out {len(heldout)} bytes, "
        f"{len(held_ids)} tokens; vocab {len(vocab)} ({len(merges)} merges)")

    c = {"n_vocab": len(vocab), "n_embd": args.n_embd, "n_ff": args.n_ff,
         "n_layer": args.n_layer, "n_head": args.n_head, "n_head_kv": args.n_head_kv,
         "n_ctx": args.n_ctx, "rope_base": args.rope_base}
    model = bitnet_model.BitNet(c)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model {c}, {n_params} parameters")
    if args.resume:
        model.load_state_dict(torch.load(args.resume))
        train_s, steps_done, decay_start = 0.0, 0, 0
    else:
        train_s, steps_done, decay_start = train(model, stream, vocab, args, log)
    model.eval()
    if args.checkpoint:
        torch.save(model.state_dict(), args.checkpoint)

    ppl, mean_nll, n_scored = evaluate(model, held_ids, args.n_ctx, vocab.bos_id)
    log(f"held-out perplexity {ppl:.4f} ({n_scored} scored tokens)")
    continuations = [greedy(model, vocab, prompt, 32) for prompt in PROMPTS]
    for g in continuations:
        log(f"{g['prompt']!r} -> {g['text']!r}")

    f32_path = os.path.join(args.out, args.name + ".f32.gguf")
    out_path = os.path.join(args.out, args.name + ".gguf")
    export_f32(model, vocab, c, f32_path, args.name)
    subprocess.run([args.bitjit, "quantize", f32_path, out_path], check=True)
    os.remove(f32_path)
    with open(os.path.join(args.out, "heldout.txt"), "w") as f:
        f.write(heldout)
    record = {
        "model": args.name + ".gguf",
        "config": c, "n_params": n_params,
        "training": {"seed": args.seed, "stories": args.stories, "steps": steps_done, "decay_start": decay_start,
                     "batch": args.batch, "lr": args.lr, "weight_decay": args.weight_decay,
                     "tokens_seen": steps_done * args.batch * args.n_ctx,
                     "corpus_tokens": int(len(stream)), "train_seconds": round(train_s, 1),
                     "threads": args.threads, "torch": torch.__version__},
        "heldout": {"file": "heldout.txt", "n_ctx": args.n_ctx, "ppl": ppl,
                    "mean_nll": mean_nll, "n_scored": n_scored, "n_tokens": len(held_ids),
                    "ids": held_ids},
        "greedy": continuations,
    }
    with open(os.path.join(args.out, args.name + ".json"), "w") as f:
        json.dump(record, f, indent=1)
    log(f"wrote {out_path} ({os.path.getsize(out_path)} bytes)")


if __name__ == "__main__":
    main()
