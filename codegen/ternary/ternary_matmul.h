// The front door of the ternary matmul (BitLinear's integer core) for the runtime:
//
//   TernaryMatmul mm(k, n, ResolveIsa(BestIsa()));
//   TernaryPackedWeights w = mm.Pack(i2s_codes, weight_scale);   // once, at load time
//   mm.RunI32(w, q, n_tokens, row_begin, row_end, out);           // per call, any thread
//
// One token runs the GEMV kernel (weight streaming), several the GEMM kernel (token tiles).
// On avx512amx the GEMV and small GEMMs run the avx512vnni kernels, and token counts from
// amx_min_tokens() on the AMX-INT8 tile GEMM (ternary_gemm_amx.h), all over one packing.
// The tile also says how the weights are packed: 2 bits, or 1.6 bits (5 per byte; avx2, and
// avx512vnni with VBMI), e.g. TernaryMatmul(k, n, isa, {32, 8, TernaryPacking::k1p6Bit}).
// Kernels come from KernelCache::Global(), so equal (K, ISA, tile, packing) share code. Isa::kRef
// runs a portable C++ loop over the same packed layout (PackedTernaryWeight), which is also how the
// layout itself is tested against ref::TernaryMatmulI32 on the original I2_S bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "codegen/cpu_features.h"
#include "codegen/ternary/ternary_kernel_base.h"
#include "codegen/ternary/ternary_layout.h"

namespace bitjit::codegen {

struct TernaryTile {
  int rows = 0;    // rows per tile of the packed layout; 0 = the ISA's default
  int tokens = 0;  // tokens per GEMM block; 0 = the ISA's default
  TernaryPacking packing = TernaryPacking::k2Bit;  // codes per byte: 4, or 5 (1.6 bits)
};

// AVX-512: 32 rows x 8 tokens; AVX2 / AVX-VNNI: 16 rows x 4 tokens; ref: 16 rows x 1 token.
// All 2 bits.
TernaryTile DefaultTernaryTile(Isa isa);

// How far ahead of its weight stream the GEMV (decode) prefetches, in bytes, on this CPU.
// One core keeps too few misses in flight with the hardware prefetchers alone on two of the
// CPUs we measured (bench/ternary_gemv_bench TernaryGemvPrefetch, 1 thread, K2560 x N6912):
//  - Intel Xeon, Sapphire Rapids class: avx512vnni 1.6-bit 386 -> 259 us and 2-bit 455 -> 273
//    us at 1536 B; avx2 2-bit 369 -> 273 us and 1.6-bit 749 -> 458 us at 2048 B.
//  - AMD Zen 5 (family 26): avx512vnni 1.6-bit 127 -> 102 us (26 -> 32 GB/s, the read
//    roofline 31), 2-bit 146 -> 130 us, avx2 2-bit 183 -> 147 us at 4096 B; avx2 1.6-bit,
//    bound by its unpack, 310 -> 318 us, so none there. The whole 2B-4T model (bitjit bench
//    tg64, four interleaved rounds): 1 thread 23.8 / 24.6 / 27.9 / 27.7 -> 30.3 / 30.4 / 26.8
//    / 30.0 tok/s, 2 threads 33.6 / 33.3 / 36.9 / 32.8 -> 36.2 / 52.9 / 50.9 / 36.1.
// Elsewhere none: on Zen 4 software prefetch did not pay when it was measured. bitjit tune
// measures the distance per shape (tile_tuner.h).
int DefaultGemvPrefetchBytes(Isa isa, TernaryPacking packing);

// True when `isa`'s kernels read `packing` on this CPU: 2 bits everywhere; 1.6 bits on ref,
// avx2 and on avx512vnni with AVX512_VBMI (not avx512 without VNNI, nor avxvnni).
bool TernaryPackingSupported(Isa isa, TernaryPacking packing);

// Token count from which the AMX GEMM beats the avx512vnni GEMM on this machine class
// (Sapphire Rapids, bench/ternary_gemm_amx_bench, 1.6 bits, K = 2560 and 6912: VNNI ahead at
// 8 tokens, AMX at 12).
inline constexpr int64_t kTernaryAmxMinTokens = 12;

class TernaryGemmAmxKernel;

class TernaryMatmul {
 public:
  // Throws bitjit::Error if the CPU cannot run `isa` (see ResolveIsa), on bad shapes, on a
  // tile the ISA's kernels cannot hold in registers, or on a prefetch distance they refuse.
  // gemv_prefetch_bytes: the GEMV's software prefetch distance (bitjit tune's; a multiple of
  // 64, at most 1 MiB); unset: DefaultGemvPrefetchBytes. The GEMM's stays none.
  TernaryMatmul(int64_t k, int64_t n, Isa isa, TernaryTile tile = {},
                std::optional<int> gemv_prefetch_bytes = {});

