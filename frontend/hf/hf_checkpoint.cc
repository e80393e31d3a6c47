#include "frontend/hf/hf_checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include "frontend/hf/bounded_json.h"
#include "frontend/model/model_config.h"
#include "ir/base/error.h"

namespace bitjit::hf {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// config.json and the index are flat; tokenizer.json nests normalizer / pre_tokenizer sequences
// a few levels deep.
constexpr int kMaxJsonDepth = 16;

int64_t Dim(const json& config, const char* key, const std::string& file, bool required = true,
            int64_t fallback = 0) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) {
    if (required) Fail(file, ": missing \"", key, "\"");
    return fallback;
  }
  if (!it->is_number_integer() || it->get<int64_t>() <= 0 ||
      it->get<int64_t>() > (int64_t{1} << 31)) {
    Fail(file, ": \"", key, "\" is not a positive integer below 2^31");
  }
  return it->get<int64_t>();
}

std::optional<int64_t> TokenId(const json& config, const char* key) {
  const auto it = config.find(key);
  if (it == config.end() || !it->is_number_integer() || it->get<int64_t>() < 0) {
    return std::nullopt;
  }
  return it->get<int64_t>();
}

}  // namespace

json ReadJsonFile(const std::string& path,
                  const std::function<void(const std::string& key)>& on_top_key) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) Fail(path, " is missing or not a regular file");
  const uint64_t size = fs::file_size(path, ec);
  if (ec || size > kMaxJsonFileBytes) {
    Fail(path, ": ", size, " bytes, more than the ", kMaxJsonFileBytes, " a JSON file may have");
  }
  std::ifstream in(path, std::ios::binary);
  std::string text(size, '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(size))) Fail("cannot read ", path);
  return ParseBoundedJson(text, kMaxJsonDepth, path, on_top_key);
}

namespace {

// Bounds that keep every size computation far from overflow and memory in reason (the largest
// real vocabularies have ~256K tokens).
constexpr int64_t kMaxVocab = int64_t{1} << 22, kMaxEmbd = int64_t{1} << 16,
                  kMaxFf = int64_t{1} << 18, kMaxLayers = 1024;

HfConfig ReadConfig(const std::string& dir);

}  // namespace

HfConfig ReadHfConfig(const std::string& dir) {
  try {
    return ReadConfig(dir);
  } catch (const json::exception& e) {
    Fail(dir, "/config.json: a field of an unexpected type (", std::string(e.what()).substr(0, 120),
         ")");
  }
}

namespace {

HfConfig ReadConfig(const std::string& dir) {
  const std::string file = dir + "/config.json";
  const json config = ReadJsonFile(file);
  if (!config.is_object()) Fail(file, ": not a JSON object");
  HfConfig c;
  const auto archs = config.find("architectures");
  if (archs == config.end() || !archs->is_array() || archs->empty() || !(*archs)[0].is_string()) {
    Fail(file, ": no \"architectures\" list");
  }
  c.architecture = (*archs)[0].get<std::string>();
  // 1bitLLM's bitnet_b1_58 checkpoints spell it BitnetForCausalLM; the converter registers both.
  if (c.architecture == "BitNetForCausalLM" || c.architecture == "BitnetForCausalLM") {
    c.arch = kBitnetArch;
  } else if (c.architecture == "LlamaForCausalLM") {
    c.arch = kLlamaArch;
  } else {
    Fail(file, ": architecture '", c.architecture.substr(0, 64),
         "' is not one bitjit converts (BitNetForCausalLM, BitnetForCausalLM, "
         "LlamaForCausalLM)");
  }
  c.n_embd = Dim(config, "hidden_size", file);
  c.n_ff = Dim(config, "intermediate_size", file);
  c.n_layer = Dim(config, "num_hidden_layers", file);
  c.n_head = Dim(config, "num_attention_heads", file);
  c.n_head_kv = Dim(config, "num_key_value_heads", file, false, c.n_head);
  c.n_vocab = Dim(config, "vocab_size", file);
  c.n_ctx = Dim(config, "max_position_embeddings", file);
  if (c.n_embd % c.n_head != 0 || c.n_head % c.n_head_kv != 0) {
    Fail(file, ": hidden_size ", c.n_embd, ", ", c.n_head, " heads and ", c.n_head_kv,
         " KV heads do not divide evenly");
  }
  if (Dim(config, "head_dim", file, false, c.n_embd / c.n_head) != c.n_embd / c.n_head) {
    Fail(file,
         ": head_dim differs from hidden_size / num_attention_heads (bitjit needs them equal)");
  }
  if (const auto it = config.find("rms_norm_eps"); it != config.end()) {
    if (!it->is_number() || !(it->get<double>() > 0 && it->get<double>() < 1)) {
      Fail(file, ": rms_norm_eps is not a number in (0, 1)");
    }
    c.rms_eps = static_cast<float>(it->get<double>());
  }
  if (const auto it = config.find("rope_theta"); it != config.end()) {
    if (!it->is_number() || !(it->get<double>() > 1 && it->get<double>() < 1e12)) {
      Fail(file, ": rope_theta is not a number in (1, 1e12)");
    }
    c.rope_base = it->get<double>();
  }
  if (const auto it = config.find("rope_scaling"); it != config.end() && !it->is_null()) {
    Fail(file, ": rope_scaling is set; bitjit converts only unscaled RoPE");
  }
  if (const auto it = config.find("tie_word_embeddings"); it != config.end()) {
    if (!it->is_boolean()) Fail(file, ": tie_word_embeddings is not true or false");
    c.tied = it->get<bool>();
  }
  for (const auto& [key, value, limit] : {std::tuple{"vocab_size", c.n_vocab, kMaxVocab},
                                          std::tuple{"hidden_size", c.n_embd, kMaxEmbd},
                                          std::tuple{"intermediate_size", c.n_ff, kMaxFf},
                                          std::tuple{"num_hidden_layers", c.n_layer, kMaxLayers}}) {
    if (value > limit) Fail(file, ": \"", key, "\" ", value, " is above bitjit's limit of ", limit);
  }
  if ((c.n_embd / c.n_head) % 2 != 0) {
    Fail(file, ": head dimension ", c.n_embd / c.n_head, " is odd (RoPE rotates pairs)");
  }
  c.bos_id = TokenId(config, "bos_token_id");
  c.eos_id = TokenId(config, "eos_token_id");
  c.pad_id = TokenId(config, "pad_token_id");
  c.unk_id = TokenId(config, "unk_token_id");
  return c;
}

}  // namespace

