// The GGUF reader on real files: every golden model and the tensor-less Llama-3 vocabulary.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "frontend/gguf/gguf_file.h"
#include "frontend/model/model_config.h"
#include "ir/base/error.h"

namespace bitjit {
namespace {

namespace fs = std::filesystem;
const std::string kShared = BITJIT_SHARED_DIR;

std::vector<std::string> GoldenCases() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(kShared + "/golden"))
    if (e.is_directory()) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(GgufReader, ReadsEveryGoldenModel) {
  const auto cases = GoldenCases();
  ASSERT_GE(cases.size(), 4u);
  for (const auto& name : cases) {
    SCOPED_TRACE(name);
    auto f = gguf::GgufFile::Open(kShared + "/golden/" + name + "/model.gguf");
    EXPECT_EQ(f->version(), 3u);
    EXPECT_EQ(f->alignment(), 32u);  // no general.alignment in bitnet.cpp's files
    EXPECT_EQ(f->Find("general.alignment"), nullptr);
    EXPECT_EQ(f->GetString("general.architecture"), "bitnet-b1.58");
    const ModelConfig c = ModelConfig::FromGguf(*f);
    // 10 tensors per block + token_embd + output_norm.
    EXPECT_EQ(f->tensors().size(), static_cast<size_t>(c.n_layer * 11 + 2));
    for (const auto& t : f->tensors()) {
      EXPECT_EQ(t.data.data(), f->bytes().data() + f->data_offset() + t.offset);
      if (t.ggml_type() == gguf::GgmlType::kI2_S) {
        EXPECT_EQ(t.n_bytes, t.n_elements() / 4 + 32);
      }
    }
  }
}

TEST(GgufReader, ConfigMatchesCaseJsonDims) {
  auto f = gguf::GgufFile::Open(kShared + "/golden/shape2b-l2/model.gguf");
  const ModelConfig c = ModelConfig::FromGguf(*f);
  EXPECT_EQ(c.n_embd, 2560);
  EXPECT_EQ(c.n_ff, 6912);
  EXPECT_EQ(c.n_layer, 2);
  EXPECT_EQ(c.n_head, 20);
  EXPECT_EQ(c.n_head_kv, 5);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.n_vocab, 1024);
  EXPECT_EQ(c.n_ctx_train, 4096);
  EXPECT_FLOAT_EQ(c.rope_base, 500000.0f);
  EXPECT_FLOAT_EQ(c.rms_eps, 1e-5f);
}

TEST(GgufReader, ReadsTensorlessVocabulary) {
  auto f = gguf::GgufFile::Open(kShared + "/tokenizer/llama3-vocab.gguf");
  EXPECT_TRUE(f->tensors().empty());
  EXPECT_EQ(f->GetStringArray("tokenizer.ggml.tokens").size(), 128256u);
  EXPECT_EQ(f->GetArray("tokenizer.ggml.merges").count, 280147u);
  EXPECT_EQ(f->GetU64("tokenizer.ggml.bos_token_id"), 128000u);
  EXPECT_EQ(f->Find("tokenizer.ggml.pre"), nullptr);
  EXPECT_THROW(ModelConfig::FromGguf(*f), Error);
}

TEST(GgufReader, MissingFileIsAnError) {
  try {
    gguf::GgufFile::Open("/nonexistent/model.gguf");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace bitjit
