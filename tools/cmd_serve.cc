// bitjit serve: an OpenAI-compatible HTTP server (POST /v1/chat/completions, POST
// /v1/completions, GET /v1/models, GET /health) that also speaks llama-server's own API
// (/completion, /tokenize, /props, /slots, /metrics ...; tools/server/http_server.h), with
// continuous batching: up to --parallel requests are generated together, one forward pass per
// step (tools/server/scheduler.h).
//
// Lifecycle: SIGINT and SIGTERM are blocked in every thread (the mask is set before any thread
// starts) and taken by sigwait in the main thread, which then drains: new requests get 503 (and
// /health 503 "draining", so that a load balancer sends no more), the requests already in run
// to their end for up to --timeout seconds (a second signal cuts that short), then the scheduler
// ends what is left and the HTTP server stops, and the process returns 0.
#include <gflags/gflags.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "ir/base/error.h"
#include "tools/command.h"
#include "tools/context_size.h"
#include "tools/draft_flag.h"
#include "tools/flags.h"
#include "tools/model_loading.h"

#include <pthread.h>

#include "tools/server/api_key.h"
#include "tools/server/http_server.h"
#include "tools/server/request_origin.h"
#include "tools/server/scheduler.h"

DEFINE_string(host, "127.0.0.1", "address to listen on");
DEFINE_int32(port, 8080, "port to listen on (0 = any free port; the one taken is printed)");
DEFINE_int32(parallel, 4, "requests generated together (KV cache slots)");
DEFINE_int32(queue, -1,
             "requests that may wait for a slot, at most 1024; more get HTTP 503 (-1 = 2 x "
             "--parallel)");
DEFINE_string(allowed_hosts, "",
              "host names clients may address requests to, comma-separated, besides localhost "
              "and IP addresses (others get 403: DNS rebinding)");
DEFINE_string(cors, "",
              "origins allowed to call the API from a browser, comma-separated "
              "(\"https://app.example\"); none by default");
DEFINE_int32(max_connections, -1,
             "connections open at once, each on a thread; more get HTTP 503 at once (-1 = "
             "--parallel + --queue + 512)");
DEFINE_int32(prefill_chunk, 256,
             "prompt tokens evaluated per step across all requests, between the other "
             "requests' decode steps (llama-server's -ub); 2..65536");
DEFINE_bool(cache_prompt, true,
            "reuse the cached prefix a free slot shares with a new prompt (--no-cache-prompt: "
            "evaluate every prompt whole)");
DEFINE_int32(timeout, 600,
             "seconds a client may take to read what is written to it, and that running "
             "requests get to finish after SIGTERM (1..86400)");
DEFINE_int32(request_read_timeout, 10,
             "seconds a client has to send a request, headers and body, from its first byte "
             "(1..3600); a slower one is disconnected");

DEFINE_bool(metrics, false, "serve GET /metrics (Prometheus text, llama-server's names)");
DEFINE_string(api_key, "",
              "API keys, comma-separated: every route but /health then needs "
              "'Authorization: Bearer KEY' (others get 401)");
DEFINE_string(api_key_file, "", "a file of API keys, one a line (with or instead of --api-key)");

// Defaults for requests that leave these out (llama-server's -n, --temp and -p; tools/
// cmd_llama_server.cc). Unset, requests get OpenAI's defaults.
DEFINE_string(alias, "", "the model's name for clients (default: the model file's stem)");
DEFINE_int32(server_n_predict, -1,
             "tokens per reply when a request sets no max_tokens (-1 = no limit)");
DEFINE_double(server_temp, -1, "temperature when a request sets none (-1 = OpenAI's 1)");
DEFINE_string(server_system, "", "system prompt for chats that bring none");

