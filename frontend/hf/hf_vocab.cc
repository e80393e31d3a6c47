#include "frontend/hf/hf_vocab.h"

#include <filesystem>
#include <unordered_map>

#include "frontend/gguf/utf8.h"
#include "ir/base/error.h"

namespace bitjit::hf {
namespace {

using gguf::KvValue;
using nlohmann::json;

constexpr int32_t kNormal = 1, kControl = 3, kUserDefined = 4;

// Llama-3's pre-tokenizer split rule, as tokenizer.json spells it (llama.cpp: llama-bpe).
constexpr char kLlama3Split[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// tokenizer_config.json names special tokens as a string or as {"content": ...}.
std::optional<std::string> TokenText(const json& config, const char* key) {
  const auto it = config.find(key);
  if (it == config.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
    return (*it)["content"].get<std::string>();
  }
  return std::nullopt;
}

// Whether any Split pre-tokenizer in the (possibly nested) pre_tokenizer uses Llama-3's rule.
bool HasLlama3Split(const json& node) {
  if (node.is_object()) {
    const auto pattern = node.find("pattern");
    if (pattern != node.end() && pattern->is_object() && pattern->contains("Regex") &&
        (*pattern)["Regex"] == kLlama3Split) {
      return true;
    }
    for (const auto& [k, v] : node.items())
      if (HasLlama3Split(v)) return true;
  } else if (node.is_array()) {
    for (const json& v : node)
      if (HasLlama3Split(v)) return true;
  }
  return false;
}

}  // namespace

HfVocab::HfVocab(const std::string& dir, const HfConfig& config, const std::string& pre_override) {
  try {
    Read(dir, config, pre_override);
  } catch (const nlohmann::json::exception& e) {
    // A field of an unexpected JSON type (value() and get() throw on those).
    Fail(dir, ": tokenizer.json or tokenizer_config.json has a field of an unexpected type (",
         std::string(e.what()).substr(0, 120), ")");
  }
}

void HfVocab::Read(const std::string& dir, const HfConfig& config,
                   const std::string& pre_override) {
  std::error_code ec;
  if (std::filesystem::exists(dir + "/tokenizer.model", ec)) {
    if (!pre_override.empty()) {
      Fail("--pre names a byte-level BPE pre-tokenizer, but ", dir,
           " has a SentencePiece tokenizer.model (whose GGUF pre is \"default\")");
    }
    ReadSentencePiece(dir, config);
  } else {
    ReadBpe(dir, config, pre_override);
  }
  ReadTokenizerConfig(dir, config);
}

void HfVocab::ReadBpe(const std::string& dir, const HfConfig& config,
                      const std::string& pre_override) {
  const std::string file = dir + "/tokenizer.json";
  const json tok = ReadJsonFile(file);
  const auto model = tok.is_object() ? tok.find("model") : tok.end();
  if (model == tok.end() || !model->is_object() || model->value("type", "") != "BPE" ||
      !model->contains("vocab") || !(*model)["vocab"].is_object()) {
    Fail(file,
         ": not a BPE tokenizer (bitjit converts byte-level BPE vocabularies, as "
         "Llama-3's and Falcon3's)");
  }
  // A SentencePiece-style BPE (LLaMA's tokenizer.json: "▁" for spaces, <0xXX> byte tokens)
  // would be written as a byte-level vocabulary and tokenize every text wrongly.
  if (const auto fallback = model->find("byte_fallback");
      fallback != model->end() && fallback->is_boolean() && fallback->get<bool>()) {
    Fail(file,
         ": a sentencepiece-style BPE (byte_fallback); bitjit converts such a vocabulary from "
         "its tokenizer.model (the SentencePiece model file), which ",
         dir, " lacks");
  }
  const int64_t n = config.n_vocab;
  tokens_.assign(n, "");
  types_.assign(n, 0);
  const auto place = [&](const std::string& text, const json& id_json, int32_t type) {
    if (!id_json.is_number_integer() || id_json.get<int64_t>() < 0 || id_json.get<int64_t>() >= n) {
      Fail(file, ": token '", text.substr(0, 32), "' has an id outside the vocabulary of ", n);
    }
    if (!IsValidUtf8(text)) Fail(file, ": a token is not valid UTF-8");
    const int64_t id = id_json.get<int64_t>();
    tokens_[id] = text;
    types_[id] = type;
  };
  for (const auto& [text, id] : (*model)["vocab"].items()) place(text, id, kNormal);
  if (const auto added = tok.find("added_tokens"); added != tok.end()) {
    if (!added->is_array()) Fail(file, ": added_tokens is not a list");
    for (const json& a : *added) {
      if (!a.is_object() || !a.contains("content") || !a["content"].is_string() ||
          !a.contains("id")) {
        Fail(file, ": an added token lacks its id or content");
      }
      const bool special = a.value("special", false);
      place(a["content"].get<std::string>(), a["id"], special ? kControl : kUserDefined);
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    if (types_[i] == 0) {
      tokens_[i] = "[PAD" + std::to_string(i) + "]";
      types_[i] = kUserDefined;
    }
  }
  if (const auto merges = model->find("merges"); merges != model->end()) {
    if (!merges->is_array()) Fail(file, ": merges is not a list");
    for (const json& m : *merges) {
      if (m.is_string()) {
        merges_.push_back(m.get<std::string>());
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        merges_.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
      } else {
        Fail(file, ": a merge is neither \"a b\" nor [\"a\", \"b\"]");
      }
      if (!IsValidUtf8(merges_.back())) Fail(file, ": a merge is not valid UTF-8");
    }
  }
  if (!pre_override.empty()) {
    pre_ = pre_override;
  } else if (tok.contains("pre_tokenizer") && HasLlama3Split(tok["pre_tokenizer"])) {
    pre_ = "llama-bpe";
  }
}

void HfVocab::ReadTokenizerConfig(const std::string& dir, const HfConfig& config) {
  const int64_t n = static_cast<int64_t>(tokens_.size());
  std::unordered_map<std::string, uint32_t> id_of;
  for (int64_t i = 0; i < n; ++i) id_of.emplace(tokens_[i], static_cast<uint32_t>(i));

  const std::string config_file = dir + "/tokenizer_config.json";
  json tc = json::object();
  std::error_code ec;
  if (std::filesystem::exists(config_file, ec)) tc = ReadJsonFile(config_file);
  if (!tc.is_object()) Fail(config_file, ": not a JSON object");
  const auto special_id = [&](const char* key,
                              const std::optional<int64_t>& fallback) -> std::optional<uint32_t> {
    if (const auto text = TokenText(tc, key)) {
      const auto it = id_of.find(*text);
      if (it != id_of.end()) return it->second;
    }
    if (fallback && *fallback < n) return static_cast<uint32_t>(*fallback);
    return std::nullopt;
  };
  bos_ = special_id("bos_token", config.bos_id);
  eos_ = special_id("eos_token", config.eos_id);
  pad_ = special_id("pad_token", config.pad_id);
  // The BPE files bitjit reproduces have no unknown_token_id (their tokenizer_config has none).
  if (spm_) unk_ = special_id("unk_token", config.unk_id);
  if (tc.contains("add_bos_token") && tc["add_bos_token"].is_boolean()) {
    add_bos_ = tc["add_bos_token"].get<bool>();
  }
  if (tc.contains("add_eos_token") && tc["add_eos_token"].is_boolean()) {
    add_eos_ = tc["add_eos_token"].get<bool>();
  }
  if (tc.contains("chat_template")) {
    const json& t = tc["chat_template"];
    if (t.is_string()) {
      chat_template_ = t.get<std::string>();
    } else if (t.is_array()) {  // [{"name": "default", "template": ...}, ...]
      for (const json& e : t) {
        if (e.is_object() && e.value("name", "") == "default" && e.contains("template") &&
            e["template"].is_string()) {
          chat_template_ = e["template"].get<std::string>();
        }
      }
    }
    if (!IsValidUtf8(chat_template_)) Fail(config_file, ": chat_template is not UTF-8");
  }
}

void HfVocab::AddBos(gguf::GgufWriter& w) const {
  if (add_bos_) w.AddKv("tokenizer.ggml.add_bos_token", KvValue::Bool(*add_bos_));
}

// token_type .. padding_token_id (SentencePiece: no merges, an unknown token).
void HfVocab::AddIds(gguf::GgufWriter& w) const {
  w.AddKv("tokenizer.ggml.token_type", KvValue::I32Array(types_));
  if (!spm_) w.AddKv("tokenizer.ggml.merges", KvValue::StringArray(merges_));
  if (bos_) w.AddKv("tokenizer.ggml.bos_token_id", KvValue::U32(*bos_));
  if (eos_) w.AddKv("tokenizer.ggml.eos_token_id", KvValue::U32(*eos_));
  if (unk_) w.AddKv("tokenizer.ggml.unknown_token_id", KvValue::U32(*unk_));
  if (pad_) w.AddKv("tokenizer.ggml.padding_token_id", KvValue::U32(*pad_));
}

void HfVocab::AddModelAndTokens(gguf::GgufWriter& w, bool scores) const {
  w.AddKv("tokenizer.ggml.model", KvValue::String(spm_ ? "llama" : "gpt2"));
  if (!pre_.empty()) w.AddKv("tokenizer.ggml.pre", KvValue::String(pre_));
  w.AddKv("tokenizer.ggml.tokens", KvValue::StringArray(tokens_));
  if (scores) w.AddKv("tokenizer.ggml.scores", KvValue::F32Array(scores_));
}

void HfVocab::AddBitnetVocab(gguf::GgufWriter& w) const {
  // The bitnet-b1.58 layout has no tokenizer.ggml.pre for byte-level BPE (and scores of 0).
  if (spm_) {
    AddModelAndTokens(w, true);
  } else {
    w.AddKv("tokenizer.ggml.model", KvValue::String("gpt2"));
    w.AddKv("tokenizer.ggml.tokens", KvValue::StringArray(tokens_));
    w.AddKv("tokenizer.ggml.scores", KvValue::F32Array(std::vector<float>(tokens_.size(), 0.0f)));
  }
  AddIds(w);
  if (!chat_template_.empty()) {
    w.AddKv("tokenizer.chat_template", KvValue::String(chat_template_));
  }
}

void HfVocab::AddLlamaVocab(gguf::GgufWriter& w) const {
  AddModelAndTokens(w, spm_);  // the converter's gpt2 path writes no scores
  AddIds(w);
  AddBos(w);
  if (add_eos_) w.AddKv("tokenizer.ggml.add_eos_token", KvValue::Bool(*add_eos_));
  if (!chat_template_.empty()) {
    w.AddKv("tokenizer.chat_template", KvValue::String(chat_template_));
  }
}

}  // namespace bitjit::hf
