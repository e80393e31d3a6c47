"""Byte-level BPE in the form llama.cpp (and bitjit) read from a "gpt2" GGUF vocabulary.

The pre-tokenizer is llama.cpp's fallback (what bitnet.cpp and bitjit use when a file has no
tokenizer.ggml.pre; ../../../shared/spec/TOKENIZER.md), written for ASCII text, which is all the
story corpus holds: four regexes applied in turn, each splitting the pieces of the one before,
with the text between matches kept as pieces of its own. BPE merges are then applied per piece,
lowest rank first (no Llama-3 ignore_merges rule: llama.cpp applies it to llama3 vocabularies
only).
"""

import re

# [\p{P}\$\+<=>\^~\|]+ restricted to ASCII: every ASCII punctuation or symbol except '`' (Sk).
_SPLITS = [
    re.compile(r"[!-/:-@\[-_{-~]+"),
    re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)"),
    re.compile(r"[0-9]+"),
    re.compile(r"[0-9][0-9][0-9]"),
]

# Llama-3's special tokens in their relative order (bitjit's synthetic vocabulary uses the same
# eight): BOS, EOS, ..., and <|eot_id|> which ends a chat turn.
CONTROL_TOKENS = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                  "<|reserved_special_token_1|>", "<|start_header_id|>", "<|end_header_id|>",
                  "<|reserved_special_token_2|>", "<|eot_id|>"]
TOKEN_NORMAL, TOKEN_CONTROL, TOKEN_USER_DEFINED = 1, 3, 4


def _bytes_to_unicode():
    printable = [b for b in range(256)
                 if ord("!") <= b <= ord("~") or 0xA1 <= b <= 0xAC or 0xAE <= b <= 0xFF]
    table, n = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + n)
            n += 1
    return table


BYTE_CHAR = _bytes_to_unicode()
CHAR_BYTE = {c: b for b, c in BYTE_CHAR.items()}


def _split(regex, piece):
    out, at = [], 0
    for m in regex.finditer(piece):
        if m.start() > at:
            out.append(piece[at:m.start()])
        if m.end() > m.start():
            out.append(m.group())
        at = m.end()
    if at < len(piece):
        out.append(piece[at:])
    return out


def pre_tokenize(text):
    if not text.isascii():
        raise ValueError("this pre-tokenizer handles ASCII text only")
    pieces = [text] if text else []
    for regex in _SPLITS:
        pieces = [p for piece in pieces for p in _split(regex, piece)]
    return pieces


def to_symbols(piece):
    return "".join(BYTE_CHAR[b] for b in piece.encode("utf-8"))


def train_merges(text, n_merges):
    """Classic BPE: merge the most frequent adjacent pair (ties: the smaller pair) until
    n_merges are made or no pair occurs twice."""
    words = {}
    for piece in pre_tokenize(text):
        sym = to_symbols(piece)
        words[sym] = words.get(sym, 0) + 1
    corpus = [(list(w), c) for w, c in sorted(words.items())]
    merges = []
    while len(merges) < n_merges:
        counts = {}
        for symbols, c in corpus:
            for i in range(len(symbols) - 1):
                pair = (symbols[i], symbols[i + 1])
                counts[pair] = counts.get(pair, 0) + c
        if not counts:
            break
        best = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if best[1] < 2:
            break
        left, right = best[0]
        merges.append((left, right))
        for symbols, _ in corpus:
            i = 0
            while i < len(symbols) - 1:
                if symbols[i] == left and symbols[i + 1] == right:
                    symbols[i:i + 2] = [left + right]
                i += 1
    return merges


class Vocab:
    """Byte tokens (bytes_to_unicode order, printable bytes first), one token per new merge
    result, [PADn] fillers up to n_vocab - 8, then the eight control tokens."""

    def __init__(self, merges, n_vocab):
        order = [b for b in range(256) if BYTE_CHAR[b] == chr(b)] + \
                [b for b in range(256) if BYTE_CHAR[b] != chr(b)]
        self.tokens = [BYTE_CHAR[b] for b in order]
        known = set(self.tokens)
        self.merges = []
        limit = n_vocab - len(CONTROL_TOKENS)
        for left, right in merges:
            if left + right not in known:
                if len(self.tokens) >= limit:
                    break
                known.add(left + right)
                self.tokens.append(left + right)
            self.merges.append((left, right))
        self.token_types = [TOKEN_NORMAL] * len(self.tokens)
        while len(self.tokens) < limit:
            self.tokens.append("[PAD%d]" % len(self.tokens))
            self.token_types.append(TOKEN_USER_DEFINED)
        self.bos_id = len(self.tokens)
        self.eos_id = self.bos_id + 1
        self.eot_id = self.bos_id + len(CONTROL_TOKENS) - 1
        self.tokens += CONTROL_TOKENS
        self.token_types += [TOKEN_CONTROL] * len(CONTROL_TOKENS)
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        self.rank = {m: i for i, m in enumerate(self.merges)}
        self._cache = {}

    def __len__(self):
        return len(self.tokens)

    def _bpe(self, piece):
        ids = self._cache.get(piece)
        if ids is not None:
            return ids
        symbols = list(to_symbols(piece))
        while len(symbols) > 1:
            ranks = [self.rank.get((symbols[i], symbols[i + 1])) for i in range(len(symbols) - 1)]
            best = min((r, i) for i, r in enumerate(ranks) if r is not None) if any(
                r is not None for r in ranks) else None
            if best is None:
                break
            i = best[1]
            symbols[i:i + 2] = [symbols[i] + symbols[i + 1]]
        ids = [self.ids[s] for s in symbols]
        self._cache[piece] = ids
        return ids

    def encode(self, text, add_bos=True):
        out = [self.bos_id] if add_bos else []
        for piece in pre_tokenize(text):
            out.extend(self._bpe(piece))
        return out

    def decode(self, ids):
        data = bytearray()
        for i in ids:
            if self.token_types[i] == TOKEN_NORMAL:
                data.extend(CHAR_BYTE[c] for c in self.tokens[i])
        return data.decode("utf-8", errors="replace")
