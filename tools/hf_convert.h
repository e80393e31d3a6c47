// bitjit convert: a Hugging Face checkpoint of a ternary model -> the I2_S GGUF bitnet.cpp's
// own flow makes (setup_env.py: utils/convert-hf-to-gguf-bitnet.py --outtype f32, then
// llama-quantize ... I2_S 1), in the same two steps: an F32 GGUF in the converter's layout,
// then tools/i2s_quantizer (llama-quantize's byte-exact twin).
//
// What the converter does, and so what step 1 does:
//  - BitNetForCausalLM and BitnetForCausalLM (1bitLLM's) -> arch bitnet-b1.58 (the official
//    2B-4T layout: canonical tensor order, sub-norms, tied output); LlamaForCausalLM -> arch
//    llama (tensors in the checkpoint's order, shards by file name then names sorted; untied
//    output.weight unless tie_word_embeddings);
//  - offline-quantized projections (U8 codes packed 4 per byte along the rows, value c - 1,
//    with a `weight_scale` tensor): W = (c - 1) / weight_scale;
//  - master projections (F32 / F16 / BF16): weight_quant, W = clamp(round(W·s), -1, 1) / s with
//    s = 1 / max(mean|W|, 1e-5), rounded back to F16 for F16 masters (bitnet.cpp's BitnetModel;
//    its LlamaModel skips this step and writes the masters through, which llama-quantize then
//    sign-quantizes into a broken model: bitjit ternarizes them for both);
//  - arch llama: q_proj / k_proj rows permuted for NORM RoPE (per head, row 2i + j <- row
//    j·d/2 + i), as the converter's permute;
//  - norms F32, token_embd and lm_head F32 (llama-quantize then picks F16 / Q8_0);
//  - the vocabulary from tokenizer.model (SentencePiece) when there is one, else tokenizer.json
//    (byte-level BPE): frontend/hf/hf_vocab.h.
#pragma once

#include <string>

#include "frontend/gguf/ggml_types.h"

namespace bitjit::cli {

struct ConvertOptions {
  std::string pre;  // tokenizer.ggml.pre to write ("" = detect)
  // token_embd's type; unset (kF32) = llama-quantize's rule: F16 beside an output.weight, else
  // F16 when n_embd % 256 == 0 and Q8_0 otherwise.
  gguf::GgmlType token_embd_type = gguf::GgmlType::kF32;
};

struct ConvertSummary {
  std::string arch;
  size_t n_tensors = 0, n_packed = 0, n_ternarized = 0;
  std::string pre;
};

// Step 1: writes the converter's F32 GGUF. Throws bitjit::Error.
ConvertSummary WriteF32Gguf(const std::string& hf_dir, const std::string& f32_path,
                            const ConvertOptions& options);

// Both steps; the F32 file is written next to out_path and removed. Throws bitjit::Error.
ConvertSummary ConvertHfToI2S(const std::string& hf_dir, const std::string& out_path,
                              const ConvertOptions& options);

}  // namespace bitjit::cli
