// The smallest useful program on bitjit's C++ API: load a model, tokenize a prompt, generate
// greedily while printing each piece of text as it arrives, then report the speed.
//
//   generate MODEL.gguf ["PROMPT"] [N_TOKENS]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "ir/base/error.h"
#include "runtime/generate.h"
#include "runtime/model.h"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::fprintf(stderr, "usage: %s MODEL.gguf [\"PROMPT\"] [N_TOKENS]\n", argv[0]);
    return 2;
  }
  const std::string prompt = argc > 2 ? argv[2] : "Once upon a time";
  const int n_tokens = argc > 3 ? std::atoi(argv[3]) : 32;
  try {
    const auto model = bitjit::Model::Load(argv[1]);
    const bitjit::Tokenizer& tokenizer = model->tokenizer();
    // BOS first, as the model expects; special-token text such as <|eot_id|> becomes its token.
    const auto prompt_ids = tokenizer.Encode(prompt, /*add_bos=*/true, /*parse_special=*/true);

    // A session holds one conversation's KV cache; size it for the prompt and the reply.
    bitjit::GenerationSession session(*model, static_cast<int64_t>(prompt_ids.size()) + n_tokens);
    bitjit::GenerateParams params;
    params.n_predict = n_tokens;
    params.sampler.temperature = 0;  // greedy

    // A token can end inside a UTF-8 character: such bytes are held back until the character is
    // complete, so the terminal never sees half of one.
    std::fputs(prompt.c_str(), stdout);
    const bitjit::GenerateResult result = session.Generate(
        prompt_ids, params, [&](int32_t, std::span<const float>, std::string_view piece) {
          std::fwrite(piece.data(), 1, piece.size(), stdout);
          std::fflush(stdout);
          return true;  // false would stop generation here
        });
    std::fputc('\n', stdout);

    // The first token comes from the prompt batch; each later one costs one decode step.
    const size_t n = result.ids.size();
    const double decode_tps =
        n > 1 && result.decode_seconds > 0 ? (n - 1) / result.decode_seconds : 0;
    std::fprintf(stderr, "prompt: %d tokens in %.3f s | generated: %zu tokens, %.1f tokens/s\n",
                 result.n_prompt, result.prompt_seconds, n, decode_tps);
    return 0;
  } catch (const bitjit::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
