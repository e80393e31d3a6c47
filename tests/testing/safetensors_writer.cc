#include "tests/testing/safetensors_writer.h"

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace bitjit::testing {

std::vector<uint8_t> SafetensorsBytes(const std::vector<StTensor>& tensors) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  uint64_t at = 0;
  for (const StTensor& t : tensors) {
    header[t.name] = {
        {"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {at, at + t.data.size()}}};
    at += t.data.size();
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text += ' ';
  const uint64_t n = text.size();
  std::string head(8, '\0');
  for (int i = 0; i < 8; ++i) head[i] = static_cast<char>(n >> (8 * i));
  head += text;
  std::vector<uint8_t> out(head.begin(), head.end());
  for (const StTensor& t : tensors) out.insert(out.end(), t.data.begin(), t.data.end());
  return out;
}

void WriteSafetensors(const std::string& path, const std::vector<StTensor>& tensors) {
  const std::vector<uint8_t> bytes = SafetensorsBytes(tensors);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::vector<uint8_t> F32Bytes(const std::vector<float>& v) {
  std::vector<uint8_t> out(v.size() * 4);
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

std::vector<uint8_t> Bf16Bytes(const std::vector<float>& v) {
  std::vector<uint8_t> out(v.size() * 2);
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &v[i], 4);
    const uint16_t h = static_cast<uint16_t>(bits >> 16);
    std::memcpy(out.data() + 2 * i, &h, 2);
  }
  return out;
}

}  // namespace bitjit::testing
