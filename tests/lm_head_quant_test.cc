// --lm-head q8_0|q6_k: table and input quantization error bounds, the Q8_0 / Q6_K GEMV kernels
// against scalar references (integer block sums exact, floats within rounding, the kernel's
// own float order bit for bit) on every ISA this CPU runs, the deviation from bitnet.cpp's
// golden logits and from bitjit's default lm_head, and plans that carry the quantized table.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/lmhead/lm_head_type.h"
#include "codegen/lmhead/q6k_format.h"
#include "codegen/lmhead/q6k_gemv.h"
#include "codegen/lmhead/q8_0_gemv.h"
#include "codegen/lmhead/table_quantize.h"
#include "codegen/ref/ref_kernels.h"
#include "ir/base/error.h"
#include "ir/base/half.h"
#include "runtime/model.h"
#include "runtime/ops/lm_head_table.h"
#include "tests/testing/cli.h"
#include "tests/testing/golden.h"
#include "tests/testing/isa.h"

namespace bitjit {
namespace {

namespace q6k = codegen::q6k;
using codegen::Isa;

struct Free {
  void operator()(uint8_t* p) const { std::free(p); }
};
// 64-byte aligned bytes with slack (kernels load 32 bytes at a time).
std::unique_ptr<uint8_t, Free> Aligned(size_t bytes) {
  auto* p = static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 64 + 63) / 64 * 64));
  std::memset(p, 0, (bytes + 64 + 63) / 64 * 64);
  return std::unique_ptr<uint8_t, Free>(p);
}

std::vector<float> Normal(size_t n, float sigma, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, sigma);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

float F16At(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return HalfToFloat(h);
}

// ---------------------------------------------------------------------------------------------
// Quantization round trips.

TEST(LmHeadQuant, Q8_0TableRowsRoundTripWithinHalfAStepPerBlock) {
  const int64_t n = 2560;
  const auto x = Normal(n, 1.0f, 1);
  std::vector<uint8_t> blocks(n / 32 * 34);
  lm_head::QuantizeRowQ8_0Table(x.data(), n, blocks.data());
  std::vector<float> y(n);
  ref::EmbeddingRowQ8_0(blocks.data(), n, 0, y.data());
  for (int64_t b = 0; b < n / 32; ++b) {
    float amax = 0;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[b * 32 + i]));
    const float d = amax / 127, dh = F16At(&blocks[b * 34]);
    EXPECT_EQ(dh, RoundToHalf(d));
    for (int i = 0; i < 32; ++i) {
      const auto q = static_cast<int8_t>(blocks[b * 34 + 2 + i]);
      EXPECT_GE(q, -127);
      // Rounded against d, dequantized with f16(d).
      EXPECT_LE(std::fabs(x[b * 32 + i] - y[b * 32 + i]),
                0.5f * d + 127 * std::fabs(d - dh) + 1e-6f);
    }
  }
}

TEST(LmHeadQuant, Q6_KRoundTripErrorIsBoundedPerBlock) {
  const int64_t n = 256 * 40;
  // Gaussian rows, plus blocks with a wide dynamic range and an all-zero block.
  auto x = Normal(n, 1.0f, 2);
  for (int i = 0; i < 256; ++i) x[256 + i] *= (i % 16 == 3) ? 50.0f : 0.01f;
  std::fill(x.begin() + 512, x.begin() + 768, 0.0f);
  std::vector<uint8_t> blocks(n / 256 * 210);
  lm_head::QuantizeRowQ6_K(x.data(), n, blocks.data());
  std::vector<float> y(n);
  q6k::DequantizeRowQ6_K(blocks.data(), n, y.data());
  double worst_ratio = 0, err2 = 0, sig2 = 0;
  for (int64_t b = 0; b < n / 256; ++b) {
    float amax = 0, max_err = 0;
    for (int i = 0; i < 256; ++i) {
      amax = std::max(amax, std::fabs(x[b * 256 + i]));
      max_err = std::max(max_err, std::fabs(x[b * 256 + i] - y[b * 256 + i]));
      if (b != 1) {
        err2 += double(x[b * 256 + i] - y[b * 256 + i]) * (x[b * 256 + i] - y[b * 256 + i]);
        sig2 += double(x[b * 256 + i]) * x[b * 256 + i];
      }
    }
    if (amax == 0) {
      EXPECT_EQ(max_err, 0.0f) << "block " << b;
      continue;
    }
    // One step of the largest group's grid is about amax / 32: the error stays within it.
    EXPECT_LE(max_err, amax / 32) << "block " << b;
    worst_ratio = std::max(worst_ratio, double(max_err / amax));
  }
  const double rel_rmse = std::sqrt(err2 / sig2);
  std::printf("[ q6_k ] worst block max|err|/amax %.4f, gaussian relative RMSE %.4f\n", worst_ratio,
              rel_rmse);
  EXPECT_LT(rel_rmse, 0.02);
}

