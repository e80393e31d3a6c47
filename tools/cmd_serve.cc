// bitjit serve: an OpenAI-compatible HTTP server (POST /v1/chat/completions, POST
// /v1/completions, GET /v1/models, GET /health) with continuous batching: up to --parallel
// requests are generated together, one forward pass per step (tools/server/scheduler.h).
//
// Lifecycle: SIGINT and SIGTERM are blocked in every thread (the mask is set before any thread
// starts) and taken by sigwait in the main thread, which then stops the scheduler (ending every
// request) and the HTTP server, and returns 0.
#include <gflags/gflags.h>

#include <algorithm>
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
#include "tools/flags.h"
#include "tools/model_loading.h"

#include <pthread.h>

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
DEFINE_int32(request_read_timeout, 10,
             "seconds a client has to send a request, headers and body, from its first byte "
             "(1..3600); a slower one is disconnected");

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

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

int RunServe(const Args& args) {
  if (!args.positional.empty()) Fail("serve takes no arguments (got '", args.positional[0], "')");
  if (FLAGS_parallel < 1 || FLAGS_parallel > 256) Fail("--parallel must be in 1..256");
  if (FLAGS_queue < -1 || FLAGS_queue > kMaxQueue) {
    Fail("--queue must be in -1..", kMaxQueue, " (-1: 2 x --parallel; each waiting request ",
         "holds a thread), not ", FLAGS_queue);
  }
  if (FLAGS_request_read_timeout < 1 || FLAGS_request_read_timeout > 3600) {
    Fail("--request-read-timeout must be in 1..3600 seconds, not ", FLAGS_request_read_timeout);
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
  server::Scheduler scheduler(*model, FLAGS_parallel, n_ctx, max_waiting);
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
  options.log_requests = !FLAGS_quiet;
  options.allowed_hosts = SplitCommas(FLAGS_allowed_hosts);
  options.cors_origins = SplitCommas(FLAGS_cors);
  server::HttpServer http(*model, scheduler, options);
  const int port = http.Bind(FLAGS_host, FLAGS_port);
  std::thread listener([&] { http.Listen(); });
  if (!server::IsLoopbackHost(FLAGS_host)) {
    std::fprintf(stderr,
                 "warning: listening on %s, which other machines can reach: the API has no "
                 "authentication, anyone who can connect can use it\n",
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
  if (!FLAGS_quiet) std::fprintf(stderr, "bitjit serve: %s, shutting down\n", strsignal(signal));
  scheduler.Shutdown();  // ends every request, so that connection threads can finish
  http.Stop();
  listener.join();
  return 0;
}

}  // namespace

BITJIT_COMMAND(
    serve, "serve", "OpenAI-compatible HTTP server with continuous batching",
    "-m MODEL|--plan PLAN [--host 127.0.0.1] [--port 8080] [--parallel 4] [--queue N] [-c CTX] "
    "[--alias NAME] [--request-read-timeout 10] [--allowed-hosts NAMES] [--cors ORIGINS]",
    {BITJIT_MODEL_FLAGS, "host", "port", "parallel", "queue", "alias", "max_connections",
     "request_read_timeout", "allowed_hosts", "cors"},
    &RunServe);

}  // namespace bitjit::cli