  int64_t k() const { return k_; }
  int64_t n() const { return n_; }
  Isa isa() const { return isa_; }
  const TernaryTile& tile() const { return tile_; }
  int gemv_prefetch_bytes() const { return gemv_prefetch_bytes_; }  // 0 for kRef

  // Repacks an I2_S tensor (ne = [k, n]; I2sCodeBytes(k * n) bytes of codes) for this matmul.
  TernaryPackedWeights Pack(const uint8_t* i2s, float weight_scale) const;
  // Bytes of this matmul's packed weights, and a zeroed matrix of them (ternary_layout.h:
  // AllocateTernaryPacked) to fill with PackTernaryRows or a plan's copy.
  size_t PackedBytes() const;
  TernaryPackedWeights Allocate(float weight_scale, WeightArena* arena = nullptr) const;
  // This matmul's packed weights over PackedBytes() bytes held elsewhere (ViewTernaryPacked).
  TernaryPackedWeights View(float weight_scale, std::shared_ptr<uint8_t[]> bytes) const;

  // out[t * ld_out + r] = sum_k w[r][k] * q[t * k + k'] for t < n_tokens, r in
  // [row_begin, row_end); nothing else of `out` is written, so threads can split the rows.
  // ld_out = 0 means n. q_sum (optional) holds each token's sum of q; computed when null.
  void RunI32(const TernaryPackedWeights& w, const int8_t* q, int64_t n_tokens, int64_t row_begin,
              int64_t row_end, int32_t* out, int64_t ld_out = 0,
              const int32_t* q_sum = nullptr) const;

  // The same rows through BitLinear's fused float epilogue (ternary_epilogue.h):
  // y[t * ld_y + r] = ((float)(dot + q_sum) - (float)q_sum) / q_scale[t] * w.scale.
  void RunF32(const TernaryPackedWeights& w, const int8_t* q, const float* q_scale,
              int64_t n_tokens, int64_t row_begin, int64_t row_end, float* y, int64_t ld_y = 0,
              const int32_t* q_sum = nullptr) const;

  // avx512amx: the AMX GEMM runs from this many tokens (default kTernaryAmxMinTokens); tests
  // and benchmarks lower it to exercise the AMX kernels on any token count. No effect
  // elsewhere. Set before the matmul is shared between threads.
  int64_t amx_min_tokens() const { return amx_min_tokens_; }
  void set_amx_min_tokens(int64_t tokens) { amx_min_tokens_ = tokens; }
  bool has_amx() const { return amx_[0] != nullptr; }

  // The float-output kernels this matmul runs, for schedules and logs: "GEMV / GEMM", plus
  // " / AMX GEMM from N tokens" on avx512amx; "ref" for kRef.
  std::string F32KernelNames() const;

  // q_sum[t] = sum of the k bytes of token t.
  static void ActivationSums(const int8_t* q, int64_t k, int64_t n_tokens, int32_t* q_sum);

 private:
  void Run(const TernaryPackedWeights& w, const int8_t* q, const float* q_scale, int64_t n_tokens,
           int64_t row_begin, int64_t row_end, void* out, int64_t ld_out, const int32_t* q_sum,
           TernaryOutput output) const;
  void RunRef(const TernaryPackedWeights& w, const int8_t* q, const float* q_scale,
              int64_t n_tokens, int64_t row_begin, int64_t row_end, void* out, int64_t ld_out,
              const int32_t* q_sum, TernaryOutput output) const;
  void RunAmx(const TernaryKernelArgs& args, TernaryOutput output) const;

  int64_t k_, n_;
  Isa isa_;
  TernaryTile tile_;
  int gemv_prefetch_bytes_ = 0;
  // [output kind][0 = GEMV, 1 = GEMM]; null for kRef.
  std::shared_ptr<const TernaryKernelBase> kernels_[2][2];
  // [output kind]; null unless the isa is avx512amx.
  std::shared_ptr<const TernaryGemmAmxKernel> amx_[2];
  int64_t amx_min_tokens_ = kTernaryAmxMinTokens;
};

}  // namespace bitjit::codegen
