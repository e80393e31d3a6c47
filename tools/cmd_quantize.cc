// bitjit quantize: an F32 / F16 / BF16 GGUF to the I2_S file bitnet.cpp's llama-quantize writes
// (tools/i2s_quantizer.h); `llama-quantize IN OUT I2_S` is the same with llama.cpp's arguments.
#include <gflags/gflags.h>

#include "ir/base/error.h"
#include "tools/command.h"
#include "tools/flags.h"
#include "tools/i2s_quantizer.h"

DECLARE_string(token_embedding_type);

namespace bitjit::cli {

namespace {

int RunQuantize(const Args& args) {
  if (args.positional.size() != 2) Fail("quantize takes IN.gguf OUT.gguf");
  const QuantizeSummary s = QuantizeToI2S(args.positional[0], args.positional[1],
                                          ParseTokenEmbeddingType(FLAGS_token_embedding_type));
  PrintQuantizeSummary(args.positional[1], s);
  return 0;
}

}  // namespace

BITJIT_COMMAND(quantize, "quantize", "F32/F16/BF16 GGUF to I2_S, as bitnet.cpp's llama-quantize",
               "IN.gguf OUT.gguf [--token-embedding-type f16|q8_0|q6_k]", {"token_embedding_type"},
               &RunQuantize);

}  // namespace bitjit::cli
