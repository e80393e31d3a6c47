// A Hugging Face checkpoint directory as `bitjit convert` reads it: config.json (the
// architecture and dims) and the weights, one model.safetensors or shards listed by
// model.safetensors.index.json. Every file is checked as untrusted input (bounded JSON, shard
// names that stay inside the directory, tensors that exist once).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frontend/hf/safetensors_file.h"

namespace bitjit::hf {

// JSON files of a checkpoint are read up to this size (tokenizer.json of a 128K vocabulary is
// ~9 MB).
inline constexpr uint64_t kMaxJsonFileBytes = uint64_t{256} << 20;

// A JSON file of the checkpoint (bounded size and nesting). `on_top_key` sees the top-level
// object's keys in file order (nlohmann's objects sort them). Throws bitjit::Error.
nlohmann::json ReadJsonFile(
    const std::string& path,
    const std::function<void(const std::string& key)>& on_top_key = nullptr);

struct HfConfig {
  std::string architecture;  // config.json's architectures[0]
  std::string arch;          // the GGUF arch it becomes: kBitnetArch or kLlamaArch
  int64_t n_embd = 0, n_ff = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_vocab = 0, n_ctx = 0;
  float rms_eps = 1e-5f;
  double rope_base = 10000.0;
  bool tied = false;  // tie_word_embeddings
  std::optional<int64_t> bos_id, eos_id, pad_id, unk_id;
};

// Reads and checks config.json: BitNetForCausalLM or BitnetForCausalLM (-> bitnet-b1.58) or
// LlamaForCausalLM
// (-> llama), positive dims, head_dim == hidden_size / num_attention_heads. Throws bitjit::Error.
HfConfig ReadHfConfig(const std::string& dir);

class HfCheckpoint {
 public:
  static std::unique_ptr<HfCheckpoint> Open(const std::string& dir);

  // The tensors in the order BitNet's converter reads them: shards sorted by file name, each
  // shard's tensors sorted by name.
  const std::vector<const SafetensorsTensor*>& tensors() const { return order_; }
  const SafetensorsTensor* Find(const std::string& name) const;

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  std::vector<const SafetensorsTensor*> order_;
};

}  // namespace bitjit::hf