namespace bitjit::cli {
namespace {

server::RequestDefaults RequestDefaultsFromFlags() {
  if (FLAGS_server_n_predict < -1) Fail("-n must be -1 (no limit) or more");
  if (FLAGS_server_temp > 2) Fail("--temp must be at most 2");
  server::RequestDefaults d;
  if (FLAGS_server_n_predict >= 0) d.max_tokens = FLAGS_server_n_predict;
  // llama.cpp samples greedily at a temperature of 0 or below; -1 here means "not given".
  if (FLAGS_server_temp != -1) d.temperature = static_cast<float>(std::max(0.0, FLAGS_server_temp));
  d.system_prompt = FLAGS_server_system;
  return d;
}

// Every waiting request holds a connection thread (see n_threads below): the queue is bounded so
// that a typo cannot ask for millions of threads (--queue 100000000 made 32k, then aborted).
constexpr int kMaxQueue = 1024;

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> items;
  size_t begin = 0;
  while (begin <= text.size()) {
    const size_t end = std::min(text.find(',', begin), text.size());
    if (end > begin) items.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return items;
}

// --api-key and --api-key-file together (llama-server takes both).
std::vector<std::string> ApiKeysFromFlags() {
  std::vector<std::string> keys = SplitCommas(FLAGS_api_key);
  if (!FLAGS_api_key_file.empty()) {
    for (std::string& k : server::ReadApiKeyFile(FLAGS_api_key_file)) keys.push_back(std::move(k));
  }
  return keys;
}

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// Takes no new requests and waits until those in are done, `limit` passes, or another signal
// comes.
void DrainRequests(server::Scheduler& scheduler, const sigset_t& signals,
                   std::chrono::seconds limit) {
  scheduler.Drain();
  const auto end = std::chrono::steady_clock::now() + limit;
  const timespec tick{0, 50'000'000};
  while (!scheduler.Idle() && std::chrono::steady_clock::now() < end) {
    if (sigtimedwait(&signals, nullptr, &tick) > 0) return;
  }
}

int RunServe(const Args& args) {
  if (!args.positional.empty()) Fail("serve takes no arguments (got '", args.positional[0], "')");
  // One connection thread per client: glibc would give each busy thread an arena of its own
  // (up to 8 per core) whose free pages stay resident. Two arenas serve the few small
  // allocations of I/O threads as well and keep resident memory flat over a long run.
  mallopt(M_ARENA_MAX, 2);
  if (FLAGS_parallel < 1 || FLAGS_parallel > 256) Fail("--parallel must be in 1..256");
  if (FLAGS_queue < -1 || FLAGS_queue > kMaxQueue) {
    Fail("--queue must be in -1..", kMaxQueue, " (-1: 2 x --parallel; each waiting request ",
         "holds a thread), not ", FLAGS_queue);
  }
  if (FLAGS_request_read_timeout < 1 || FLAGS_request_read_timeout > 3600) {
    Fail("--request-read-timeout must be in 1..3600 seconds, not ", FLAGS_request_read_timeout);
  }
  if (FLAGS_timeout < 1 || FLAGS_timeout > 86400) {
    Fail("--timeout must be in 1..86400 seconds, not ", FLAGS_timeout);
  }
  if (FLAGS_prefill_chunk < 2 || FLAGS_prefill_chunk > 65536) {
    Fail("--prefill-chunk must be in 2..65536 tokens, not ", FLAGS_prefill_chunk);
  }
  if (FLAGS_port < 0 || FLAGS_port > 65535) Fail("--port must be in 0..65535");
  if (FLAGS_c < 0 || FLAGS_c > (1 << 22)) Fail("-c must be in 0..", 1 << 22);
  const int max_waiting = FLAGS_queue < 0 ? 2 * FLAGS_parallel : FLAGS_queue;
  // Every request in a slot or the queue holds a connection: fewer would refuse them.
  if (FLAGS_max_connections != -1 &&
      (FLAGS_max_connections < FLAGS_parallel + max_waiting + 4 || FLAGS_max_connections > 65536)) {
    Fail("--max-connections must be -1 or in ", FLAGS_parallel + max_waiting + 4,
         "..65536 (--parallel + --queue + 4 and up), not ", FLAGS_max_connections);
  }

  // Before the model loads: a bad spec fails at once.
  const DraftParams draft = DraftFromFlags();
  // Read before the model loads: a bad key file fails at once.
  const std::vector<std::string> api_keys = ApiKeysFromFlags();

  // Before any thread starts, so that every thread inherits the mask and only sigwait below
  // ever takes these signals. A write to a client that has gone must fail, not kill us.
  const sigset_t signals = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  if (UsingDefaultModel() && !FLAGS_quiet) {
    std::fprintf(stderr,
                 "note: no -m given: serving the embedded default model (bitjit-stories, a "
                 "2.7M-parameter story model; -m MODEL for a real one)\n");
  }
  auto model = LoadModelFromFlags();
  // Checked before the scheduler reserves every slot's KV cache.
  const int64_t n_ctx = ContextFromFlags(*model, FLAGS_parallel);
  server::SchedulerOptions scheduling;
  scheduling.n_slots = FLAGS_parallel;
  scheduling.n_ctx = n_ctx;
  scheduling.max_waiting = max_waiting;
  scheduling.prefill_chunk = FLAGS_prefill_chunk;
  scheduling.cache_prompt = FLAGS_cache_prompt;
  scheduling.draft = draft;
  if (draft.enabled() && !FLAGS_quiet) {
    std::fprintf(stderr,
                 "note: --draft speeds up greedy requests (temperature 0) only; sampling "
                 "requests decode without drafts\n");
  }
  server::Scheduler scheduler(*model, scheduling);
  server::HttpServerOptions options;
  // Clients name the model by its file's stem (the plan's with --plan).
  options.model_id =
      !FLAGS_alias.empty()
          ? FLAGS_alias
          : std::filesystem::path(FLAGS_plan.empty() ? ModelPathFromFlags() : FLAGS_plan)
                .stem()
                .string();
  options.defaults = RequestDefaultsFromFlags();
  // Every streaming client holds a connection (and its thread) for its whole reply: room for
  // all requests that can be in, and for hundreds of idle or slow clients besides, which
  // --request-read-timeout and the keep-alive timeout (5 s) disconnect.
  options.max_connections = static_cast<size_t>(
      FLAGS_max_connections < 0 ? FLAGS_parallel + max_waiting + 512 : FLAGS_max_connections);
  options.request_read_timeout = std::chrono::seconds(FLAGS_request_read_timeout);
  options.write_timeout = std::chrono::seconds(FLAGS_timeout);
  options.log_requests = !FLAGS_quiet;
  options.allowed_hosts = SplitCommas(FLAGS_allowed_hosts);
  options.cors_origins = SplitCommas(FLAGS_cors);
  options.api_keys = api_keys;
  options.metrics = FLAGS_metrics;
  options.model_path = FLAGS_plan.empty() ? ModelPathFromFlags() : FLAGS_plan;
  server::HttpServer http(*model, scheduler, options);
  const int port = http.Bind(FLAGS_host, FLAGS_port);
  std::thread listener([&] { http.Listen(); });
  if (!server::IsLoopbackHost(FLAGS_host) && options.api_keys.empty()) {
    std::fprintf(stderr,
                 "warning: listening on %s, which other machines can reach, without an API key: "
                 "anyone who can connect can use it (set --api-key or --api-key-file)\n",
                 FLAGS_host.c_str());
  }

  // Tests and scripts read the port from this line (stdout, flushed).
  std::printf(
      "bitjit serve: listening on http://%s:%d (model %s, %d slots of %lld tokens, "
      "queue %d)\n",
      FLAGS_host.c_str(), port, options.model_id.c_str(), FLAGS_parallel,
      static_cast<long long>(scheduler.n_ctx()), max_waiting);
  std::fflush(stdout);

  int signal = 0;
  sigwait(&signals, &signal);
  if (!FLAGS_quiet) {
    std::fprintf(stderr,
                 "bitjit serve: %s, draining: running requests get up to %d s (--timeout) to "
                 "finish; a second signal stops at once\n",
                 strsignal(signal), FLAGS_timeout);
  }
  DrainRequests(scheduler, signals, std::chrono::seconds(FLAGS_timeout));
  if (!FLAGS_quiet) std::fprintf(stderr, "bitjit serve: shutting down\n");
  scheduler.Shutdown();  // ends every request left, so that connection threads can finish
  http.Stop();
  listener.join();
  return 0;
}

}  // namespace

BITJIT_COMMAND(
    serve, "serve", "OpenAI-compatible HTTP server with continuous batching",
    "-m MODEL|--plan PLAN [--host 127.0.0.1] [--port 8080] [--parallel 4] [--queue N] [-c CTX] "
    "[-a|--alias NAME] [--request-read-timeout 10] [--timeout 600] [--prefill-chunk 256] "
    "[--no-cache-prompt] [--allowed-hosts NAMES] [--cors ORIGINS] [--api-key KEY] "
    "[--api-key-file F] [--metrics] [--draft ngram[:N]]",
    {BITJIT_MODEL_FLAGS, "plan_cache", "host", "port", "parallel", "queue", "alias", "max_connections",
     "request_read_timeout", "timeout", "prefill_chunk", "cache_prompt", "allowed_hosts", "cors",
     "api_key", "api_key_file", "metrics", "draft"},
    &RunServe, {{"-a", "alias"}});

}  // namespace bitjit::cli
