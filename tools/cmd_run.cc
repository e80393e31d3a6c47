// bitjit run: generate text from a prompt (streamed to stdout), or chat with --chat.
#include <gflags/gflags.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>

#include "ir/base/error.h"
#include "ir/base/output_path.h"
#include "runtime/generate.h"
#include "tools/chat_loop.h"
#include "tools/command.h"
#include "tools/context_size.h"
#include "tools/draft_flag.h"
#include "tools/flags.h"
#include "tools/id_list.h"
#include "tools/model_loading.h"

DECLARE_string(prompt_ids);
DECLARE_string(logits_out);
DEFINE_double(temp, 0.8, "sampling temperature; 0 = greedy");
DEFINE_int32(top_k, 40, "keep the k most likely tokens (0 = off)");
DEFINE_double(top_p, 0.95, "keep the smallest set reaching this probability (1 = off)");
DEFINE_double(min_p, 0.05, "drop tokens below min_p times the best probability (0 = off)");
DEFINE_double(repeat_penalty, 1.0, "penalize recently seen tokens (1 = off)");
DEFINE_int32(repeat_last_n, 64, "how many recent tokens the repeat penalty considers");
DEFINE_bool(ignore_eos, false, "keep generating past end-of-text / end-of-turn tokens");
DEFINE_bool(chat, false, "interactive chat with the model's chat template");
DEFINE_bool(cnv, false, "alias of --chat (llama-cli's name)");
DEFINE_string(system, "", "system message for --chat");
DEFINE_string(chat_template, "",
              "chat format for --chat: bitnet, llama3, falcon3 or chatml (default: the one the "
              "model's tokenizer.chat_template names, bitnet without one)");

