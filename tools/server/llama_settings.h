// llama-server's "generation_settings" object: the sampling settings of a /completion request
// (in its replies), or of a request that sets nothing (GET /props's default_generation_settings).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "tools/server/completion_request.h"

namespace bitjit::server {

nlohmann::json LlamaGenerationSettings(const CompletionRequest& request, const std::string& model);

}  // namespace bitjit::server
