// Shared skeleton of the ternary matmul JIT kernels (ternary_gemv.h, ternary_gemm.h).
//
// The skeleton owns everything but the inner product: the walk over row tiles and token
// blocks, the K loop (unrolled, with a generated tail chunk for K % 16 != 0), the masked
// stores that keep a call inside [row_begin, row_end), and the int32 / float epilogue. A
// subclass supplies the microkernel: how one 16-k chunk of a tile is multiplied into its
// accumulators for `nt` tokens, and where the results end up.
//
// Vector shape: lanes L = 16 (zmm, AVX-512) or 8 (ymm, AVX2 / AVX-VNNI); a tile of R rows is
// V = R / L vectors. Accumulator vector (t, v) holds rows v*L .. v*L+L-1 of token t.
#pragma once

#include <functional>
#include <initializer_list>
#include <string>

#include "codegen/cpu_features.h"
#include "codegen/jit/jit_generator.h"
#include "codegen/ternary/ternary_kernel_args.h"
#include "codegen/ternary/ternary_layout.h"

namespace bitjit::codegen {

// Vector constants the kernels use: byte masks 0x03 << 2j, int16 ones for vpmaddwd, the
// 1.6-bit lookup tables (ternary_layout.h: Base3Tables; low in two 64-byte halves), and for the
// AVX2 1.6-bit unpack (EmitBase3DigitsAvx2) the bytes it subtracts and its three vpshufb tables.
enum class TernaryConst {
  kMask03,
  kMask0C,
  kMask30,
  kMaskC0,
  kInt16Ones,
  kBase3Band,
  kBase3Top,
  kBase3Low0,
  kBase3Low1,
  kB3Sub86,
  kB3Sub172,
  kB3Sub27,
  kB3Sub54,
  kB3Sub9,
  kB3Sub18,
  kB3DigitTable,  // low nibble of d * c (d = 43, 27, 9) -> c
  kB3C0Table,     // x = c_0 + 3 c_1 (0..8) -> c_0
  kB3C1Table,     // x -> c_1
  kCount
};

struct TernaryKernelParams {
  int64_t k = 0;  // K, baked into the code
  Isa isa = Isa::kAvx2;
  int tile_rows = 0;    // R: rows per tile of the packed layout
  int tile_tokens = 1;  // tokens that share each unpacked weight chunk
  TernaryOutput output = TernaryOutput::kI32;
  int prefetch_bytes = 0;  // software prefetch distance ahead of the weight stream; 0 = none
  TernaryPacking packing = TernaryPacking::k2Bit;  // k1p6Bit: kAvx512Vnni and kAvx2 kernels
};

// Vector lanes (int32) of the Isa's kernels: 16 for AVX-512, 8 for AVX2 / AVX-VNNI.
int TernaryLanes(Isa isa);

class TernaryKernelBase : public JitGenerator {
 public:
  using Fn = void (*)(const TernaryKernelArgs*);
  Fn fn() const { return entry<Fn>(); }
  const TernaryKernelParams& params() const { return p_; }

 protected:
  using Vmm = Xbyak::Xmm;  // holds a Ymm or a Zmm: Xbyak encodes by the register's kind

  // Throws bitjit::Error for parameters the skeleton cannot generate.
  TernaryKernelBase(std::string name, const TernaryKernelParams& params);

  // --- The microkernel, supplied by subclasses ---
  virtual void ZeroAccumulators(int nt) = 0;
  // Multiplies chunk c of the current unrolled block (weights at reg_w + c*4R, activations at
  // reg_q + t*K + block_k*c) into the accumulators. valid_k (1..block_k) is how many of the
  // chunk's k are real; past them the weights are 0 and activation bytes must not be read.
  // (A "chunk" here is a 16-k chunk or a 20-k 1.6-bit block alike.)
  virtual void EmitChunk(int nt, int c, int valid_k) = 0;
  virtual int ChunkUnroll() const = 0;  // chunks per K-loop iteration
  virtual int FlushPeriod() const {
    return 0;
  }  // if > 0: EmitFlush at least every this many chunks
  virtual void EmitFlush(int /*nt*/) {}
  virtual void EmitReduce(int /*nt*/) {}  // after the K loop: make Result() hold sum c*q
  virtual Vmm Result(int t, int v) const = 0;
  virtual Vmm Scratch(int i) const = 0;  // i < 3: free after EmitReduce, never a Result

