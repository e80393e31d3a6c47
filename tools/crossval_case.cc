#include "tools/crossval_case.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>

#include "ir/base/error.h"
#include "tools/id_list.h"

namespace bitjit::cli {
namespace {

// Raw little-endian float32, exactly `count` values.
std::vector<float> ReadF32(const std::string& path, size_t count) {
  const std::string bytes = ReadTextFile(path);
  if (bytes.size() != count * sizeof(float)) {
    Fail(path, " has ", bytes.size(), " bytes; case.json's shape needs ", count * sizeof(float));
  }
  std::vector<float> values(count);
  std::memcpy(values.data(), bytes.data(), bytes.size());
  return values;
}

}  // namespace

CrossvalCase ReadCrossvalCase(const std::string& dir) {
  CrossvalCase c;
  c.dir = dir;
  c.name = std::filesystem::path(dir).lexically_normal().filename().string();
  if (c.name.empty()) c.name = std::filesystem::path(dir).parent_path().filename().string();
  const std::string json_path = dir + "/case.json";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ReadTextFile(json_path));
    if (j.contains("name")) c.name = j["name"].get<std::string>();
    c.prompt = j.at("prompt").get<std::string>();
    c.prompt_ids = j.at("prompt_ids").get<std::vector<int32_t>>();
    c.greedy_ids = j.at("greedy_ids").get<std::vector<int32_t>>();
    c.n_vocab = j.at("dims").at("n_vocab").get<int64_t>();
    const auto& files = j.at("files");
    if (files.contains("model")) c.model_path = dir + "/" + files["model"].get<std::string>();
    if (c.prompt_ids.empty() || c.greedy_ids.empty() || c.n_vocab <= 0) {
      Fail(json_path, ": prompt_ids, greedy_ids and dims.n_vocab must not be empty");
    }
    const size_t vocab = static_cast<size_t>(c.n_vocab);
    c.step_logits = ReadF32(dir + "/" + files.at("step_logits").get<std::string>(),
                            c.greedy_ids.size() * vocab);
    c.prompt_logits = ReadF32(dir + "/" + files.at("prompt_logits").get<std::string>(),
                              c.prompt_ids.size() * vocab);
  } catch (const nlohmann::json::exception& e) {
    Fail(json_path, ": ", e.what());
  }
  return c;
}

}  // namespace bitjit::cli
