// `bitjit convert HF_DIR -o OUT.gguf`: a Hugging Face checkpoint of a ternary model to an I2_S
// GGUF in bitnet.cpp's layout (tools/hf_convert.h).
#include <gflags/gflags.h>

#include <cstdio>

#include "ir/base/error.h"
#include "tools/command.h"
#include "tools/flags.h"
#include "tools/hf_convert.h"
#include "tools/i2s_quantizer.h"

DECLARE_string(token_embedding_type);
DEFINE_string(pre, "",
              "tokenizer.ggml.pre to write (e.g. llama-bpe, falcon3); empty: llama-bpe when "
              "tokenizer.json has Llama-3's split rule, else none (byte-level BPE only: a "
              "SentencePiece tokenizer.model always gets \"default\")");

namespace bitjit::cli {
namespace {

int RunConvert(const Args& args) {
  if (args.positional.size() != 1)
    Fail("convert takes one HF_DIR (got ", args.positional.size(), ")");
  if (FLAGS_o.empty()) Fail("convert needs an output file: -o OUT.gguf");
  ConvertOptions options;
  options.pre = FLAGS_pre;
  gflags::CommandLineFlagInfo info;
  if (gflags::GetCommandLineFlagInfo("token_embedding_type", &info) && !info.is_default) {
    options.token_embd_type = ParseTokenEmbeddingType(FLAGS_token_embedding_type);
  }
  const ConvertSummary s = ConvertHfToI2S(args.positional[0], FLAGS_o, options);
  if (!FLAGS_quiet) {
    std::fprintf(stderr,
                 "wrote %s: arch %s, %zu tensors (%zu offline-quantized, %zu ternarized from "
                 "masters), tokenizer.ggml.pre %s\n",
                 FLAGS_o.c_str(), s.arch.c_str(), s.n_tensors, s.n_packed, s.n_ternarized,
                 s.pre.empty() ? "none" : s.pre.c_str());
  }
  return 0;
}

}  // namespace

BITJIT_COMMAND(convert, "convert",
               "Hugging Face ternary checkpoint (BitNet / Llama-style) to an I2_S GGUF",
               "HF_DIR -o OUT.gguf [--token-embedding-type f16|q8_0|q6_k] [--pre NAME]",
               {"o", "token_embedding_type", "pre"}, &RunConvert);

}  // namespace bitjit::cli
