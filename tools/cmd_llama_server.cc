// llama-server: bitnet.cpp's run_inference_server.py command line (`llama-server -m MODEL -c CTX
// -t T -n N -ngl 0 --temp X --host H --port P -cb [-p SYSTEM_PROMPT]`) and llama-server's other
// common flags, served by `bitjit serve` (tools/cmd_serve.cc). As llama-server: -c is the
// context of all -np slots together, -n and --temp are the defaults of requests that do not
// set max_tokens and temperature, and -p is the system prompt of chats that bring none.
#include <gflags/gflags.h>

#include <cstdio>

#include "ir/base/error.h"
#include "tools/command.h"
#include "tools/flags.h"
#include "tools/llama_flags.h"

DECLARE_int32(v);
DECLARE_int32(parallel);
DECLARE_int32(timeout);  // bitjit serve's, the same meaning (tools/cmd_serve.cc)
DEFINE_bool(cont_batching, true, "continuous batching (bitjit's server always batches)");
DECLARE_bool(metrics);  // tools/cmd_serve.cc, as are --api-key and --api-key-file

namespace bitjit::cli {
namespace {

bool Given(const char* flag) {
  return !gflags::GetCommandLineFlagInfoOrDie(flag).is_default;
}

int RunLlamaServer(const Args& args) {
  NoteLlamaFlags("llama-server");
  if (FLAGS_parallel < 1) Fail("-np must be at least 1");
  if (FLAGS_c < 0) Fail("-c must not be negative");
  // llama-server shares -c among its slots; bitjit serve's -c is one slot's.
  if (FLAGS_c > 0) {
    if (FLAGS_c < FLAGS_parallel) Fail("-c ", FLAGS_c, " is less than one token per slot of -np");
    FLAGS_c /= FLAGS_parallel;
  }
  if (FLAGS_v > 0) {
    if (Given("cont_batching")) {
      std::fprintf(stderr,
                   "note: llama-server: -cb: bitjit's server always batches continuously\n");
    }
  }
  const Command* serve = FindCommand("serve");
  if (serve == nullptr) Fail("bitjit was built without its serve command");
  return serve->run(args);
}

}  // namespace

BITJIT_COMMAND(
    llama_server, "llama-server",
    "llama.cpp's llama-server: OpenAI-compatible HTTP server (bitjit serve)",
    "-m MODEL [-c CTX] [-t T] [-n N] [--temp X] [--host H] [--port P] [-np N] [-cb] [-p SYSTEM] "
    "[--api-key KEY] [--metrics]",
    {BITJIT_MODEL_FLAGS, "host", "port", "parallel", "queue", "alias", "server_n_predict",
     "server_temp", "server_system", "cont_batching", "timeout", "metrics", "api_key",
     "api_key_file", "n_gpu_layers", "flash_attn", "mlock", "mmap", "log_disable"},
    &RunLlamaServer,
    {{"-m", "m"},
     {"--model", "m"},
     {"-c", "c"},
     {"--ctx-size", "c"},
     {"-t", "t"},
     {"--threads", "t"},
     {"-n", "server_n_predict"},
     {"--n-predict", "server_n_predict"},
     {"--predict", "server_n_predict"},
     {"--temp", "server_temp"},
     {"-p", "server_system"},
     {"--prompt", "server_system"},
     {"-sys", "server_system"},
     {"--system-prompt", "server_system"},
     {"-np", "parallel"},
     {"--parallel", "parallel"},
     {"-cb", "cont_batching"},
     {"--cont-batching", "cont_batching"},
     {"-a", "alias"},
     {"--alias", "alias"},
     {"-to", "timeout"},
     {"--timeout", "timeout"},
     {"-ngl", "n_gpu_layers"},
     {"--n-gpu-layers", "n_gpu_layers"},
     {"--gpu-layers", "n_gpu_layers"},
     {"-fa", "flash_attn"},
     {"--flash-attn", "flash_attn"}},
    {{"parallel", "1"}, {"server_temp", "0.8"}}, [] {
      auto refused = RefusedLlamaFlags();
      refused.push_back({"--embedding", "bitjit's server has no embeddings endpoint"});
      return refused;
    }());

}  // namespace bitjit::cli
