// llama-cli: bitnet.cpp's run_inference.py command line (`llama-cli -m MODEL -n N -t T -p PROMPT
// -ngl 0 -c CTX --temp X -b 1 [-cnv]`) and llama.cpp's spellings of the flags its users pass,
// run on `bitjit run`'s machinery. As llama-cli: the prompt is echoed, then the generated text
// streams to stdout, and timings go to stderr; with -cnv, -p is the system prompt and the turns
// come from stdin.
#include <gflags/gflags.h>

#include <chrono>
#include <climits>
#include <cstdio>

#include "frontend/tokenizer/chat_template.h"
#include "ir/base/error.h"
#include "runtime/generate.h"
#include "tools/chat_loop.h"
#include "tools/command.h"
#include "tools/escape_sequences.h"
#include "tools/flags.h"
#include "tools/id_list.h"
#include "tools/llama_flags.h"
#include "tools/model_loading.h"

DECLARE_double(temp);
DECLARE_int32(top_k);
DECLARE_double(top_p);
DECLARE_double(min_p);
DECLARE_double(repeat_penalty);
DECLARE_int32(repeat_last_n);
DECLARE_bool(ignore_eos);
DECLARE_bool(cnv);
DECLARE_string(system);
DEFINE_bool(escape, true, "turn \\n, \\t, \\', \\\", \\\\ and \\xHH in the prompt into bytes");
DEFINE_bool(display_prompt, true, "print the prompt before the generated text");
DEFINE_string(reverse_prompt, "", "stop generating where this text appears (may be given several times)");
DECLARE_string(chat_template);

namespace bitjit::cli {
namespace {

double Milliseconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since)
      .count();
}

GenerateParams ParamsFromFlags() {
  if (FLAGS_n < -2) Fail("-n must be -1 (no limit), -2 (until the context is full) or more");
  if (FLAGS_temp < 0) FLAGS_temp = 0;  // llama.cpp samples greedily at a negative temperature
  if (FLAGS_top_p <= 0 || FLAGS_top_p > 1) Fail("--top-p must be in (0, 1]");
  if (FLAGS_min_p < 0 || FLAGS_min_p > 1) Fail("--min-p must be in [0, 1]");
  if (FLAGS_repeat_penalty <= 0) Fail("--repeat-penalty must be positive");
  GenerateParams p;
  p.n_predict = FLAGS_n < 0 ? INT_MAX : FLAGS_n;
  p.stop_at_context_end = FLAGS_n < 0;
  p.ignore_eos = FLAGS_ignore_eos;
  p.n_batch = PromptBatch();
  p.sampler.temperature = static_cast<float>(FLAGS_temp);
  p.sampler.top_k = FLAGS_top_k;
  p.sampler.top_p = static_cast<float>(FLAGS_top_p);
  p.sampler.min_p = static_cast<float>(FLAGS_min_p);
  p.sampler.repeat_penalty = static_cast<float>(FLAGS_repeat_penalty);
  p.sampler.repeat_last_n = FLAGS_repeat_last_n;
  p.sampler.seed = SeedFromLlamaFlag();
  return p;
}

std::string PromptText() {
  if (!FLAGS_p.empty() && !FLAGS_f.empty()) Fail("give -p or -f, not both");
  const std::string text = !FLAGS_f.empty() ? ReadTextFile(FLAGS_f) : FLAGS_p;
  return FLAGS_escape ? ProcessEscapes(text) : text;
}

// -r may be given several times (main.cc joins repeated values with newlines).
std::vector<std::string> ReversePrompts() {
  std::vector<std::string> prompts;
  if (FLAGS_reverse_prompt.empty()) return prompts;
  size_t from = 0;
  while (true) {
    const size_t end = FLAGS_reverse_prompt.find('\n', from);
    const std::string one = FLAGS_reverse_prompt.substr(from, end - from);
    prompts.push_back(FLAGS_escape ? ProcessEscapes(one) : one);
    if (end == std::string::npos) break;
    from = end + 1;
  }
  return prompts;
}

// llama.cpp's closing summary, on stderr.
void PrintTimings(double load_ms, const GenerateResult& r, double total_ms) {
  const int n_gen = static_cast<int>(r.ids.size());
  auto line = [](const char* what, double ms, int n, const char* unit) {
    std::fprintf(stderr,
                 "llama_perf_context_print: %16s = %10.2f ms / %5d %-6s (%8.2f ms per token, "
                 "%8.2f tokens per second)\n",
                 what, ms, n, unit, n > 0 ? ms / n : 0.0, ms > 0 ? 1e3 * n / ms : 0.0);
  };
  std::fprintf(stderr, "\nllama_perf_context_print: %16s = %10.2f ms\n", "load time", load_ms);
  line("prompt eval time", r.prompt_seconds * 1e3, r.n_prompt, "tokens");
  line("eval time", r.decode_seconds * 1e3, n_gen, "runs");
  std::fprintf(stderr, "llama_perf_context_print: %16s = %10.2f ms / %5d tokens\n", "total time",
               total_ms, r.n_prompt + n_gen);
}

