// bitjit perplexity: llama-perplexity's measurement (runtime/perplexity.h) of a text file or a
// token-id list, printed as llama.cpp prints it so that the numbers can be compared directly.
#include <gflags/gflags.h>
#include <nlohmann/json.hpp>

#include <cstdio>

#include "ir/base/error.h"
#include "runtime/perplexity.h"
#include "tools/command.h"
#include "tools/context_size.h"
#include "tools/flags.h"
#include "tools/id_list.h"
#include "tools/model_loading.h"

DEFINE_string(ids, "", "token ids to score instead of -f text, e.g. 128000,791,6864");
DEFINE_bool(score_all, false,
            "score every position of one window holding all the tokens (no half-split, no BOS "
            "replacement)");
DEFINE_int32(batch, 0, "tokens per evaluation batch inside a window (0 = the whole window)");

namespace bitjit::cli {
namespace {

// llama-perplexity's classic window (the one published wikitext numbers use).
constexpr int64_t kDefaultContext = 512;

std::vector<int32_t> InputTokens(const Model& model) {
  if (FLAGS_f.empty() == FLAGS_ids.empty())
    Fail("perplexity needs exactly one of -f TEXT and --ids");
  if (!FLAGS_ids.empty()) return ParseIdList(FLAGS_ids, "ids");
  // As llama-perplexity: BOS added when the model asks for it, special-token text left as text.
  return model.tokenizer().Encode(ReadTextFile(FLAGS_f), /*add_bos=*/true, /*parse_special=*/false);
}

void PrintJson(const PerplexityResult& r) {
  const nlohmann::json out = {{"ppl", r.stats.Ppl()},
                              {"ppl_error", r.stats.PplError()},
                              {"mean_nll", r.stats.MeanNll()},
                              {"n_scored", r.stats.count()},
                              {"n_tokens", r.n_tokens},
                              {"n_windows", r.n_windows},
                              {"n_ctx", r.n_ctx},
                              {"running_ppl", r.running_ppl}};
  std::printf("%s\n", out.dump().c_str());
}

int RunPerplexity(const Args& args) {
  if (!args.positional.empty()) {
    Fail("perplexity takes no arguments (got '", args.positional[0], "'; the text goes in -f)");
  }
  if (FLAGS_batch < 0) Fail("--batch must not be negative");
  if (FLAGS_score_all && FLAGS_c > 0) Fail("--score-all uses one window of all tokens; drop -c");
  auto model = LoadModelFromFlags();
  const std::vector<int32_t> tokens = InputTokens(*model);

  PerplexityOptions options;
  options.n_ctx = FLAGS_c > 0 ? ContextFromFlags(*model) : kDefaultContext;
  options.n_batch = FLAGS_batch;
  options.score_all = FLAGS_score_all;
  if (!FLAGS_quiet && !FLAGS_json) {
    const int64_t n_ctx = options.score_all ? static_cast<int64_t>(tokens.size()) : options.n_ctx;
    const int64_t n_windows = options.score_all ? 1 : static_cast<int64_t>(tokens.size()) / n_ctx;
    std::fprintf(stderr, "perplexity: %zu tokens, %lld window%s of %lld tokens\n", tokens.size(),
                 static_cast<long long>(n_windows), n_windows == 1 ? "" : "s",
                 static_cast<long long>(n_ctx));
  }
  // llama.cpp prints the running value after every window on one line: "[1]8.1234,[2]...".
  const PerplexityResult r =
      ComputePerplexity(*model, tokens, options, [](int64_t window, int64_t, double ppl) {
        if (FLAGS_json) return;
        std::printf("[%lld]%.4f,", static_cast<long long>(window + 1), ppl);
        std::fflush(stdout);
      });
  if (FLAGS_json) {
    PrintJson(r);
  } else {
    std::printf("\nFinal estimate: PPL = %.4f +/- %.5f\n", r.stats.Ppl(), r.stats.PplError());
  }
  return 0;
}

}  // namespace

BITJIT_COMMAND(
    perplexity, "perplexity", "perplexity of a text as llama-perplexity measures it",
    "-m MODEL (-f TEXT | --ids 1,2,3) [-c CTX (default 512)] [--batch N] [--score-all] [--json]",
    {BITJIT_MODEL_FLAGS, "plan_cache", "f", "ids", "score_all", "batch", "json"}, &RunPerplexity);

}  // namespace bitjit::cli
