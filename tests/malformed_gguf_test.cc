// A corpus of damaged and hostile GGUF files, each made from one valid file by a single
// mutation (truncation, a bad count, type, offset, shape, name or string). Each must be refused
// with a bitjit::Error that names the problem, both by the reader and by `bitjit inspect`, which
// must exit 2 with exactly one "error: ..." line.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "frontend/gguf/gguf_file.h"
#include "frontend/gguf/gguf_writer.h"
#include "ir/base/error.h"

namespace bitjit {
namespace {

using gguf::GgmlType;
using gguf::KvValue;
using gguf::ValueType;
using Bytes = std::vector<uint8_t>;

// The valid file every case starts from: keys of several types (general.alignment included, so
// that it can be damaged too) and three tensors, the I2_S one last.
Bytes BaseFile() {
  gguf::GgufWriter w;
  w.AddKv("general.alignment", KvValue::U32(32));
  w.AddKv("test.a", KvValue::U32(7));
  w.AddKv("test.b", KvValue::String("hello"));
  const std::vector<std::string> strings = {"x", "yy"};
  w.AddKv("test.c", KvValue::StringArray(strings));
  w.AddKv("test.d", KvValue::I32Array(std::vector<int32_t>{1, 2, 3}));
  w.AddKv("test.e", KvValue::Bool(true));
  const std::vector<KvValue> inner = {KvValue::I32Array(std::vector<int32_t>{1}),
                                      KvValue::I32Array(std::vector<int32_t>{2, 3})};
  w.AddKv("test.f", KvValue::Array(ValueType::kArray, inner));
  w.AddTensor("t0", GgmlType::kF32, {8});
  w.AddTensor("t1", GgmlType::kF16, {16, 2});
  w.AddTensor("t2", GgmlType::kI2_S, {128, 2});
  gguf::BufferSink sink;
  w.WriteHeader(sink);
  for (const gguf::PlannedTensor& t : w.tensors()) {
    const Bytes data(t.n_bytes, 0x55);
    w.WriteTensorData(data);
  }
  w.Finish();
  return sink.bytes();
}

// Where the fields of the base file are, from our reader.
struct Layout {
  struct Kv {
    uint64_t at, key, type, value;  // starts of the record, key bytes, type tag and value
  };
  struct Tensor {
    uint64_t at, name, n_dims, ne, type, offset;
  };
  std::vector<Kv> kvs;
  std::vector<Tensor> tensors;
  uint64_t infos_end = 0, data = 0;
};

Layout LayoutOf(const Bytes& bytes) {
  auto f = gguf::GgufFile::FromBuffer(bytes);
  Layout l;
  for (const gguf::KeyValue& kv : f->kvs()) {
    const uint64_t type = kv.offset + 8 + kv.key.size();
    l.kvs.push_back({kv.offset, kv.offset + 8, type, type + 4});
  }
  for (const gguf::TensorInfo& t : f->tensors()) {
    const uint64_t n_dims = t.info_offset + 8 + t.name.size();
    const uint64_t type = n_dims + 4 + 8 * t.n_dims;
    l.tensors.push_back({t.info_offset, t.info_offset + 8, n_dims, n_dims + 4, type, type + 4});
    l.infos_end = type + 12;
  }
  l.data = f->data_offset();
  return l;
}

template <typename T>
void Put(Bytes& b, uint64_t at, T value) {
  std::memcpy(b.data() + at, &value, sizeof value);
}

struct Case {
  std::string name;
  Bytes bytes;
  std::string keywords;  // the message must contain one of these ('|'-separated, any case)
};

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool MentionsOneOf(const std::string& message, const std::string& keywords) {
  std::stringstream alternatives(keywords);
  for (std::string k; std::getline(alternatives, k, '|');)
    if (Lower(message).find(Lower(k)) != std::string::npos) return true;
  return false;
}

std::vector<Case> Corpus() {
  const Bytes base = BaseFile();
  const Layout l = LayoutOf(base);
  std::vector<Case> cases;
  const auto mutate = [&](std::string name, std::string keywords, std::function<void(Bytes&)> f) {
    Bytes b = base;
    f(b);
    cases.push_back({std::move(name), std::move(b), std::move(keywords)});
  };
  const auto truncate = [&](std::string name, uint64_t size, std::string keywords) {
    cases.push_back(
        {std::move(name), Bytes(base.begin(), base.begin() + size), std::move(keywords)});
  };

  // Truncation at every section boundary, and inside each record.
  truncate("empty", 0, "truncated|empty");
  truncate("cut in magic", 2, "truncated");
  truncate("cut in header", 10, "truncated");
  truncate("cut after header", 24, "cannot fit");
  for (size_t i = 0; i < l.kvs.size(); ++i) {
    const std::string kv = "kv " + std::to_string(i);
    truncate("cut before " + kv, l.kvs[i].at, "truncated|cannot fit");
    truncate("cut in key of " + kv, l.kvs[i].key + 2, "truncated|cannot fit|past the end");
    truncate("cut in value of " + kv, l.kvs[i].value + 1,
             "truncated|cannot fit|past the end|does not fit");
  }
  for (size_t i = 0; i < l.tensors.size(); ++i) {
    const std::string t = "tensor info " + std::to_string(i);
    truncate("cut before " + t, l.tensors[i].at, "truncated|cannot fit");
    truncate("cut in shape of " + t, l.tensors[i].ne + 3, "truncated");
    truncate("cut in offset of " + t, l.tensors[i].offset + 3, "truncated");
  }
  truncate("cut after tensor infos", l.infos_end, "ends before the data|past the end");
  truncate("cut at data start", l.data, "past the end");
  truncate("cut in first tensor", l.data + 16, "past the end");
  truncate("cut in last tensor", base.size() - 1, "past the end");

  // Header.
  mutate("bad magic", "magic", [](Bytes& b) { b[0] = 'X'; });
  mutate("version 1", "version", [](Bytes& b) { Put<uint32_t>(b, 4, 1); });
  mutate("version 4", "version", [](Bytes& b) { Put<uint32_t>(b, 4, 4); });
  mutate("huge tensor count", "tensor count",
         [](Bytes& b) { Put<uint64_t>(b, 8, uint64_t{1} << 62); });
  mutate("huge kv count", "key-value count", [](Bytes& b) { Put<uint64_t>(b, 16, ~uint64_t{0}); });
  mutate("kv count one too many", "truncated|unknown|utf-8|empty|length|past the end|does not fit",
         [](Bytes& b) { Put<uint64_t>(b, 16, 8); });

  // Keys and values.
  const auto kv = [&](size_t i) { return l.kvs[i]; };
  mutate("huge key length", "length",
         [&](Bytes& b) { Put<uint64_t>(b, kv(1).at, uint64_t{1} << 63); });
  mutate("empty key", "empty key", [&](Bytes& b) { Put<uint64_t>(b, kv(1).at, 0); });
  mutate("huge string length", "length",
         [&](Bytes& b) { Put<uint64_t>(b, kv(2).value, uint64_t{1} << 40); });
  mutate("huge array count", "array length",
         [&](Bytes& b) { Put<uint64_t>(b, kv(3).value + 4, uint64_t{1} << 60); });
  mutate("huge i32 array count", "array length",
         [&](Bytes& b) { Put<uint64_t>(b, kv(4).value + 4, uint64_t{1} << 62); });
  mutate("huge nested array count", "array length",
         [&](Bytes& b) { Put<uint64_t>(b, kv(6).value + 4, ~uint64_t{0}); });
  mutate("unknown value type", "unknown value type",
         [&](Bytes& b) { Put<uint32_t>(b, kv(1).type, 13); });
  mutate("unknown value type 2^32-1", "unknown value type",
         [&](Bytes& b) { Put<uint32_t>(b, kv(1).type, ~0u); });
  mutate("unknown array element type", "unknown array element type",
         [&](Bytes& b) { Put<uint32_t>(b, kv(4).value, 99); });
  mutate("unknown nested element type", "unknown array element type",
         [&](Bytes& b) { Put<uint32_t>(b, kv(6).value + 12, 77); });
  mutate("bool value 2", "bool", [&](Bytes& b) { b[kv(5).value] = 2; });
  mutate("duplicate key", "duplicate key",
         [&](Bytes& b) { b[kv(2).key + 5] = 'a'; });  // test.b -> test.a
  mutate("bad UTF-8 in key", "UTF-8", [&](Bytes& b) { b[kv(1).key + 5] = 0xFF; });
  mutate("bad UTF-8 in string", "UTF-8", [&](Bytes& b) { b[kv(2).value + 8 + 2] = 0xC0; });
  mutate("surrogate in string", "UTF-8", [&](Bytes& b) {
    const uint8_t s[] = {'h', 0xED, 0xA0, 0x80, 'o'};  // U+D800, encoded: not a scalar value
    std::memcpy(b.data() + kv(2).value + 8, s, 5);
  });
  mutate("overlong in string", "UTF-8", [&](Bytes& b) {
    const uint8_t s[] = {'h', 'e', 0xC0, 0xAF, 'o'};  // '/' as an overlong 2-byte sequence
    std::memcpy(b.data() + kv(2).value + 8, s, 5);
  });
  mutate("bad UTF-8 in string array", "UTF-8", [&](Bytes& b) {
    // test.c = ["x", "yy"]: element type, count, then (len, "x"), (len, "yy").
    b[kv(3).value + 12 + 9 + 8 + 1] = 0xFF;
  });
  mutate("alignment not a power of two", "power of two",
         [&](Bytes& b) { Put<uint32_t>(b, kv(0).value, 48); });
  mutate("alignment zero", "power of two", [&](Bytes& b) { Put<uint32_t>(b, kv(0).value, 0); });
  mutate("alignment of type i32", "alignment",
         [&](Bytes& b) { Put<uint32_t>(b, kv(0).type, static_cast<uint32_t>(ValueType::kI32)); });

  // Tensor infos.
  const auto t = [&](size_t i) { return l.tensors[i]; };
  mutate("n_dims 5", "n_dims", [&](Bytes& b) { Put<uint32_t>(b, t(0).n_dims, 5); });
  mutate("n_dims 0", "n_dims", [&](Bytes& b) { Put<uint32_t>(b, t(0).n_dims, 0); });
  mutate("zero dim", "zero", [&](Bytes& b) { Put<uint64_t>(b, t(1).ne + 8, 0); });
  mutate("huge dim", "large", [&](Bytes& b) { Put<uint64_t>(b, t(1).ne + 8, uint64_t{1} << 63); });
  mutate("dims overflow", "large", [&](Bytes& b) {
    Put<uint64_t>(b, t(1).ne, uint64_t{1} << 32);
    Put<uint64_t>(b, t(1).ne + 8, uint64_t{1} << 32);
  });
  mutate("unknown tensor type", "unknown type", [&](Bytes& b) { Put<uint32_t>(b, t(1).type, 4); });
  mutate("unknown tensor type 1000", "unknown type",
         [&](Bytes& b) { Put<uint32_t>(b, t(1).type, 1000); });
  mutate("TL1 tensor (no fixed size)", "type TL1, a bitnet.cpp lookup-table layout",
         [&](Bytes& b) { Put<uint32_t>(b, t(2).type, 38); });
  mutate("TL2 tensor (no fixed size)", "use the model's I2_S file",
         [&](Bytes& b) { Put<uint32_t>(b, t(2).type, 39); });
  mutate("Q8_0 row not whole blocks", "no valid size",
         [&](Bytes& b) { Put<uint32_t>(b, t(1).type, 8); });
  mutate("I2_S not whole blocks", "no valid size",
         [&](Bytes& b) { Put<uint64_t>(b, t(2).ne, 100); });
  mutate("I2_S larger than its data", "past the end",
         [&](Bytes& b) { Put<uint64_t>(b, t(2).ne + 8, 3); });
  mutate("I2_S read as 1 byte per value", "past the end", [&](Bytes& b) {
    Put<uint32_t>(b, t(2).type, static_cast<uint32_t>(GgmlType::kI8));  // 256 bytes, 96 there
  });
  mutate("tensor grows into the next", "overlaps",
         [&](Bytes& b) { Put<uint64_t>(b, t(1).ne + 8, 3); });
  mutate("offset past the end", "past the end",
         [&](Bytes& b) { Put<uint64_t>(b, t(2).offset, uint64_t{1} << 40); });
  mutate("offset near 2^64", "past the end",
         [&](Bytes& b) { Put<uint64_t>(b, t(2).offset, ~uint64_t{31}); });
  mutate("overlapping tensors", "overlaps", [&](Bytes& b) { Put<uint64_t>(b, t(1).offset, 0); });
  mutate("misaligned offset", "alignment", [&](Bytes& b) { Put<uint64_t>(b, t(1).offset, 33); });
  mutate("duplicate tensor name", "duplicate tensor", [&](Bytes& b) { b[t(1).name + 1] = '0'; });
  mutate("bad UTF-8 in tensor name", "UTF-8", [&](Bytes& b) { b[t(1).name + 1] = 0xFE; });
  mutate("empty tensor name", "empty tensor name", [&](Bytes& b) { Put<uint64_t>(b, t(0).at, 0); });
  mutate("huge tensor name length", "length",
         [&](Bytes& b) { Put<uint64_t>(b, t(0).at, ~uint64_t{0} - 3); });

  // Arrays nested deeper than any real file (a stack-exhaustion attempt).
  {
    KvValue v = KvValue::I32Array(std::vector<int32_t>{1});
    for (int depth = 0; depth < 40; ++depth)
      v = KvValue::Array(ValueType::kArray, std::vector<KvValue>{v});
    gguf::GgufWriter w;
    w.AddKv("deep", v);
    gguf::BufferSink sink;
    w.WriteHeader(sink);
    w.Finish();
    cases.push_back({"arrays nested 41 deep", sink.bytes(), "nested"});
  }
  return cases;
}

TEST(MalformedGguf, BaseFileIsValid) {
  const Bytes base = BaseFile();
  auto f = gguf::GgufFile::FromBuffer(base);
  EXPECT_EQ(f->kvs().size(), 7u);
  EXPECT_EQ(f->tensors().size(), 3u);
}

TEST(MalformedGguf, ReaderRefusesEveryCase) {
  const std::vector<Case> cases = Corpus();
  EXPECT_GE(cases.size(), 30u);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    try {
      gguf::GgufFile::FromBuffer(c.bytes);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_TRUE(MentionsOneOf(e.what(), c.keywords))
          << e.what() << "\n  expected: " << c.keywords;
    }
  }
}

// The same corpus through the CLI, as a user meets it.
TEST(MalformedGguf, InspectExitsTwoWithOneErrorLine) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("bitjit_malformed_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string err = (dir / "stderr.txt").string();
  int i = 0;
  for (const Case& c : Corpus()) {
    SCOPED_TRACE(c.name);
    const std::string path = (dir / ("case" + std::to_string(i++) + ".gguf")).string();
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(c.bytes.data()),
               static_cast<std::streamsize>(c.bytes.size()));
    const int status = std::system(
        (std::string(BITJIT_CLI) + " inspect " + path + " >/dev/null 2>" + err).c_str());
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 2);
    std::ifstream in(err);
    std::string line, more;
    std::getline(in, line);
    EXPECT_EQ(line.rfind("error: ", 0), 0u) << line;
    EXPECT_TRUE(MentionsOneOf(line, c.keywords)) << line << "\n  expected: " << c.keywords;
    EXPECT_FALSE(std::getline(in, more)) << "second line: " << more;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace bitjit