TEST(LmHeadQuant, Q8_KInputMatchesGgmlsRules) {
  auto x = Normal(512, 3.0f, 3);
  x[7] = -20.0f;                              // block 0: max has a negative sign
  std::fill(x.begin() + 256, x.end(), 0.0f);  // block 1: all zero
  std::vector<uint8_t> blocks(2 * q6k::kQ8KBlockBytes);
  q6k::QuantizeRowQ8_K(x.data(), 512, blocks.data());
  float d;
  std::memcpy(&d, blocks.data(), 4);
  const auto* qs = reinterpret_cast<const int8_t*>(blocks.data() + q6k::kQ8KQsOffset);
  EXPECT_EQ(d, 1.0f / (-127.0f / -20.0f));
  EXPECT_EQ(qs[7], -127);
  for (int g = 0; g < 16; ++g) {
    int sum = 0;
    for (int i = 0; i < 16; ++i) sum += qs[16 * g + i];
    int16_t bsum;
    std::memcpy(&bsum, blocks.data() + q6k::kQ8KBsumsOffset + 2 * g, 2);
    EXPECT_EQ(bsum, sum);
  }
  for (int i = 0; i < 256; ++i) {
    EXPECT_GE(qs[i], -127);
    EXPECT_LE(std::fabs(x[i] - d * qs[i]), 0.5f * std::fabs(d) * 1.0001f) << i;
  }
  std::memcpy(&d, blocks.data() + q6k::kQ8KBlockBytes, 4);
  EXPECT_EQ(d, 0.0f);
}

TEST(LmHeadQuant, NearestIntRoundsHalfToEvenLikeGgml) {
  const float in[] = {127, 0.5f, -0.5f, 1.5f, -2.5f, 3.5f, 2.49999f, -7.7f, 4194303.0f};
  const int want[] = {127, 0, 0, 2, -2, 4, 2, -8, 4194303};
  for (size_t i = 0; i < std::size(in); ++i) EXPECT_EQ(q6k::NearestInt(in[i]), want[i]) << in[i];
  EXPECT_EQ(q6k::NearestInt(1e30f), 4194303);  // clamped where ggml's trick is undefined
  EXPECT_EQ(q6k::NearestInt(-1e30f), -4194303);
}

TEST(LmHeadQuant, Q6_KPackingRoundTrips) {
  std::mt19937 rng(4);
  uint8_t q[256], back[256], block[210] = {};
  for (uint8_t& v : q) v = static_cast<uint8_t>(rng() % 64);
  q6k::PackQ6_K(q, block);
  q6k::UnpackQ6_K(block, back);
  EXPECT_EQ(0, std::memcmp(q, back, 256));
}

// ---------------------------------------------------------------------------------------------
// Kernels against scalar references, on every ISA.

class LmHeadKernelTest : public testing::IsaTest {};

// Q8_0 table from random rows, in ggml's layout and in the kernel's; an input prepared from x.
struct Q8Case {
  std::vector<uint8_t> ggml;
  std::unique_ptr<uint8_t, Free> table, input;
};
Q8Case MakeQ8Case(const codegen::Q8_0Gemv& gemv, int64_t vocab, const std::vector<float>& rows,
                  const std::vector<float>& x) {
  const int64_t n = gemv.n();
  const size_t row_bytes = codegen::Q8_0Gemv::RowBytes(n);
  Q8Case c{std::vector<uint8_t>(vocab * n / 32 * 34), Aligned(vocab * row_bytes),
           Aligned(gemv.InputBytes())};
  for (int64_t v = 0; v < vocab; ++v) {
    lm_head::QuantizeRowQ8_0Table(&rows[v * n], n, &c.ggml[v * n / 32 * 34]);
    codegen::Q8_0Gemv::PackRow(&c.ggml[v * n / 32 * 34], n, c.table.get() + v * row_bytes);
  }
  gemv.PrepareInput(x.data(), c.input.get());
  return c;
}

