// bitjit eval: the golden files' teacher-forcing protocol. Runs the prompt ids as one batch,
// then feeds the --feed-ids one at a time; writes the logits of every step (and optionally of
// every prompt position) as raw float32.
#include <gflags/gflags.h>

#include <cstdio>

#include "ir/base/error.h"
#include "ir/base/output_path.h"
#include "tools/command.h"
#include "tools/context_size.h"
#include "tools/flags.h"
#include "tools/id_list.h"
#include "tools/model_loading.h"

DEFINE_string(prompt_ids, "", "prompt token ids, e.g. 128000,791,6864");
DEFINE_string(feed_ids, "", "ids fed one at a time after the prompt (teacher forcing)");
DEFINE_string(logits_out, "", "write float32 [1 + len(feed)][n_vocab] step logits here");
DEFINE_string(prompt_logits_out, "", "write float32 [len(prompt)][n_vocab] prompt-batch logits");

namespace bitjit::cli {
namespace {

int RunEval(const Args& args) {
  if (!args.positional.empty()) Fail("eval takes no arguments (got '", args.positional[0], "')");
  if (FLAGS_prompt_ids.empty()) Fail("eval needs --prompt-ids");
  const auto prompt = ParseIdList(FLAGS_prompt_ids, "prompt-ids");
  const auto feed =
      FLAGS_feed_ids.empty() ? std::vector<int32_t>{} : ParseIdList(FLAGS_feed_ids, "feed-ids");
  for (const std::string& out : {FLAGS_logits_out, FLAGS_prompt_logits_out})
    if (!out.empty()) CheckOutputPath(out);  // before the model is loaded and run
  auto model = LoadModelFromFlags();
  const int64_t vocab = model->config().n_vocab;
  const int64_t need = static_cast<int64_t>(prompt.size() + feed.size());
  const int64_t n_ctx = FLAGS_c > 0 ? ContextFromFlags(*model) : need;
  if (need > n_ctx) Fail("prompt + feed = ", need, " tokens do not fit -c ", n_ctx);

  std::vector<float> steps, row;
  {
    Session session(*model, n_ctx);
    session.Eval(prompt, /*all_rows=*/false, &row);
    steps = row;
    for (int32_t id : feed) {
      session.Eval(std::span(&id, 1), false, &row);
      steps.insert(steps.end(), row.begin(), row.end());
    }
  }
  if (!FLAGS_logits_out.empty()) WriteF32File(FLAGS_logits_out, steps);
  if (!FLAGS_prompt_logits_out.empty()) {
    Session session(*model, static_cast<int64_t>(prompt.size()));
    std::vector<float> rows;
    session.Eval(prompt, /*all_rows=*/true, &rows);
    WriteF32File(FLAGS_prompt_logits_out, rows);
  }
  // A short human summary: the argmax of each step row.
  std::printf("steps %zu, vocab %lld, argmax:", steps.size() / vocab,
              static_cast<long long>(vocab));
  for (size_t r = 0; r < steps.size() / vocab; ++r) {
    size_t best = 0;
    for (int64_t v = 1; v < vocab; ++v)
      if (steps[r * vocab + v] > steps[r * vocab + best]) best = v;
    std::printf("%s%zu", r ? "," : " ", best);
  }
  std::printf("\n");
  return 0;
}

}  // namespace

BITJIT_COMMAND(
    eval, "eval", "teacher-forced logits: prompt batch, then fed ids one by one",
    "-m MODEL --prompt-ids 1,2,3 [--feed-ids 4,5] [--logits-out F] [--prompt-logits-out F2]",
    {BITJIT_MODEL_FLAGS, "plan_cache", "prompt_ids", "feed_ids", "logits_out", "prompt_logits_out"},
    &RunEval);

}  // namespace bitjit::cli
