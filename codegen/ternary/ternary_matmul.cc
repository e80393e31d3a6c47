#include "codegen/ternary/ternary_matmul.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <vector>

#include "codegen/jit/kernel_cache.h"
#include "codegen/ternary/ternary_epilogue.h"
#include "codegen/ternary/ternary_gemm.h"
#include "codegen/ternary/ternary_gemm_amx.h"
#include "codegen/ternary/ternary_gemv.h"
#include "ir/base/error.h"

namespace bitjit::codegen {
namespace {

std::shared_ptr<const TernaryKernelBase> GetKernel(const TernaryKernelParams& p, bool gemm) {
  KernelKey key;
  key.family = std::string(gemm ? "ternary_gemm" : "ternary_gemv") +
               (p.output == TernaryOutput::kF32 ? "_f32" : "_i32");
  key.shape = {p.k};
  key.isa = p.isa;
  key.tile = {p.tile_rows, gemm ? p.tile_tokens : 1, p.prefetch_bytes, static_cast<int>(p.packing)};
  auto kernel = KernelCache::Global().GetOrCreate(key, [&]() -> std::unique_ptr<JitGenerator> {
    if (gemm) return std::make_unique<TernaryGemmKernel>(p);
    return std::make_unique<TernaryGemvKernel>(p);
  });
  return std::static_pointer_cast<const TernaryKernelBase>(kernel);
}

std::shared_ptr<const TernaryGemmAmxKernel> GetAmxKernel(const TernaryAmxParams& p) {
  KernelKey key;
  key.family =
      std::string("ternary_gemm_amx") + (p.output == TernaryOutput::kF32 ? "_f32" : "_i32");
  key.shape = {p.k};
  key.isa = Isa::kAvx512Amx;
  key.tile = {p.tile_rows, TernaryGemmAmxKernel::kTileTokens, static_cast<int>(p.packing)};
  auto kernel = KernelCache::Global().GetOrCreate(key, [&]() -> std::unique_ptr<JitGenerator> {
    return std::make_unique<TernaryGemmAmxKernel>(p);
  });
  return std::static_pointer_cast<const TernaryGemmAmxKernel>(kernel);
}

// 64-byte aligned view of at least `bytes` of `buf`, grown (zeroed) when too small.
uint8_t* AlignedScratch(std::vector<uint8_t>& buf, size_t bytes) {
  if (buf.size() < bytes + 64) buf.assign(bytes + 64, 0);
  const uintptr_t at = reinterpret_cast<uintptr_t>(buf.data());
  return buf.data() + ((64 - at % 64) % 64);
}

// Per-thread scratch of the AMX GEMM: the unpacked B tiles of one row block, the C tiles, and
// the padded copy of the last tokens. Grown to the largest K this thread has run.
struct AmxScratch {
  std::vector<uint8_t> b, c, tail;
};

}  // namespace

TernaryTile DefaultTernaryTile(Isa isa) {
  switch (isa) {
    case Isa::kAvx512:
    case Isa::kAvx512Vnni:
    case Isa::kAvx512Amx:  // the VNNI kernels' tile; the AMX GEMM reads the same layout
      return {32, 8};
    case Isa::kAvx2:
    case Isa::kAvxVnni:
      return {16, 4};
    case Isa::kRef:
      break;
  }
  return {16, 1};
}

int DefaultGemvPrefetchBytes(Isa isa, TernaryPacking packing) {
  if (isa == Isa::kRef) return 0;
  const CpuIdentity& cpu = HostCpu();
  if (cpu.vendor == "GenuineIntel") return IsAvx512Isa(isa) ? 1536 : 2048;
  if (cpu.vendor == "AuthenticAMD" && cpu.family >= 26) {
    // The AVX2 base-3 unpack is bound by its own instructions; prefetch only adds to them.
    return isa == Isa::kAvx2 && packing == TernaryPacking::k1p6Bit ? 0 : 4096;
  }
  return 0;
}

bool TernaryPackingSupported(Isa isa, TernaryPacking packing) {
  if (packing == TernaryPacking::k2Bit || isa == Isa::kRef || isa == Isa::kAvx2) return true;
  return VectorIsa(isa) == Isa::kAvx512Vnni && HasAvx512Vbmi();
}

TernaryMatmul::TernaryMatmul(int64_t k, int64_t n, Isa isa, TernaryTile tile,
                             std::optional<int> gemv_prefetch_bytes)
    : k_(k), n_(n), isa_(ResolveIsa(isa)), tile_(tile) {
  const TernaryTile def = DefaultTernaryTile(isa_);
  if (tile_.rows == 0) tile_.rows = def.rows;
  if (tile_.tokens == 0) tile_.tokens = def.tokens;
  ValidateTernaryShape(k, n, tile_.rows);
  if (!TernaryPackingSupported(isa_, tile_.packing)) {
    Fail(TernaryPackingName(tile_.packing), " ternary weights need the avx2 kernels, or the ",
         "avx512vnni ones on a CPU with AVX512_VBMI (ISA ", IsaName(isa_), ", ", HostCpu().brand,
         ")");
  }
  if (isa_ == Isa::kRef) return;
  gemv_prefetch_bytes_ =
      gemv_prefetch_bytes.value_or(DefaultGemvPrefetchBytes(isa_, tile_.packing));
  for (TernaryOutput output : {TernaryOutput::kI32, TernaryOutput::kF32}) {
    TernaryKernelParams p;
    p.k = k;
    p.isa = VectorIsa(isa_);  // avx512amx shares the avx512vnni kernels
    p.tile_rows = tile_.rows;
    p.tile_tokens = tile_.tokens;
    p.output = output;
    p.packing = tile_.packing;
    const int o = output == TernaryOutput::kF32;
    kernels_[o][1] = GetKernel(p, /*gemm=*/true);
    p.prefetch_bytes = gemv_prefetch_bytes_;
    kernels_[o][0] = GetKernel(p, /*gemm=*/false);
    if (isa_ == Isa::kAvx512Amx) {
      TernaryAmxParams amx;
      amx.k = k;
      amx.tile_rows = tile_.rows;
      amx.packing = tile_.packing;
      amx.output = output;
      amx_[o] = GetAmxKernel(amx);
    }
  }
}

TernaryPackedWeights TernaryMatmul::Pack(const uint8_t* i2s, float weight_scale) const {
  return PackTernaryWeights(i2s, k_, n_, weight_scale, tile_.rows, tile_.packing);
}

size_t TernaryMatmul::PackedBytes() const {
  return TernaryPackedBytes(k_, n_, tile_.rows, tile_.packing);
}

TernaryPackedWeights TernaryMatmul::Allocate(float weight_scale, WeightArena* arena) const {
  return AllocateTernaryPacked(k_, n_, tile_.rows, weight_scale, arena, tile_.packing);
}

TernaryPackedWeights TernaryMatmul::View(float weight_scale,
                                         std::shared_ptr<uint8_t[]> bytes) const {
  return ViewTernaryPacked(k_, n_, tile_.rows, weight_scale, tile_.packing, std::move(bytes));
}

std::string TernaryMatmul::F32KernelNames() const {
  if (isa_ == Isa::kRef) return "ref";
  constexpr int f32 = 1;  // kernels_[output == kF32]
  std::string names = kernels_[f32][0]->name() + " / " + kernels_[f32][1]->name();
  if (amx_[f32])
    names += " / " + amx_[f32]->name() + " from " + std::to_string(amx_min_tokens_) + " tokens";
  return names;
}

void TernaryMatmul::ActivationSums(const int8_t* q, int64_t k, int64_t n_tokens, int32_t* q_sum) {
  for (int64_t t = 0; t < n_tokens; ++t) {
    int32_t sum = 0;
    for (int64_t i = 0; i < k; ++i) sum += q[t * k + i];
    q_sum[t] = sum;
  }
}

void TernaryMatmul::RunI32(const TernaryPackedWeights& w, const int8_t* q, int64_t n_tokens,
                           int64_t row_begin, int64_t row_end, int32_t* out, int64_t ld_out,
                           const int32_t* q_sum) const {
  Run(w, q, nullptr, n_tokens, row_begin, row_end, out, ld_out, q_sum, TernaryOutput::kI32);
}

void TernaryMatmul::RunF32(const TernaryPackedWeights& w, const int8_t* q, const float* q_scale,
                           int64_t n_tokens, int64_t row_begin, int64_t row_end, float* y,
                           int64_t ld_y, const int32_t* q_sum) const {
  Run(w, q, q_scale, n_tokens, row_begin, row_end, y, ld_y, q_sum, TernaryOutput::kF32);
}

void TernaryMatmul::Run(const TernaryPackedWeights& w, const int8_t* q, const float* q_scale,
                        int64_t n_tokens, int64_t row_begin, int64_t row_end, void* out,
                        int64_t ld_out, const int32_t* q_sum, TernaryOutput output) const {
  if (w.k != k_ || w.n != n_ || w.tile_rows != tile_.rows || w.packing != tile_.packing) {
    Fail("ternary matmul: weights packed as [", w.k, ", ", w.n, "] / ", w.tile_rows, " rows / ",
         TernaryPackingName(w.packing), ", kernel wants [", k_, ", ", n_, "] / ", tile_.rows,
         " rows / ", TernaryPackingName(tile_.packing));
  }
  if (ld_out == 0) ld_out = n_;
  if (row_begin < 0 || row_begin > row_end || row_end > n_ || ld_out < row_end) {
    Fail("ternary matmul: rows [", row_begin, ", ", row_end, ") with ld ", ld_out,
         " do not fit N = ", n_);
  }
  if (n_tokens < 0) Fail("ternary matmul: negative token count");
  if (n_tokens == 0 || row_begin == row_end) return;

  // Sum of q per token, for dot = sum c*q - sum q. Small counts stay on the stack.
  std::array<int32_t, 64> local_sums;
  std::vector<int32_t> heap_sums;
  if (q_sum == nullptr) {
    int32_t* sums = local_sums.data();
    if (n_tokens > static_cast<int64_t>(local_sums.size())) {
      heap_sums.resize(static_cast<size_t>(n_tokens));
      sums = heap_sums.data();
    }
    ActivationSums(q, k_, n_tokens, sums);
    q_sum = sums;
  }

  if (isa_ == Isa::kRef) {
    RunRef(w, q, q_scale, n_tokens, row_begin, row_end, out, ld_out, q_sum, output);
    return;
  }
  TernaryKernelArgs args;
  args.weights = w.data.get();
  args.q = q;
  args.q_sum = q_sum;
  args.out = out;
  args.q_scale = q_scale;
  args.ld_out = ld_out;
  args.n_tokens = n_tokens;
  args.row_begin = static_cast<int32_t>(row_begin);
  args.row_end = static_cast<int32_t>(row_end);
  args.weight_scale = w.scale;
  const int o = output == TernaryOutput::kF32;
  if (amx_[o] != nullptr && n_tokens >= amx_min_tokens_) {
    RunAmx(args, output);
    return;
  }
  kernels_[o][n_tokens > 1 ? 1 : 0]->fn()(&args);
}

// The AMX kernel reads KPad bytes per token: tokens whose rows would run past the end of q
// (the last ones, when K is not a multiple of 64) go through a padded per-thread copy.
// Long prompts run in chunks of tokens whose activations (chunk x K bytes, ~1 MiB) stay in L2
// next to the unpacked weights while every row block passes over them; each chunk unpacks
// the weights again, which is cheap against 128+ tokens of tile multiplies.
void TernaryMatmul::RunAmx(const TernaryKernelArgs& args, TernaryOutput output) const {
  const TernaryGemmAmxKernel& kernel = *amx_[output == TernaryOutput::kF32];
  const int64_t k_pad = kernel.k_pad();
  const int64_t tile = TernaryGemmAmxKernel::kTileTokens;
  const int64_t chunk =
      std::max<int64_t>(2 * tile, (int64_t{1} << 20) / k_ / (2 * tile) * 2 * tile);
  thread_local AmxScratch scratch;
  TernaryAmxArgs amx;
  amx.b_scratch = AlignedScratch(scratch.b, kernel.ScratchBytes());
  amx.c_scratch =
      reinterpret_cast<int32_t*>(AlignedScratch(scratch.c, TernaryGemmAmxKernel::kCScratchBytes));
  for (int64_t first = 0; first < args.n_tokens; first += chunk) {
    const int64_t n_tokens = std::min(chunk, args.n_tokens - first);
    const int64_t readable = args.n_tokens - first;  // tokens of q from `first` on
    int64_t n_main = n_tokens / tile * tile;
    while (n_main > 0 && (n_main - 1) * k_ + k_pad > readable * k_) n_main -= tile;
    const int64_t n_tail = n_tokens - n_main;
    const int64_t tail_rows = (n_tail + tile - 1) / tile * tile;

    amx.base = args;
    amx.base.q = args.q + first * k_;
    amx.base.q_sum = args.q_sum + first;
    if (args.q_scale != nullptr) amx.base.q_scale = args.q_scale + first;
    amx.base.out = static_cast<char*>(args.out) + first * args.ld_out * 4;
    amx.base.n_tokens = n_tokens;
    amx.n_main = n_main;
    uint8_t* tail = AlignedScratch(scratch.tail, static_cast<size_t>(tail_rows * k_pad));
    for (int64_t t = 0; t < n_tail; ++t) {
      std::memcpy(tail + t * k_pad, amx.base.q + (n_main + t) * k_, static_cast<size_t>(k_));
    }
    amx.q_tail = reinterpret_cast<const int8_t*>(tail);
    kernel.fn()(&amx);
  }
}

// Portable path over the packed layout: decodes each byte of a row's chunk once.
void TernaryMatmul::RunRef(const TernaryPackedWeights& w, const int8_t* q, const float* q_scale,
                           int64_t n_tokens, int64_t row_begin, int64_t row_end, void* out,
                           int64_t ld_out, const int32_t* q_sum, TernaryOutput output) const {
  std::vector<int8_t> row(static_cast<size_t>(k_));
  for (int64_t r = row_begin; r < row_end; ++r) {
    for (int64_t k = 0; k < k_; ++k) row[k] = static_cast<int8_t>(PackedTernaryWeight(w, r, k));
    for (int64_t t = 0; t < n_tokens; ++t) {
      int32_t dot = 0;
      for (int64_t k = 0; k < k_; ++k) dot += row[k] * q[t * k_ + k];
      if (output == TernaryOutput::kI32) {
        static_cast<int32_t*>(out)[t * ld_out + r] = dot;
      } else {
        static_cast<float*>(out)[t * ld_out + r] =
            TernaryEpilogue(dot, q_sum[t], q_scale[t], w.scale);
      }
    }
  }
}

}  // namespace bitjit::codegen