TEST_P(LmHeadKernelTest, Q8_0IntegerBlockSumsAreExact) {
  // d = 1 on both sides and integer inputs: every logit is an exact integer below 2^24.
  const int64_t n = 512, vocab = 37;
  codegen::Q8_0Gemv gemv(n, GetParam());
  std::mt19937 rng(5);
  std::vector<float> x(n);
  for (int64_t i = 0; i < n; ++i) x[i] = (i % 32 == 0) ? 127.0f : float(int(rng() % 255) - 127);
  const size_t row_bytes = codegen::Q8_0Gemv::RowBytes(n);
  auto table = Aligned(vocab * row_bytes), input = Aligned(gemv.InputBytes());
  std::vector<int8_t> w(vocab * n);
  std::vector<uint8_t> blocks(n / 32 * 34);
  for (int64_t v = 0; v < vocab; ++v) {
    for (int64_t b = 0; b < n / 32; ++b) {
      uint8_t* blk = &blocks[b * 34];
      const uint16_t one = FloatToHalf(1.0f);
      std::memcpy(blk, &one, 2);
      for (int i = 0; i < 32; ++i) {
        w[v * n + b * 32 + i] = static_cast<int8_t>(int(rng() % 255) - 127);
        blk[2 + i] = static_cast<uint8_t>(w[v * n + b * 32 + i]);
      }
    }
    codegen::Q8_0Gemv::PackRow(blocks.data(), n, table.get() + v * row_bytes);
  }
  gemv.PrepareInput(x.data(), input.get());
  std::vector<float> out(vocab, -1.0f);
  gemv.Run(table.get(), input.get(), 0, vocab, out.data());
  for (int64_t v = 0; v < vocab; ++v) {
    int64_t exact = 0;
    for (int64_t i = 0; i < n; ++i) exact += int64_t{w[v * n + i]} * static_cast<int64_t>(x[i]);
    EXPECT_EQ(out[v], static_cast<float>(exact)) << "row " << v;
  }
}

TEST_P(LmHeadKernelTest, Q8_0MatchesItsFloatOrderExactlyAndPlainMathClosely) {
  // Rows of 1, 2, 3 and 80 blocks: padded groups of 8 blocks and whole ones.
  for (int64_t n : {32, 64, 96, 2560}) {
    SCOPED_TRACE(n);
    const int64_t vocab = 37;
    codegen::Q8_0Gemv gemv(n, GetParam()), ref(n, Isa::kRef);
    auto c = MakeQ8Case(gemv, vocab, Normal(vocab * n, 0.05f, 6), Normal(n, 2.0f, 7));
    std::vector<float> got(vocab, -1), want(vocab, -2), plain(vocab);
    gemv.Run(c.table.get(), c.input.get(), 0, vocab, got.data());
    ref.Run(c.table.get(), c.input.get(), 0, vocab, want.data());
    EXPECT_EQ(got, want);
    // Sub-ranges give the same rows (threads split the vocabulary anywhere).
    std::vector<float> part(vocab, -3);
    gemv.Run(c.table.get(), c.input.get(), 3, 30, part.data());
    for (int64_t v = 3; v < 30; ++v) EXPECT_EQ(part[v], want[v]);
    EXPECT_EQ(part[2], -3);
    EXPECT_EQ(part[30], -3);
    // bitnet.cpp's math (ref::LmHeadQ8_0 with a Q8_0 input), sequential float order.
    std::vector<float> x = Normal(n, 2.0f, 7);
    ref::LmHeadQ8_0(x.data(), 1, n, c.ggml.data(), vocab, true, plain.data());
    for (int64_t v = 0; v < vocab; ++v) {
      double abs_sum = 0;  // sum of |block terms|: the scale of float rounding
      std::vector<uint8_t> xq(n / 32 * 34);
      ref::QuantizeRowQ8_0(x.data(), n, xq.data());
      for (int64_t b = 0; b < n / 32; ++b) {
        const uint8_t* wb = &c.ggml[(v * n / 32 + b) * 34];
        int32_t s = 0;
        for (int i = 0; i < 32; ++i) s += int8_t(wb[2 + i]) * int8_t(xq[b * 34 + 2 + i]);
        abs_sum += std::fabs(double(F16At(wb)) * F16At(&xq[b * 34]) * s);
      }
      EXPECT_NEAR(got[v], plain[v], 1e-5 * abs_sum + 1e-30) << "row " << v;
    }
  }
}

