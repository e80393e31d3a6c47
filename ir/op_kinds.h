// The one list of op kinds. Each entry: the OpKind enumerator, the name the IR printer and plans
// use, and the suffix of the function that prepares its step (runtime/ops/op_step.h:
// Prepare<Suffix>, defined in the op's own file under runtime/ops/). Adding an op: a line here,
// its builder and checks in ir/, and one file in runtime/ops/.
#pragma once

// X(enumerator, printed name, prepare suffix)
#define BITJIT_OP_KINDS(X)                                                                        \
  X(kInput, "input", Input)                    /* a step input: token ids, positions, rows */     \
  X(kConstant, "const", Constant)              /* a weight tensor */                              \
  X(kEmbedding, "embedding", Embedding)        /* table rows (f16, q8_0, q6_k) for ids, as f32 */ \
  X(kRmsNorm, "rms_norm", RmsNorm)             /* x / sqrt(mean(x^2) + eps) per row, no weight */ \
  X(kMul, "mul", Mul)                          /* element-wise; a rank-1 right operand        */  \
  X(kAdd, "add", Add)                          /*   broadcasts over rows                      */  \
  X(kReluSqr, "relu_sqr", ReluSqr)             /* relu(x)^2 */                                    \
  X(kSilu, "silu", Silu)                       /* x / (1 + exp(-x)), ggml's expf (llama FFN) */   \
  X(kQuantizeAct, "quantize_act", QuantizeAct) /* per-row absmax int8 -> (codes, scale) */        \
  X(kTernaryMatmul, "ternary_matmul", TernaryMatmul) /* (codes, scale, i2_s weight) -> f32 */     \
  X(kRope, "rope", Rope)                    /* NEOX pairs (i, i + D/2) or NORM (2i, 2i + 1) */    \
  X(kAttention, "attention", Attention)     /* causal GQA attention over one layer's cache */     \
  X(kGatherRows, "gather_rows", GatherRows) /* the rows whose logits are wanted */                \
  X(kLmHead, "lm_head", LmHead)             /* x . table^T -> logits */                           \
  X(kOutput, "output", Output)              /* marks a graph output */                            \
  /* Fused by passes (never produced by lowering): */                                             \
  X(kBitLinear, "bitlinear", BitLinear) /* [rmsnorm·w +] quantize, ternary matmuls, [epilogue] */
