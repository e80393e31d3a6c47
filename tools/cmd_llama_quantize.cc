// llama-quantize: the link exists so that bitnet.cpp's setup_env.py finds it under build/bin/,
// but bitjit does not write I2_S files yet; it says so instead of writing something else.
#include "ir/base/error.h"
#include "tools/command.h"

namespace bitjit::cli {
namespace {

int RunLlamaQuantize(const Args&) {
  Fail(
      "llama-quantize is not implemented in bitjit yet: use bitnet.cpp's llama-quantize to "
      "write ggml-model-i2_s.gguf, then run it with bitjit");
}

}  // namespace

BITJIT_COMMAND(llama_quantize, "llama-quantize",
               "llama.cpp's llama-quantize (not implemented yet: refuses)",
               "[--token-embedding-type f16] F32.gguf OUT.gguf I2_S 1", {}, &RunLlamaQuantize, {},
               {}, {{"--token-embedding-type", "llama-quantize is not implemented in bitjit yet"}});

}  // namespace bitjit::cli