// Q6_K blocks with chosen quants, int8 scales and d.
std::unique_ptr<uint8_t, Free> RandomQ6KTable(int64_t n, int64_t vocab, int scale_max, float d,
                                              uint32_t seed) {
  std::mt19937 rng(seed);
  auto table = Aligned(vocab * n / 256 * 210);
  for (int64_t blk = 0; blk < vocab * n / 256; ++blk) {
    uint8_t* p = table.get() + blk * 210;
    uint8_t q[256];
    for (uint8_t& v : q) v = static_cast<uint8_t>(rng() % 64);
    q6k::PackQ6_K(q, p);
    for (int g = 0; g < 16; ++g)
      p[q6k::kScalesOffset + g] =
          static_cast<uint8_t>(int(rng() % (2 * scale_max + 1)) - scale_max);
    const uint16_t dh = FloatToHalf(d);
    std::memcpy(p + q6k::kDOffset, &dh, 2);
  }
  return table;
}

TEST_P(LmHeadKernelTest, Q6_KIntegerBlockSumsAreExact) {
  // d = 1, scales in [-4, 4], integer inputs with max 127 (so the Q8_K d is -1 and q = -x):
  // every logit is the exact integer sum_i s·(q-32)·x, below 2^24.
  const int64_t n = 512, vocab = 21;
  codegen::Q6KGemv gemv(n, GetParam());
  auto table = RandomQ6KTable(n, vocab, 4, 1.0f, 8);
  std::mt19937 rng(9);
  std::vector<float> x(n);
  for (int64_t i = 0; i < n; ++i) x[i] = (i % 256 == 0) ? 127.0f : float(int(rng() % 253) - 126);
  auto input = Aligned(gemv.InputBytes());
  gemv.PrepareInput(x.data(), input.get());
  std::vector<float> out(vocab, -1.0f);
  gemv.Run(table.get(), input.get(), 0, vocab, out.data());
  for (int64_t v = 0; v < vocab; ++v) {
    int64_t exact = 0;
    for (int64_t b = 0; b < n / 256; ++b) {
      const uint8_t* p = table.get() + (v * n / 256 + b) * 210;
      uint8_t q[256];
      q6k::UnpackQ6_K(p, q);
      for (int i = 0; i < 256; ++i) {
        exact += int64_t{static_cast<int8_t>(p[q6k::kScalesOffset + i / 16])} * (q[i] - 32) *
                 static_cast<int64_t>(x[b * 256 + i]);
      }
    }
    EXPECT_EQ(out[v], static_cast<float>(exact)) << "row " << v;
  }
}

