// llama-quantize: setup_env.py's step `llama-quantize [--token-embedding-type f16] F32.gguf
// OUT.gguf I2_S 1`, writing the I2_S file bitnet.cpp's llama-quantize writes (byte for byte,
// tools/i2s_quantizer.h). Other target types are refused: I2_S is the one BitNet runs on.
#include <gflags/gflags.h>

#include <charconv>

#include "ir/base/error.h"
#include "tools/command.h"
#include "tools/flags.h"
#include "tools/i2s_quantizer.h"
#include "tools/llama_flags.h"

DEFINE_string(token_embedding_type, "f16", "type of token_embd.weight: f16, q8_0 or q6_k");

namespace bitjit::cli {

namespace {

// llama-quantize's positional arguments: IN OUT TYPE [NTHREADS]; TYPE by name or number.
int RunLlamaQuantize(const Args& args) {
  NoteLlamaFlags("llama-quantize");
  const auto& p = args.positional;
  if (p.size() < 3 || p.size() > 4) {
    Fail(
        "usage: llama-quantize [--token-embedding-type f16|q8_0|q6_k] IN.gguf OUT.gguf I2_S "
        "[NTHREADS]");
  }
  if (p[2] != "I2_S" && p[2] != "i2_s" && p[2] != "40") {
    Fail("type ", p[2], " is not supported: bitjit's llama-quantize writes I2_S only");
  }
  if (p.size() == 4) {
    int threads = 0;
    const auto [end, ec] = std::from_chars(p[3].data(), p[3].data() + p[3].size(), threads);
    if (ec != std::errc() || end != p[3].data() + p[3].size() || threads < 1) {
      Fail("NTHREADS '", p[3], "' is not a positive number");
    }
    // I2_S has one scale per tensor: bitnet.cpp quantizes it whole, whatever NTHREADS says.
  }
  const QuantizeSummary s =
      QuantizeToI2S(p[0], p[1], ParseTokenEmbeddingType(FLAGS_token_embedding_type));
  PrintQuantizeSummary(p[1], s);
  return 0;
}

}  // namespace

BITJIT_COMMAND(llama_quantize, "llama-quantize",
               "llama.cpp's llama-quantize: F32/F16/BF16 GGUF to bitnet.cpp's I2_S",
               "[--token-embedding-type f16|q8_0|q6_k] IN.gguf OUT.gguf I2_S [NTHREADS]",
               {"token_embedding_type", "log_disable"}, &RunLlamaQuantize, {}, {},
               {{"--output-tensor-type", "output.weight is always F16 in I2_S files"},
                {"--imatrix", "I2_S takes no importance matrix"},
                {"--pure", "bitnet.cpp's I2_S files keep F16 embeddings"}});

}  // namespace bitjit::cli