  // --- Helpers for subclasses ---
  Vmm V(int idx) const;  // vector register idx as ymm or zmm
  int max_vregs() const { return zmm_ ? 32 : 16; }
  void CheckRegisterBudget(int needed) const;
  Xbyak::Address WeightAddr(int c, int v) const;  // vector v of chunk c of the block
  Xbyak::RegExp QExp(int t, int c, int j) const;  // k-quad j of chunk c for token t
  // Bytes of k-quad j that are real when the chunk has valid_k real k: 4, 1..3, or 0.
  static int QuadBytes(int valid_k, int j);
  // Quads of a chunk with valid_k real k that hold any (planes_ for a whole chunk).
  int Quads(int valid_k) const;
  // 1.6-bit unpack of the weight vector w: lo4 = c_0..c_3 as a 2-bit layout byte, band =
  // 86 * c_4 (or c_4 itself when `top`). w is left intact; lo4, band and w must differ. The
  // first low-table half must be in a register (vpermi2b's first table cannot be in memory).
  void EmitBase3Unpack(const Vmm& w, const Vmm& lo4, const Vmm& band, bool top = false);
  // AVX2 1.6-bit unpack (no vpermb): the five codes of the bytes in w, each as a byte vector
  // of c_j (0..2), in the order j = 4, 3, 2, 0, 1. Code j is written to code(j), then use(j)
  // is called (it may multiply and reuse the register before the next code). w, t and x are
  // clobbered; code(j) must differ from all three. 21 vector ops per vector of bytes.
  void EmitBase3DigitsAvx2(const Vmm& w, const Vmm& t, const Vmm& x,
                           const std::function<Vmm(int)>& code,
                           const std::function<void(int)>& use);
  // dst = the 4 activation bytes of quad j in every lane; reads only `bytes` (1..4) bytes.
  void BroadcastQ(const Vmm& dst, int t, int c, int j, int bytes);
  void Zero(const Vmm& v);
  void And(const Vmm& dst, const Vmm& a, const Xbyak::Operand& b);
  void Load(const Vmm& dst, const Xbyak::Address& src);
  void Prefetch(int c);  // prefetch the weights of chunk c + prefetch_bytes ahead
  // Constants live in registers first, second, ... while the ISA has registers left, else
  // are read from the constant pool as memory operands (AVX2's 16 registers run out).
  void PlaceConstants(int first, std::initializer_list<TernaryConst> wanted);
  void LoadConstants();  // loads the constants placed in registers
  template <typename Emit>
  void WithConst(TernaryConst c, Emit&& emit) {
    const int reg = const_reg_[static_cast<int>(c)];
    if (reg >= 0) {
      emit(V(reg));
    } else {
      emit(ConstAddr(c));
    }
  }
  static TernaryConst ByteMask(int j) { return static_cast<TernaryConst>(j); }

  const TernaryKernelParams p_;
  const bool zmm_;         // AVX-512 kernels use zmm; AVX2 / AVX-VNNI use ymm0-15 (VEX)
  const bool vnni_;        // vpdpbusd available
  const int lanes_;        // L
  const int vecs_;         // V = R / L
  const int chunk_bytes_;  // 4R
  const bool base3_;       // 1.6-bit packing
  const int block_k_;      // k per chunk: 16 or 20
  const int planes_;       // k-quads per chunk: 4 or 5

  // GPR roles (rax, rcx, rdx are scratch).
  const Xbyak::Reg64 reg_args_ = Xbyak::util::rdi;
  const Xbyak::Reg64 reg_w_ = Xbyak::util::rsi;  // weight walker inside a tile
  const Xbyak::Reg64 reg_q_ = Xbyak::util::r8;   // activation walker for the token block
  const Xbyak::Reg64 reg_w_tile_ = Xbyak::util::r9;
  const Xbyak::Reg64 reg_tile_row_ = Xbyak::util::r10;
  const Xbyak::Reg64 reg_cnt_ = Xbyak::util::r11;
  const Xbyak::Reg64 reg_q_blk_ = Xbyak::util::rbx;
  const Xbyak::Reg64 reg_out_blk_ = Xbyak::util::rbp;
  const Xbyak::Reg64 reg_tokens_ = Xbyak::util::r12;
  const Xbyak::Reg64 reg_q_sum_ = Xbyak::util::r13;
  const Xbyak::Reg64 reg_q_scale_ = Xbyak::util::r14;
  const Xbyak::Reg64 reg_out_ = Xbyak::util::r15;

 private:
  void generate() final;
  void EmitTokenBlock(int nt);
  void EmitKLoop(int nt);
  void EmitStores(int nt);
  void EmitZmmRowMask(int v, const Xbyak::Opmask& k);
  void EmitYmmRowMask(int v, const Vmm& mask, const Vmm& t1, const Vmm& t2);
  void EmitEpilogue(int t, const Vmm& res, const Vmm& tmp);
  void EmitConstants();
  Xbyak::Address ConstAddr(TernaryConst c);
  void Base3Lookup(TernaryConst table, const Vmm& dst, const Vmm& index);

  Xbyak::Label l_const_;
  int const_reg_[static_cast<int>(TernaryConst::kCount)];  // register of each, -1: in memory
};

}  // namespace bitjit::codegen
