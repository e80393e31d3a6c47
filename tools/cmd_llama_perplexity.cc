// llama-perplexity: `llama-perplexity -m MODEL -f FILE [-c N] [-b N] [-t T]`, measured by
// `bitjit perplexity` (tools/cmd_perplexity.cc), which already prints llama-perplexity's
// running values "[1]8.1234,[2]..." and its closing "Final estimate: PPL = X +/- Y".
#include <gflags/gflags.h>

#include "ir/base/error.h"
#include "tools/command.h"
#include "tools/flags.h"
#include "tools/llama_flags.h"

DECLARE_int32(batch);

namespace bitjit::cli {
namespace {

int RunLlamaPerplexity(const Args& args) {
  NoteLlamaFlags("llama-perplexity");
  // llama-perplexity evaluates each window in -b sized batches (default 2048, at least the
  // window: one batch per window). Smaller batches are the same scores in more steps.
  if (!gflags::GetCommandLineFlagInfoOrDie("batch_size").is_default ||
      !gflags::GetCommandLineFlagInfoOrDie("ubatch_size").is_default) {
    FLAGS_batch = PromptBatch();
  }
  const Command* perplexity = FindCommand("perplexity");
  if (perplexity == nullptr) Fail("bitjit was built without its perplexity command");
  return perplexity->run(args);
}

}  // namespace

BITJIT_COMMAND(llama_perplexity, "llama-perplexity",
               "llama.cpp's llama-perplexity: perplexity of a text file",
               "-m MODEL -f FILE [-c 512] [-b N] [-t T]",
               {BITJIT_MODEL_FLAGS, "f", "batch_size", "ubatch_size", "n_gpu_layers", "flash_attn",
                "mlock", "mmap", "log_disable"},
               &RunLlamaPerplexity,
               {{"-m", "m"},
                {"--model", "m"},
                {"-f", "f"},
                {"--file", "f"},
                {"-c", "c"},
                {"--ctx-size", "c"},
                {"-t", "t"},
                {"--threads", "t"},
                {"-b", "batch_size"},
                {"--batch-size", "batch_size"},
                {"-ub", "ubatch_size"},
                {"--ubatch-size", "ubatch_size"},
                {"-ngl", "n_gpu_layers"},
                {"--n-gpu-layers", "n_gpu_layers"},
                {"-fa", "flash_attn"},
                {"--flash-attn", "flash_attn"}},
               {}, [] {
                 auto refused = RefusedLlamaFlags();
                 refused.push_back({"--ppl-stride", "strided perplexity is not implemented"});
                 refused.push_back({"--chunks", "bitjit scores every window of the file"});
                 refused.push_back({"--hellaswag",
                                    "benchmarks other than perplexity are not "
                                    "implemented"});
                 refused.push_back({"--kl-divergence", "KL divergence is not implemented"});
                 return refused;
               }());

}  // namespace bitjit::cli