int RunLlamaCli(const Args& args) {
  if (!args.positional.empty()) Fail("unexpected argument '", args.positional[0], "'");
  NoteLlamaFlags("llama-cli");
  if (!FLAGS_chat_template.empty()) ParseChatTemplate(FLAGS_chat_template);  // before loading
  GenerateParams params = ParamsFromFlags();
  const std::string prompt_text = PromptText();
  params.reverse_prompts = ReversePrompts();
  const auto start = std::chrono::steady_clock::now();
  if (UsingDefaultModel() && !FLAGS_quiet) {
    std::fprintf(stderr,
                 "note: no -m given: running the embedded default model (bitjit-stories, a "
                 "2.7M-parameter story model; -m MODEL for a real one)\n");
  }
  auto model = LoadModelFromFlags();
  const double load_ms = Milliseconds(start);
  if (FLAGS_cnv) {
    // As llama-cli: in conversation mode -p is the system prompt (-sys wins when both are given).
    const std::string system = !FLAGS_system.empty() ? FLAGS_system : prompt_text;
    return RunChat(*model, params, system, FLAGS_c, FLAGS_chat_template);
  }
  if (!FLAGS_system.empty()) Fail("-sys is the system prompt of -cnv; add -cnv or drop it");
  const Tokenizer& tok = model->tokenizer();
  const auto prompt = tok.Encode(prompt_text, /*add_bos=*/true, /*parse_special=*/true);
  if (prompt.empty()) Fail("the prompt is empty (give -p TEXT or -f FILE)");
  GenerationSession session(*model, FLAGS_c);
  if (FLAGS_display_prompt) {
    // llama-cli echoes the prompt's token pieces. For a sentencepiece vocabulary they differ
    // from the text: the prefix space shows (" Once upon a time").
    const std::string echo = tok.model() == TokenizerModel::kSpm ? tok.Decode(prompt) : prompt_text;
    std::fwrite(echo.data(), 1, echo.size(), stdout);
    std::fflush(stdout);
  }
  const GenerateResult r = session.Generate(
      prompt, params, [&](int32_t, std::span<const float>, std::string_view piece) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
        return true;
      });
  std::printf("\n");
  std::fflush(stdout);
  if (!FLAGS_quiet) PrintTimings(load_ms, r, Milliseconds(start));
  return 0;
}

}  // namespace

BITJIT_COMMAND(
    llama_cli, "llama-cli", "llama.cpp's llama-cli: generate text, or chat with -cnv",
    "-m MODEL -p PROMPT [-n N] [-t T] [-c CTX] [--temp X] [-b N] [-ngl 0] [-cnv [-sys TEXT]]",
    {BITJIT_MODEL_FLAGS,
     "p",
     "f",
     "n",
     "temp",
     "top_k",
     "top_p",
     "min_p",
     "repeat_penalty",
     "repeat_last_n",
     "llama_seed",
     "ignore_eos",
     "cnv",
     "system",
     "escape",
     "display_prompt",
     "reverse_prompt",
     "chat_template",
     "n_gpu_layers",
     "flash_attn",
     "mlock",
     "mmap",
     "batch_size",
     "ubatch_size",
     "log_disable"},
    &RunLlamaCli,
    {{"-m", "m"},
     {"--model", "m"},
     {"-p", "p"},
     {"--prompt", "p"},
     {"-f", "f"},
     {"--file", "f"},
     {"-n", "n"},
     {"--n-predict", "n"},
     {"--predict", "n"},
     {"-t", "t"},
     {"--threads", "t"},
     {"-c", "c"},
     {"--ctx-size", "c"},
     {"-b", "batch_size"},
     {"--batch-size", "batch_size"},
     {"-ub", "ubatch_size"},
     {"--ubatch-size", "ubatch_size"},
     {"-s", "llama_seed"},
     {"--seed", "llama_seed"},
     {"-e", "escape"},
     {"--escape", "escape"},
     {"-cnv", "cnv"},
     {"--conversation", "cnv"},
     {"-sys", "system"},
     {"--system-prompt", "system"},
     {"-r", "reverse_prompt"},
     {"--reverse-prompt", "reverse_prompt"},
     {"-ngl", "n_gpu_layers"},
     {"--n-gpu-layers", "n_gpu_layers"},
     {"--gpu-layers", "n_gpu_layers"},
     {"-fa", "flash_attn"},
     {"--flash-attn", "flash_attn"}},
    {{"n", "-1"}}, RefusedLlamaFlags(), {"reverse_prompt"});

}  // namespace bitjit::cli
