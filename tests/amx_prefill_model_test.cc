// Whole models on avx512amx against avx512vnni: the AMX prefill GEMM computes the same exact
// int32 dots and runs the same float epilogue, so every logit of a prompt long enough to take
// it (and of the decode steps after, which stay on the GEMV) is bit-identical, for both
// ternary packings and 1 and 2 threads. Skipped, with the reason, where AMX cannot run.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/ternary/ternary_matmul.h"
#include "ir/base/error.h"
#include "runtime/model.h"
#include "tests/testing/golden.h"

namespace bitjit {
namespace {

std::vector<float> Logits(const std::string& path, const std::string& isa,
                          const std::string& packing, int threads,
                          const std::vector<int32_t>& prompt) {
  ModelOptions options;
  options.isa = isa;
  options.ternary_packing = packing;
  options.n_threads = threads;
  auto model = Model::Load(path, options);
  Session session(*model, 128);
  std::vector<float> all, logits;
  session.Eval(prompt, /*all_rows=*/true, &all);
  for (int32_t t : {7, 11}) {
    session.Eval({&t, 1}, /*all_rows=*/false, &logits);
    all.insert(all.end(), logits.begin(), logits.end());
  }
  return all;
}

TEST(AmxPrefillModel, LogitsAreBitIdenticalToVnni) {
  try {
    codegen::ResolveIsa(codegen::Isa::kAvx512Amx);
  } catch (const Error& e) {
    GTEST_SKIP() << e.what();
  }
  const std::string path = testing::SharedDir() + "/golden/gqa4-k4224/model.gguf";
  std::mt19937 rng(17);
  std::vector<int32_t> prompt(45);  // a 32-token A-tile pair and a padded 13-token tail
  for (int32_t& id : prompt) id = static_cast<int32_t>(rng() % 500);
  ASSERT_GE(static_cast<int64_t>(prompt.size()), codegen::kTernaryAmxMinTokens);
  for (const char* packing : {"2bit", "1.6bit"}) {
    if (!codegen::TernaryPackingSupported(codegen::Isa::kAvx512Amx,
                                          codegen::ParseTernaryPacking(packing))) {
      continue;  // 1.6 bits without VBMI: the ISA refuses it (tested in codegen)
    }
    for (int threads : {1, 2}) {
      SCOPED_TRACE(std::string(packing) + " t" + std::to_string(threads));
      const std::vector<float> vnni = Logits(path, "avx512vnni", packing, threads, prompt);
      const std::vector<float> amx = Logits(path, "avx512amx", packing, threads, prompt);
      ASSERT_EQ(amx.size(), vnni.size());
      for (size_t i = 0; i < amx.size(); ++i) {
        ASSERT_EQ(std::memcmp(&amx[i], &vnni[i], 4), 0)
            << "logit " << i << ": " << amx[i] << " vs " << vnni[i];
      }
    }
  }
}

}  // namespace
}  // namespace bitjit