std::unique_ptr<HfCheckpoint> HfCheckpoint::Open(const std::string& dir) {
  std::vector<std::string> shard_names;
  std::map<std::string, std::string> weight_map;  // tensor -> shard, from the index
  const std::string index_path = dir + "/model.safetensors.index.json";
  std::error_code ec;
  if (fs::exists(index_path, ec)) {
    const json index = ReadJsonFile(index_path);
    const auto map = index.is_object() ? index.find("weight_map") : index.end();
    if (map == index.end() || !map->is_object()) Fail(index_path, ": no \"weight_map\" object");
    std::set<std::string> names;
    for (const auto& [tensor, shard] : map->items()) {
      if (!shard.is_string()) Fail(index_path, ": the shard of '", tensor, "' is not a string");
      const std::string name = shard.get<std::string>();
      // A shard is a file of this directory: no path, no "..", nothing hidden.
      if (name.empty() || name.find('/') != std::string::npos || name.front() == '.' ||
          name.find('\0') != std::string::npos) {
        Fail(index_path, ": shard name '", name.substr(0, 64), "' is not a file of ", dir);
      }
      names.insert(name);
      weight_map[tensor] = name;
    }
    shard_names.assign(names.begin(), names.end());  // sorted
  } else if (fs::exists(dir + "/model.safetensors", ec)) {
    shard_names = {"model.safetensors"};
  } else {
    Fail(dir, " has neither model.safetensors nor model.safetensors.index.json");
  }
  std::unique_ptr<HfCheckpoint> c(new HfCheckpoint());
  std::set<std::string> seen;
  for (const std::string& name : shard_names) {
    c->shards_.push_back(SafetensorsFile::Open(dir + "/" + name));
    for (const SafetensorsTensor& t : c->shards_.back()->tensors()) {
      if (!seen.insert(t.name).second) Fail(dir, ": tensor '", t.name, "' is in two shards");
      if (!weight_map.empty()) {
        const auto it = weight_map.find(t.name);
        if (it == weight_map.end() || it->second != name) {
          Fail(dir, "/", name, ": tensor '", t.name, "' is not listed for this shard in the index");
        }
      }
      c->order_.push_back(&t);
    }
  }
  for (const auto& [tensor, shard] : weight_map) {
    if (!seen.count(tensor)) Fail(index_path, ": tensor '", tensor, "' is not in ", shard);
  }
  return c;
}

const SafetensorsTensor* HfCheckpoint::Find(const std::string& name) const {
  for (const auto& shard : shards_)
    if (const SafetensorsTensor* t = shard->Find(name)) return t;
  return nullptr;
}

}  // namespace bitjit::hf
