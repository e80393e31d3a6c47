// bitjit inspect MODEL.gguf [--json]: header, key-value pairs, tensor table, model config and a
// validation verdict. Describes any GGUF file; a file that fails validation exits 2.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "frontend/gguf/gguf_file.h"
#include "frontend/model/model_config.h"
#include "ir/base/error.h"
#include "tools/command.h"
#include "tools/flags.h"

namespace bitjit::cli {
namespace {

using gguf::Array;
using gguf::Value;
using gguf::ValueType;
using nlohmann::json;

constexpr uint64_t kArrayPreview = 6;  // items shown of a long array

json ScalarJson(const Value& v) {
  if (v.type == ValueType::kBool) return std::get<uint64_t>(v.data) != 0;
  if (auto* u = std::get_if<uint64_t>(&v.data)) return *u;
  if (auto* i = std::get_if<int64_t>(&v.data)) return *i;
  if (auto* d = std::get_if<double>(&v.data)) return *d;
  return std::string(std::get<std::string_view>(v.data));
}

json ArrayItemJson(const Array& a, uint64_t i) {
  if (!a.items.empty()) {
    const Value& v = a.items[i];
    return v.type == ValueType::kArray ? json("[array]") : ScalarJson(v);
  }
  const uint8_t* p = a.raw.data();
  switch (a.element_type) {
    case ValueType::kU8: return p[i];
    case ValueType::kI8: return static_cast<int8_t>(p[i]);
    case ValueType::kBool: return p[i] != 0;
    case ValueType::kU16: { uint16_t x; std::memcpy(&x, p + 2 * i, 2); return x; }
    case ValueType::kI16: { int16_t x; std::memcpy(&x, p + 2 * i, 2); return x; }
    case ValueType::kU32: { uint32_t x; std::memcpy(&x, p + 4 * i, 4); return x; }
    case ValueType::kI32: { int32_t x; std::memcpy(&x, p + 4 * i, 4); return x; }
    case ValueType::kF32: { float x; std::memcpy(&x, p + 4 * i, 4); return x; }
    case ValueType::kU64: { uint64_t x; std::memcpy(&x, p + 8 * i, 8); return x; }
    case ValueType::kI64: { int64_t x; std::memcpy(&x, p + 8 * i, 8); return x; }
    case ValueType::kF64: { double x; std::memcpy(&x, p + 8 * i, 8); return x; }
    default: return nullptr;
  }
}

// A value as JSON; arrays become {type, length, first: [...]} summaries.
json ValueJson(const Value& v) {
  if (v.type != ValueType::kArray) return ScalarJson(v);
  const Array& a = v.AsArray("value");
  json first = json::array();
  for (uint64_t i = 0; i < std::min(a.count, kArrayPreview); ++i) first.push_back(ArrayItemJson(a, i));
  return {{"element_type", gguf::ValueTypeName(a.element_type)}, {"length", a.count},
          {"first", first}};
}

std::string Shorten(std::string s, size_t max) {
  for (char& ch : s)
    if (ch == '\n') ch = ' ';
  return s.size() > max ? s.substr(0, max) + "..." : s;
}

std::string ValueText(const Value& v) {
  if (v.type == ValueType::kArray) {
    const Array& a = v.AsArray("value");
    json j = ValueJson(v);
    std::string items = j["first"].dump();
    items = Shorten(items.substr(1, items.size() - 2), 100);
    return "arr[" + std::string(gguf::ValueTypeName(a.element_type)) + "; " +
           std::to_string(a.count) + "] " + items + (a.count > kArrayPreview ? ", ..." : "");
  }
  return Shorten(ScalarJson(v).dump(), 100);
}

json ConfigJson(const ModelConfig& c) {
  auto type = gguf::GgmlTypeName(c.token_embd_type);
  return {{"arch", c.arch},         {"name", c.name},
          {"n_vocab", c.n_vocab},   {"n_ctx_train", c.n_ctx_train},
          {"n_embd", c.n_embd},     {"n_layer", c.n_layer},
          {"n_ff", c.n_ff},         {"n_head", c.n_head},
          {"n_head_kv", c.n_head_kv}, {"head_dim", c.head_dim},
          {"rms_eps", c.rms_eps},   {"rope_base", c.rope_base},
          {"bos_id", c.bos_id},     {"eos_id", c.eos_id},
          {"add_bos", c.add_bos},   {"token_embd_type", type ? *type : "?"},
          {"file_type", c.file_type}};
}

int RunInspect(const Args& args) {
  if (args.positional.size() != 1) Fail("inspect takes one GGUF file (usage: bitjit inspect MODEL.gguf)");
  auto file = gguf::GgufFile::Open(args.positional[0]);

  json kvs = json::array();
  for (const auto& kv : file->kvs()) {
    kvs.push_back({{"key", kv.key}, {"type", gguf::ValueTypeName(kv.value.type)},
                   {"value", ValueJson(kv.value)}});
  }
  json tensors = json::array();
  uint64_t tensor_bytes = 0;
  for (const auto& t : file->tensors()) {
    json shape = json::array();
    for (uint32_t d = 0; d < t.n_dims; ++d) shape.push_back(t.ne[d]);
    tensors.push_back({{"name", t.name}, {"type", *gguf::GgmlTypeName(t.type)}, {"shape", shape},
                       {"offset", file->data_offset() + t.offset}, {"bytes", t.n_bytes}});
    tensor_bytes += t.n_bytes;
  }
  // The GGUF container is valid at this point; whether it is a runnable model is the config's say.
  json config;
  std::string model_verdict;
  if (file->tensors().empty()) {
    model_verdict = "no tensors (a vocabulary or metadata-only file)";
  } else {
    try {
      const ModelConfig model = ModelConfig::FromGguf(*file);
      config = ConfigJson(model);
      model_verdict = "runnable " + model.arch + " model";
    } catch (const Error& e) {
      model_verdict = std::string("not runnable: ") + e.what();
    }
  }

  if (FLAGS_json) {
    json out = {{"file", file->path()},
                {"file_size", file->file_size()},
                {"version", file->version()},
                {"alignment", file->alignment()},
                {"data_offset", file->data_offset()},
                {"n_kv", file->kvs().size()},
                {"n_tensors", file->tensors().size()},
                {"kv", kvs},
                {"tensors", tensors},
                {"config", config},
                {"valid", true},
                {"model", model_verdict}};
    std::printf("%s\n", out.dump(1).c_str());
    return 0;
  }
  std::printf("file:        %s (%llu bytes)\n", file->path().c_str(),
              static_cast<unsigned long long>(file->file_size()));
  std::printf("gguf:        version %u, %zu key-value pairs, %zu tensors, alignment %llu%s, data at %llu\n",
              file->version(), file->kvs().size(), file->tensors().size(),
              static_cast<unsigned long long>(file->alignment()),
              file->Find("general.alignment") ? "" : " (default)",
              static_cast<unsigned long long>(file->data_offset()));
  std::printf("\nkey-value pairs:\n");
  for (const auto& kv : file->kvs()) {
    std::printf("  %-48s %-5s %s\n", std::string(kv.key).c_str(),
                std::string(gguf::ValueTypeName(kv.value.type)).c_str(), ValueText(kv.value).c_str());
  }
  if (!file->tensors().empty()) {
    std::printf("\ntensors: (%llu bytes of data)\n  %-34s %-6s %-22s %12s %12s\n",
                static_cast<unsigned long long>(tensor_bytes), "name", "type", "shape", "offset", "bytes");
    for (const auto& t : tensors) {
      std::string shape = t["shape"].dump();
      std::printf("  %-34s %-6s %-22s %12llu %12llu\n", t["name"].get<std::string>().c_str(),
                  t["type"].get<std::string>().c_str(), shape.c_str(),
                  static_cast<unsigned long long>(t["offset"].get<uint64_t>()),
                  static_cast<unsigned long long>(t["bytes"].get<uint64_t>()));
    }
  }
  if (!config.is_null()) {
    std::printf("\nmodel config:\n");
    for (const auto& [k, v] : config.items()) std::printf("  %-16s %s\n", k.c_str(), v.dump().c_str());
  }
  std::printf("\nverdict:     valid GGUF; %s\n", model_verdict.c_str());
  return 0;
}

}  // namespace

BITJIT_COMMAND(inspect, "inspect", "describe a GGUF file: header, keys, tensors, model config",
               "MODEL.gguf [--json]", {"json"}, &RunInspect);

}  // namespace bitjit::cli
