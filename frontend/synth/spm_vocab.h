// A small SentencePiece vocabulary ("llama" in GGUF) in the layout of LLaMA's, which 1bitLLM's
// bitnet_b1_58 models use: <unk> (UNKNOWN) 0, <s> 1 and </s> 2 (CONTROL), the 256 byte tokens
// <0x00>..<0xFF> (BYTE), then "▁"-escaped pieces learned from the built-in text with
// decreasing scores (the earlier a merge, the higher its score, so that merging by score
// replays the training), then each of the text's characters, then filler pieces "▁~N" that no
// text merges into (NORMAL, so a random model's output still prints as text) up to 32000
// tokens, then "[PAD1]", "[PAD2]", ... (UNUSED) as bitnet.cpp's converter pads to vocab_size.
#pragma once

#include <cstdint>

#include "frontend/synth/builtin_vocab.h"

namespace bitjit::synth {

inline constexpr int32_t kTokenUnknown = 2;
inline constexpr int32_t kTokenUnused = 5;
inline constexpr int32_t kTokenByte = 6;

// The vocabulary with exactly n_vocab tokens; throws bitjit::Error when n_vocab is too small
// for the special, byte and character tokens. Vocab::merges stays empty, Vocab::spm is set.
Vocab SpmVocab(int64_t n_vocab);
// The smallest n_vocab SpmVocab takes.
int64_t MinSpmVocab();

}  // namespace bitjit::synth
