// A GGUF of only key-value pairs, built in memory: tokenizer and config tests read it as a file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "frontend/gguf/gguf_file.h"
#include "frontend/gguf/gguf_writer.h"

namespace bitjit::testing {

struct MemoryGguf {
  std::vector<uint8_t> bytes;  // what `file` reads
  std::unique_ptr<gguf::GgufFile> file;
};

inline MemoryGguf MakeGguf(const std::vector<std::pair<std::string, gguf::KvValue>>& kvs) {
  gguf::GgufWriter w;
  for (const auto& [key, value] : kvs) w.AddKv(key, value);
  gguf::BufferSink sink;
  w.WriteHeader(sink);
  w.Finish();
  MemoryGguf m;
  m.bytes = std::move(sink.bytes());
  m.file = gguf::GgufFile::FromBuffer(m.bytes);
  return m;
}

}  // namespace bitjit::testing