namespace bitjit::cli {
namespace {

GenerateParams ParamsFromFlags() {
  GenerateParams p;
  if (FLAGS_n < 0) Fail("-n must not be negative");
  // Written as what must hold: NaN fails every comparison, so "refuse if x < 0" lets it through.
  if (!(std::isfinite(FLAGS_temp) && FLAGS_temp >= 0))
    Fail("--temp must be a finite number >= 0, not ", FLAGS_temp);
  if (!(FLAGS_top_p > 0 && FLAGS_top_p <= 1)) Fail("--top-p must be in (0, 1], not ", FLAGS_top_p);
  if (!(FLAGS_min_p >= 0 && FLAGS_min_p <= 1)) Fail("--min-p must be in [0, 1], not ", FLAGS_min_p);
  if (!(std::isfinite(FLAGS_repeat_penalty) && FLAGS_repeat_penalty > 0))
    Fail("--repeat-penalty must be a finite number > 0, not ", FLAGS_repeat_penalty);
  p.n_predict = FLAGS_n;
  p.ignore_eos = FLAGS_ignore_eos;
  p.sampler.temperature = static_cast<float>(FLAGS_temp);
  p.sampler.top_k = FLAGS_top_k;
  p.sampler.top_p = static_cast<float>(FLAGS_top_p);
  p.sampler.min_p = static_cast<float>(FLAGS_min_p);
  p.sampler.repeat_penalty = static_cast<float>(FLAGS_repeat_penalty);
  p.sampler.repeat_last_n = FLAGS_repeat_last_n;
  p.sampler.seed = FLAGS_seed;
  p.draft = DraftFromFlags();
  // Refused, not ignored: a user who asks for drafts and sampling would otherwise not learn
  // that the drafts are unused (speculation here is exact for greedy decoding only).
  if (p.draft.enabled() && p.sampler.temperature > 0)
    Fail("--draft verifies greedy decoding only: give --temp 0, or drop --draft to sample");
  return p;
}

std::vector<int32_t> PromptIds(const Model& model) {
  const int sources = !FLAGS_p.empty() + !FLAGS_f.empty() + !FLAGS_prompt_ids.empty();
  if (sources > 1) Fail("give only one of -p, -f and --prompt-ids");
  if (!FLAGS_prompt_ids.empty()) return ParseIdList(FLAGS_prompt_ids, "prompt-ids");
  std::string text = !FLAGS_f.empty() ? ReadTextFile(FLAGS_f) : FLAGS_p;
  auto ids = model.tokenizer().Encode(text, /*add_bos=*/true, /*parse_special=*/true);
  if (ids.empty()) Fail("the prompt is empty (give -p TEXT, -f FILE or --prompt-ids)");
  return ids;
}

int RunRun(const Args& args) {
  if (!args.positional.empty()) Fail("run takes no arguments (got '", args.positional[0], "')");
  const GenerateParams params = ParamsFromFlags();
  if (!FLAGS_logits_out.empty()) CheckOutputPath(FLAGS_logits_out);  // before generating
  if (UsingDefaultModel() && !FLAGS_quiet) {
    std::fprintf(stderr,
                 "note: no -m given: running the embedded default model (bitjit-stories, a "
                 "2.7M-parameter story model; -m MODEL for a real one)\n");
  }
  auto model = LoadModelFromFlags();
  const int64_t n_ctx = ContextFromFlags(*model);
  if (FLAGS_chat || FLAGS_cnv)
    return RunChat(*model, params, FLAGS_system, n_ctx, FLAGS_chat_template);

  const auto prompt = PromptIds(*model);
  GenerationSession session(*model, n_ctx);
  std::vector<float> logits_rows;
  std::string text;
  const int64_t vocab = model->config().n_vocab;
  if (!FLAGS_logits_out.empty()) logits_rows.reserve(static_cast<size_t>(params.n_predict) * vocab);
  auto on_token = [&](int32_t, std::span<const float> logits, std::string_view piece) {
    if (!FLAGS_logits_out.empty())
      logits_rows.insert(logits_rows.end(), logits.begin(), logits.end());
    text += piece;
    if (!FLAGS_json) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    }
    return true;
  };
  const GenerateResult r = session.Generate(prompt, params, on_token);
  if (!FLAGS_logits_out.empty()) WriteF32File(FLAGS_logits_out, logits_rows);
  const int n_gen = static_cast<int>(r.ids.size());
  const double decode_tps = r.decode_seconds > 0 && n_gen > 1 ? (n_gen - 1) / r.decode_seconds : 0;
  const double prompt_tps = r.prompt_seconds > 0 ? r.n_prompt / r.prompt_seconds : 0;
  if (FLAGS_json) {
    nlohmann::json out = {{"prompt_ids", prompt},
                          {"ids", r.ids},
                          {"text", text},
                          {"stop_reason", r.stop_reason},
                          {"timings",
                           {{"prompt_tokens", r.n_prompt},
                            {"prompt_seconds", r.prompt_seconds},
                            {"prompt_tokens_per_second", prompt_tps},
                            {"generated_tokens", n_gen},
                            {"decode_seconds", r.decode_seconds},
                            {"decode_tokens_per_second", decode_tps},
                            {"draft_tokens", r.n_drafted},
                            {"draft_accepted", r.n_accepted},
                            {"isa", model->isa_name()}}}};
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("\n");
    if (!FLAGS_quiet) {
      std::fprintf(stderr,
                   "\nprompt: %d tokens, %.1f tok/s | generated: %d tokens, %.2f tok/s (%s)\n",
                   r.n_prompt, prompt_tps, n_gen, decode_tps, r.stop_reason.c_str());
      if (params.draft.enabled())
        std::fprintf(stderr, "draft: %d of %d drafted tokens accepted\n", r.n_accepted,
                     r.n_drafted);
    }
  }
  return 0;
}

}  // namespace

BITJIT_COMMAND(run, "run", "generate text from a prompt (streamed), or chat with --chat",
               "[-m MODEL] [-p TEXT | -f FILE | --prompt-ids 1,2,3] [-n N] [--temp T] [--draft "
               "ngram[:N]] ... [--json]",
               {BITJIT_MODEL_FLAGS, "plan_cache",
                "p",
                "f",
                "prompt_ids",
                "n",
                "temp",
                "top_k",
                "top_p",
                "min_p",
                "repeat_penalty",
                "repeat_last_n",
                "seed",
                "ignore_eos",
                "json",
                "logits_out",
                "chat",
                "cnv",
                "system",
                "chat_template",
                "draft"},
               &RunRun);

}  // namespace bitjit::cli
