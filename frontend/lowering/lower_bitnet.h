// Lowers a bitnet-b1.58 GGUF model to the IR of one forward step over a batch of tokens.
//
// Inputs: "tokens" i32[T], "positions" i32[T], "output_rows" i32[R] (which of the T rows get
// logits). Output: "logits" f32[R, n_vocab]. The same graph serves prompt prefill (T = prompt
// length, R = 1 or T) and decode (T = R = 1); the KV cache is runtime state addressed by layer.
#pragma once

#include <memory>

#include "frontend/gguf/gguf_file.h"
#include "frontend/model/model_config.h"
#include "ir/graph.h"

namespace bitjit {

std::unique_ptr<ir::Graph> LowerBitnet(const gguf::GgufFile& file, const ModelConfig& config,
                                       ir::Numerics numerics);

}  // namespace bitjit
