// The streaming GGUF writer: every value type survives a write/read round trip through our
// reader, tensors land aligned where the infos say, and copying a golden model's keys and
// tensors through the writer reproduces llama-quantize's file byte for byte.
#include "frontend/gguf/gguf_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "frontend/gguf/gguf_file.h"
#include "ir/base/error.h"
#include "tests/testing/golden.h"

namespace bitjit {
namespace {

using gguf::GgmlType;
using gguf::GgufWriter;
using gguf::KvValue;
using gguf::ValueType;

std::vector<uint8_t> Pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

TEST(GgufWriter, EveryValueTypeRoundTrips) {
  GgufWriter w;
  w.AddKv("u8", KvValue::U8(200));
  w.AddKv("i8", KvValue::I8(-100));
  w.AddKv("u16", KvValue::U16(60000));
  w.AddKv("i16", KvValue::I16(-30000));
  w.AddKv("u32", KvValue::U32(4000000000u));
  w.AddKv("i32", KvValue::I32(-2000000000));
  w.AddKv("f32", KvValue::F32(1e-5f));
  w.AddKv("bool", KvValue::Bool(true));
  w.AddKv("str", KvValue::String("h\xC3\xA9llo \xF0\x9F\x98\x80"));
  w.AddKv("empty_str", KvValue::String(""));
  w.AddKv("u64", KvValue::U64(uint64_t{1} << 63));
  w.AddKv("i64", KvValue::I64(INT64_MIN));
  w.AddKv("f64", KvValue::F64(-2.5e300));
  const std::vector<std::string> strings = {"a", "", "\xC4\xA0the"};
  w.AddKv("arr_str", KvValue::StringArray(strings));
  const std::vector<int32_t> ints = {1, -2, 3};
  w.AddKv("arr_i32", KvValue::I32Array(ints));
  w.AddKv("arr_f32", KvValue::F32Array(std::vector<float>{0.5f, -1.0f}));
  w.AddKv("arr_empty", KvValue::F32Array(std::vector<float>{}));
  w.AddKv("arr_bool", KvValue::U8Array(std::vector<uint8_t>{1, 0, 1}, ValueType::kBool));
  // Arrays of arrays, each with its own element type and length.
  const std::vector<KvValue> inner = {KvValue::I32Array(ints), KvValue::StringArray(strings)};
  w.AddKv("arr_arr", KvValue::Array(ValueType::kArray, inner));
  const std::vector<KvValue> scalars = {KvValue::U16(1), KvValue::U16(2)};
  w.AddKv("arr_u16", KvValue::Array(ValueType::kU16, scalars));

  gguf::BufferSink sink;
  w.WriteHeader(sink);
  w.Finish();
  ASSERT_EQ(sink.bytes().size(), w.file_size());
  auto f = gguf::GgufFile::FromBuffer(sink.bytes());
  ASSERT_EQ(f->kvs().size(), 20u);
  EXPECT_EQ(f->kvs()[0].key, "u8");
  EXPECT_EQ(f->kvs()[19].key, "arr_u16");
  EXPECT_EQ(f->Find("u8")->type, ValueType::kU8);
  EXPECT_EQ(f->GetU64("u8"), 200u);
  EXPECT_EQ(f->Find("i8")->AsI64("i8"), -100);
  EXPECT_EQ(f->GetU64("u16"), 60000u);
  EXPECT_EQ(f->Find("i16")->AsI64("i16"), -30000);
  EXPECT_EQ(f->Find("u32")->type, ValueType::kU32);
  EXPECT_EQ(f->GetU64("u32"), 4000000000u);
  EXPECT_EQ(f->Find("i32")->AsI64("i32"), -2000000000);
  EXPECT_EQ(f->Find("f32")->type, ValueType::kF32);
  EXPECT_EQ(static_cast<float>(f->GetF64("f32")), 1e-5f);
  EXPECT_TRUE(f->GetBool("bool"));
  EXPECT_EQ(f->GetString("str"), "h\xC3\xA9llo \xF0\x9F\x98\x80");
  EXPECT_EQ(f->GetString("empty_str"), "");
  EXPECT_EQ(f->GetU64("u64"), uint64_t{1} << 63);
  EXPECT_EQ(f->Find("i64")->AsI64("i64"), INT64_MIN);
  EXPECT_EQ(f->GetF64("f64"), -2.5e300);
  EXPECT_EQ(f->GetStringArray("arr_str"), (std::vector<std::string_view>{"a", "", "\xC4\xA0the"}));
  EXPECT_EQ(gguf::ArrayElements<int32_t>(f->GetArray("arr_i32")), ints);
  EXPECT_EQ(gguf::ArrayElements<float>(f->GetArray("arr_f32")), (std::vector<float>{0.5f, -1.0f}));
  EXPECT_EQ(f->GetArray("arr_empty").count, 0u);
  EXPECT_EQ(f->GetArray("arr_empty").element_type, ValueType::kF32);
  EXPECT_EQ(f->GetArray("arr_bool").element_type, ValueType::kBool);
  EXPECT_EQ(gguf::ArrayElements<uint8_t>(f->GetArray("arr_bool")), (std::vector<uint8_t>{1, 0, 1}));
  const gguf::Array& nested = f->GetArray("arr_arr");
  ASSERT_EQ(nested.element_type, ValueType::kArray);
  ASSERT_EQ(nested.items.size(), 2u);
  EXPECT_EQ(gguf::ArrayElements<int32_t>(nested.items[0].AsArray("0")), ints);
  const gguf::Array& inner_strings = nested.items[1].AsArray("1");
  ASSERT_EQ(inner_strings.items.size(), 3u);
  EXPECT_EQ(inner_strings.items[2].AsString("s"), "\xC4\xA0the");
  EXPECT_EQ(gguf::ArrayElements<uint16_t>(f->GetArray("arr_u16")), (std::vector<uint16_t>{1, 2}));

  // Copying every value back through KvValue::FromFile gives the same encoding.
  GgufWriter copy;
  for (const gguf::KeyValue& kv : f->kvs()) copy.CopyKv(*f, kv.key);
  gguf::BufferSink copy_sink;
  copy.WriteHeader(copy_sink);
  EXPECT_EQ(copy_sink.bytes(), sink.bytes());
}

TEST(GgufWriter, TensorsAreAlignedAndStreamedInChunks) {
  GgufWriter w;
  w.AddKv("general.architecture", KvValue::String("test"));
  w.AddTensor("a", GgmlType::kF32, {5});           // 20 bytes, padded to 32
  w.AddTensor("b", GgmlType::kI2_S, {128, 3});     // 96 + 32 bytes
  w.AddTensor("c", GgmlType::kQ8_0, {64, 2});      // 4 blocks of 34
  w.AddTensor("d", GgmlType::kF16, {3, 1, 1, 2});  // 12 bytes
  ASSERT_EQ(w.tensors().size(), 4u);
  EXPECT_EQ(w.tensors()[1].offset, 32u);
  EXPECT_EQ(w.tensors()[1].n_bytes, 128u);
  EXPECT_EQ(w.tensors()[2].offset, 160u);
  EXPECT_EQ(w.tensors()[2].n_bytes, 136u);
  EXPECT_EQ(w.tensors()[3].offset, 320u);
  EXPECT_EQ(w.data_offset() % 32, 0u);

  std::vector<std::vector<uint8_t>> data;
  for (size_t i = 0; i < 4; ++i) data.push_back(Pattern(w.tensors()[i].n_bytes, uint8_t(i * 50)));
  gguf::BufferSink sink;
  w.WriteHeader(sink);
  for (const auto& d : data) {
    // Uneven chunks: 1 byte, then 7, then the rest.
    size_t at = 0;
    for (size_t step : {size_t{1}, size_t{7}, d.size()}) {
      const size_t n = std::min(step, d.size() - at);
      w.WriteTensorData({d.data() + at, n});
      at += n;
    }
  }
  w.Finish();
  ASSERT_EQ(sink.bytes().size(), w.file_size());
  EXPECT_EQ(sink.bytes().size() % 32, 0u);

  auto f = gguf::GgufFile::FromBuffer(sink.bytes());
  EXPECT_EQ(f->data_offset(), w.data_offset());
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_EQ(f->Find("general.alignment"), nullptr);
  ASSERT_EQ(f->tensors().size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    const gguf::TensorInfo& t = f->tensors()[i];
    EXPECT_EQ(t.name, w.tensors()[i].name);
    EXPECT_EQ(t.offset % 32, 0u);
    EXPECT_EQ(std::vector<uint8_t>(t.data.begin(), t.data.end()), data[i]) << t.name;
  }
  EXPECT_EQ(f->tensors()[3].n_dims, 4u);
  EXPECT_EQ(f->tensors()[3].ne[3], 2u);
}

TEST(GgufWriter, OtherAlignmentWithItsKey) {
  GgufWriter w(3, 64);
  w.AddKv("general.alignment", KvValue::U32(64));
  w.AddTensor("x", GgmlType::kF32, {3});
  w.AddTensor("y", GgmlType::kF32, {3});
  gguf::BufferSink sink;
  w.WriteHeader(sink);
  const std::vector<uint8_t> twelve(12, 0xAB);
  w.WriteTensorData(twelve);
  w.WriteTensorData(twelve);
  w.Finish();
  auto f = gguf::GgufFile::FromBuffer(sink.bytes());
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_EQ(f->data_offset() % 64, 0u);
  EXPECT_EQ(f->tensors()[1].offset, 64u);
  EXPECT_EQ(sink.bytes().size(), f->data_offset() + 128);
}

TEST(GgufWriter, RejectsBadDeclarations) {
  GgufWriter w;
  w.AddKv("k", KvValue::U8(1));
  EXPECT_THROW(w.AddKv("k", KvValue::U8(2)), Error);
  EXPECT_THROW(w.AddKv("", KvValue::U8(2)), Error);
  w.AddTensor("t", GgmlType::kF32, {4});
  EXPECT_THROW(w.AddTensor("t", GgmlType::kF32, {4}), Error);
  EXPECT_THROW(w.AddTensor("u", GgmlType::kF32, {}), Error);
  EXPECT_THROW(w.AddTensor("u", GgmlType::kF32, {1, 1, 1, 1, 1}), Error);
  EXPECT_THROW(w.AddTensor("u", GgmlType::kF32, {4, 0}), Error);
  EXPECT_THROW(w.AddTensor("u", GgmlType::kI2_S, {100}), Error);  // not whole 128-blocks
  EXPECT_THROW(w.AddTensor("u", GgmlType::kQ8_0, {48}), Error);
  EXPECT_THROW(w.AddTensor("u", GgmlType::kTL1, {128}), Error);  // no known size
  EXPECT_THROW(w.AddTensor("u", GgmlType::kF32, {uint64_t{1} << 40, uint64_t{1} << 40}), Error);
  // The reader refuses strings that are not UTF-8, so the writer never produces them.
  EXPECT_THROW(KvValue::String("a\xFF"), Error);
  EXPECT_THROW(KvValue::StringArray(std::vector<std::string>{"ok", "\xC0\xAF"}), Error);
  EXPECT_THROW(w.AddKv("bad\xFE", KvValue::U8(1)), Error);
  EXPECT_THROW(w.AddTensor("bad\xFE", GgmlType::kF32, {4}), Error);
  EXPECT_EQ(w.tensors().size(), 1u);
  EXPECT_EQ(w.kv_count(), 1u);
}

// Rewriting a golden model (its keys copied, its tensors declared and streamed from the file)
// gives llama-quantize's bytes exactly: same layout rules, padding and alignment.
TEST(GgufWriter, ReproducesGoldenFilesByteForByte) {
  for (const std::string& name : testing::GoldenCaseNames()) {
    SCOPED_TRACE(name);
    auto f = gguf::GgufFile::Open(testing::GoldenModelPath(name));
    GgufWriter w(f->version());
    for (const gguf::KeyValue& kv : f->kvs()) ASSERT_TRUE(w.CopyKv(*f, kv.key));
    for (const gguf::TensorInfo& t : f->tensors()) {
      w.AddTensor(std::string(t.name), t.ggml_type(), std::vector<uint64_t>(t.ne, t.ne + t.n_dims));
    }
    ASSERT_EQ(w.file_size(), f->file_size());
    gguf::BufferSink sink;
    w.WriteHeader(sink);
    for (const gguf::TensorInfo& t : f->tensors()) {
      for (size_t at = 0; at < t.data.size(); at += 4096) {
        w.WriteTensorData(t.data.subspan(at, std::min<size_t>(4096, t.data.size() - at)));
      }
    }
    w.Finish();
    ASSERT_EQ(sink.bytes().size(), f->file_size());
    EXPECT_TRUE(std::equal(sink.bytes().begin(), sink.bytes().end(), f->bytes().begin()));
  }
}

TEST(GgufWriter, FileSinkCommitsOrLeavesNothing) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("bitjit_writer_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "out.gguf").string();
  {
    gguf::FileSink sink(path);
    sink.Write("GGUF", 4);
    // destroyed without Commit: as if an error interrupted the write
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir));
  {
    gguf::FileSink sink(path);
    sink.Write("GGUF", 4);
    sink.Commit();
  }
  EXPECT_EQ(std::filesystem::file_size(path), 4u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
  EXPECT_THROW(gguf::FileSink((dir / "missing" / "x.gguf").string()), Error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace bitjit