TEST_P(LmHeadKernelTest, Q6_KMatchesItsFloatOrderExactlyAndPlainMathClosely) {
  for (int64_t n : {256, 512, 2560}) {
    SCOPED_TRACE(n);
    const int64_t vocab = 37;
    codegen::Q6KGemv gemv(n, GetParam()), ref(n, Isa::kRef);
    // Full-range scales (quantized from data) and the extreme ones (-128 and 127).
    auto table = Aligned(vocab * n / 256 * 210);
    const auto rows = Normal(vocab * n, 0.05f, 10);
    for (int64_t v = 0; v < vocab; ++v)
      lm_head::QuantizeRowQ6_K(&rows[v * n], n, table.get() + v * n / 256 * 210);
    table.get()[q6k::kScalesOffset] = 0x80;
    table.get()[q6k::kScalesOffset + 1] = 0x7F;
    const auto x = Normal(n, 2.0f, 11);
    auto input = Aligned(gemv.InputBytes());
    gemv.PrepareInput(x.data(), input.get());
    std::vector<float> got(vocab, -1), want(vocab, -2);
    gemv.Run(table.get(), input.get(), 0, vocab, got.data());
    ref.Run(table.get(), input.get(), 0, vocab, want.data());
    EXPECT_EQ(got, want);
    std::vector<float> part(vocab, -3);
    gemv.Run(table.get(), input.get(), 5, 6, part.data());
    EXPECT_EQ(part[5], want[5]);
    EXPECT_EQ(part[4], -3);
    EXPECT_EQ(part[6], -3);
    // The same math in int64 per block and double across blocks.
    for (int64_t v = 0; v < vocab; ++v) {
      double exact = 0, abs_sum = 0;
      for (int64_t b = 0; b < n / 256; ++b) {
        const uint8_t* p = table.get() + (v * n / 256 + b) * 210;
        const uint8_t* xb = input.get() + b * q6k::kQ8KBlockBytes;
        uint8_t q[256];
        q6k::UnpackQ6_K(p, q);
        int64_t s = 0;
        for (int i = 0; i < 256; ++i) {
          s += int64_t{static_cast<int8_t>(p[q6k::kScalesOffset + i / 16])} * (q[i] - 32) *
               static_cast<int8_t>(xb[q6k::kQ8KQsOffset + i]);
        }
        float dx;
        std::memcpy(&dx, xb, 4);
        const double term = double(F16At(p + q6k::kDOffset)) * dx * double(s);
        exact += term;
        abs_sum += std::fabs(term);
      }
      EXPECT_NEAR(got[v], exact, 1e-5 * abs_sum + 1e-30) << "row " << v;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, LmHeadKernelTest, ::testing::ValuesIn(testing::kAllIsas),
                         testing::IsaParamName);

// ---------------------------------------------------------------------------------------------
// Options, plans.

using testing::ExpectError;

std::string Golden(const std::string& name) {
  return testing::GoldenModelPath(name);
}

ModelOptions WithLmHead(const std::string& lm_head, const std::string& isa = "") {
  ModelOptions o;
  o.lm_head = lm_head;
  o.isa = isa;
  o.n_threads = 2;
  return o;
}

TEST(LmHeadOption, RefusesWhatItCannotDoClearly) {
  EXPECT_NE(ExpectError([] { lm_head::ParseLmHeadType("q4_0"); }).find("f16, q8_0 or q6_k"),
            std::string::npos);
  EXPECT_NE(ExpectError([] {
              Model::Load(Golden("tiny"), WithLmHead("q8_0", "ref"));
            }).find("--isa ref runs the interpreter"),
            std::string::npos);
  // e128-h1: n_embd 128 cannot hold 256-value Q6_K blocks.
  EXPECT_NE(ExpectError([] {
              Model::Load(Golden("e128-h1"), WithLmHead("q6_k"));
            }).find("multiple of 256"),
            std::string::npos);
}

// Row 0 after the prompt batch, then one row per teacher-forced greedy id.
std::vector<float> StepLogits(const Model& model, const testing::GoldenCase& c) {
  Session s(model, static_cast<int64_t>(c.prompt_ids.size() + c.greedy_ids.size() + 8));
  std::vector<float> all, row;
  s.Eval(c.prompt_ids, false, &row);
  all.insert(all.end(), row.begin(), row.end());
  for (size_t i = 0; i + 1 < c.greedy_ids.size(); ++i) {
    s.Eval(std::span(&c.greedy_ids[i], 1), false, &row);
    all.insert(all.end(), row.begin(), row.end());
  }
  return all;
}

TEST(LmHeadPlan, PlanCarriesTheQuantizedTable) {
  testing::TempDir dir;
  auto model = Model::Load(Golden("tiny"), WithLmHead("q6_k"));
  const std::string plan = dir.File("tiny-q6k.plan");
  model->SavePlan(plan);
  ModelOptions from_plan;
  from_plan.lm_head = "";  // the plan's
  auto loaded = Model::LoadPlan(plan, from_plan);
  EXPECT_EQ(loaded->options().lm_head, "q6_k");
  const testing::GoldenCase c = testing::LoadGoldenCase("tiny");
  EXPECT_EQ(StepLogits(*loaded, c), StepLogits(*model, c));
  // Same bytes per decode step: the quantized table is what the lm_head reads.
  EXPECT_EQ(loaded->DecodeWeightBytes(), model->DecodeWeightBytes());
  // A different --lm-head than the plan's is refused, naming both.
  const std::string e = ExpectError([&] { Model::LoadPlan(plan, WithLmHead("f16")); });
  EXPECT_NE(e.find("compiled with --lm-head q6_k, not f16"), std::string::npos) << e;
  auto f16 = Model::Load(Golden("tiny"));
  const std::string f16_plan = dir.File("tiny.plan");
  f16->SavePlan(f16_plan);
  EXPECT_NE(ExpectError([&] {
              Model::LoadPlan(f16_plan, WithLmHead("q8_0"));
            }).find("compiled with --lm-head f16, not q8_0"),
            std::string::npos);
  EXPECT_LT(model->DecodeWeightBytes(), f16->DecodeWeightBytes());
}

// ---------------------------------------------------------------------------------------------
// Deviation on the golden cases.

double Cosine(const float* a, const float* b, int64_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (int64_t i = 0; i < n; ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

struct Deviation {
  double min_cos = 1;
  int top1 = 0, rows = 0;
};
Deviation Compare(const std::vector<float>& ours, const std::vector<float>& theirs, int64_t vocab) {
  Deviation d;
  d.rows = static_cast<int>(ours.size() / vocab);
  for (int r = 0; r < d.rows; ++r) {
    d.min_cos = std::min(d.min_cos, Cosine(&ours[r * vocab], &theirs[r * vocab], vocab));
    d.top1 +=
        testing::ArgMax(&ours[r * vocab], vocab) == testing::ArgMax(&theirs[r * vocab], vocab);
  }
  return d;
}

TEST(LmHeadGolden, DeviationFromBitnetCppAndFromTheDefaultIsSmall) {
  std::printf(
      "| case | lm_head | min cos vs golden | top-1 vs golden | min cos vs f16 | top-1 vs f16 |\n");
  std::printf("| --- | --- | ---: | ---: | ---: | ---: |\n");
  for (const std::string& name : testing::GoldenCaseNames()) {
    const testing::GoldenCase c = testing::LoadGoldenCase(name);
    const auto base = StepLogits(*Model::Load(c.model_path, WithLmHead("f16")), c);
    for (const char* lm : {"f16", "q8_0", "q6_k"}) {
      std::unique_ptr<Model> model;
      try {
        model = Model::Load(c.model_path, WithLmHead(lm));
      } catch (const Error& e) {
        std::printf("| %s | %s | n/a (%s) | | | |\n", name.c_str(), lm, e.what());
        // Q6_K super-blocks are 256 values: e128-h1 (128) and mha-hd100 (3200) cannot have one.
        EXPECT_TRUE(std::string(lm) == "q6_k" && c.n_embd % 256 != 0) << e.what();
        continue;
      }
      const auto steps = StepLogits(*model, c);
      const Deviation g = Compare(steps, c.step_logits, c.n_vocab);
      const Deviation b = Compare(steps, base, c.n_vocab);
      std::printf("| %s | %s | %.6f | %d/%d | %.6f | %d/%d |\n", name.c_str(), lm, g.min_cos,
                  g.top1, g.rows, b.min_cos, b.top1, b.rows);
      // Loose sanity bounds; measured worst: min cos 0.99946 vs golden, 0.99977 vs f16, top-1
      // 31/32 (README, "--lm-head").
      EXPECT_GT(g.min_cos, 0.99) << name << " " << lm;
      EXPECT_GE(g.top1 * 10, g.rows * 9) << name << " " << lm;
      EXPECT_GT(b.min_cos, 0.99) << name << " " << lm;
      EXPECT_GE(b.top1 * 10, b.rows * 9) << name << " " << lm;
    }
  }
}

}  // namespace
}  // namespace bitjit
