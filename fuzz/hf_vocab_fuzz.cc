// libFuzzer target: `bitjit convert`'s tokenizer reader (frontend/hf/hf_vocab.h) on arbitrary
// tokenizer.json and tokenizer_config.json, the two files of a Hugging Face checkpoint that
// carry the most structure (a vocabulary object, merges, added tokens, special-token entries in
// several shapes, a pre-tokenizer, a chat template). Input: one byte choosing config.json's
// vocab_size and special ids (so that most inputs get past config.json, which has its own
// tests), then tokenizer_config.json, the separator "\n@@@\n", then tokenizer.json. The files
// are written to a tmpfs folder and read with the production code. The outcome is a
// bitjit::Error or a vocabulary that keeps the reader's promises: exactly vocab_size tokens,
// one type per token, every type one of GGUF's token types; anything else aborts, so libFuzzer
// records it as a crash, as it does ASan / UBSan reports.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "frontend/hf/hf_checkpoint.h"
#include "frontend/hf/hf_vocab.h"
#include "ir/base/error.h"

namespace {

// The checkpoint folder every input is written to, removed when the fuzzer exits.
struct Folder {
  Folder() {
    const std::string base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
    path = base + "/bitjit-hf-vocab-fuzz-" + std::to_string(::getpid());
    std::filesystem::create_directories(path);
  }
  ~Folder() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string path;
};

void Write(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bitjit;
  if (size < 1) return 0;
  const int vocab = 4 + data[0] % 64;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t cut = rest.find("\n@@@\n");
  const std::string_view tokenizer_config =
      cut == std::string_view::npos ? std::string_view() : rest.substr(0, cut);
  const std::string_view tokenizer = cut == std::string_view::npos ? rest : rest.substr(cut + 5);
  static const Folder folder;
  const std::string& dir = folder.path;
  Write(dir + "/config.json",
        "{\"architectures\": [\"LlamaForCausalLM\"], \"hidden_size\": 64, "
        "\"intermediate_size\": 128, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, "
        "\"num_key_value_heads\": 1, \"vocab_size\": " +
            std::to_string(vocab) + ", \"max_position_embeddings\": 128, \"bos_token_id\": " +
            std::to_string(data[0] & 3) + ", \"eos_token_id\": " + std::to_string(vocab - 1) + "}");
  std::filesystem::remove(dir + "/tokenizer_config.json");
  if (cut != std::string_view::npos) Write(dir + "/tokenizer_config.json", tokenizer_config);
  Write(dir + "/tokenizer.json", tokenizer);
  try {
    const hf::HfConfig config = hf::ReadHfConfig(dir);
    const hf::HfVocab v(dir, config);
    if (v.tokens().size() != static_cast<size_t>(config.n_vocab)) std::abort();
    if (v.token_types().size() != v.tokens().size()) std::abort();
    for (int32_t t : v.token_types())
      if (t < 1 || t > 6) std::abort();
  } catch (const Error&) {
  }
  return 0;
}
