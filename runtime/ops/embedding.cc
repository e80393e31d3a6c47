// Embedding: the table's rows for the step's token ids, as floats (F16, Q8_0 and Q6_K tables,
// dequantized as ggml does).
#include "codegen/ref/ref_kernels.h"
#include "ir/base/error.h"
#include "runtime/compiled_model.h"
#include "runtime/ops/op_step.h"
#include "runtime/ops/step_context.h"

namespace bitjit::ops {
namespace {

using RowFn = void (*)(const uint8_t* table, int64_t n, int64_t row, float* out);

void F16Row(const uint8_t* table, int64_t n, int64_t row, float* out) {
  ref::EmbeddingRowF16(reinterpret_cast<const uint16_t*>(table), n, row, out);
}

RowFn RowReader(ir::DType dtype) {
  switch (dtype) {
    case ir::DType::kF16:
      return F16Row;
    case ir::DType::kQ6_K:
      return ref::EmbeddingRowQ6_K;
    case ir::DType::kQ8_0:
      return ref::EmbeddingRowQ8_0;
    default:
      Fail("embedding: a ", ir::DTypeName(dtype), " table");
  }
}

// Reads each id's row from the table (the model file's, or its tiled copy).
class EmbeddingStep : public OpStep {
 public:
  EmbeddingStep(const ir::Node& node, const CompiledModel* compiled)
      : OpStep(node, TiledTable(node, compiled) ? "F16TiledTable::RowToFloat" : "ref"),
        read_row_(RowReader(node.operands[0]->dtype)),
        tiled_(TiledTable(node, compiled)) {
    if (compiled == nullptr) return;
    // --lm-head q8_0|q6_k: the model's table was dropped from memory at load and only
    // embedding rows are read from it; drop them again (with the folios the kernel mapped
    // around them) so that a long conversation does not bring the table back.
    if (compiled->quantized_lm_head && node.operands[0]->producer->kind == ir::OpKind::kConstant)
      release_ = &compiled->release_source;
  }

  // Tied embeddings on the JIT path: the lm_head's tiled copy. Reading the file's rows would
  // map their page-cache folios (up to 2 MiB per row touched) back into the process.
  static const codegen::F16TiledTable* TiledTable(const ir::Node& node,
                                                  const CompiledModel* compiled) {
    if (compiled == nullptr || node.operands[0] != compiled->f16_lm_head_source) return nullptr;
    return compiled->f16_lm_head_table.get();
  }

  void Run(StepContext& ctx) const override {
    const ir::Value* table = node_.operands[0];
    const int64_t e = table->shape[1], vocab = table->shape[0];
    const int32_t* ids = ctx.Data<int32_t>(node_.operands[1]);
    float* out = ctx.Data(node_.result());
    for (int64_t t = 0; t < ctx.n_tokens; ++t) {
      if (ids[t] < 0 || ids[t] >= vocab) Fail("token id ", ids[t], " is outside the vocabulary");
      if (tiled_) {
        tiled_->RowToFloat(ids[t], out + t * e);
      } else {
        read_row_(ctx.Data<uint8_t>(table), e, ids[t], out + t * e);
      }
    }
    if (release_ && *release_) {
      const ir::ConstantData& c = table->producer->constant;
      (*release_)(c.data, c.n_bytes);
    }
  }

 private:
  RowFn read_row_;
  const codegen::F16TiledTable* tiled_;
  const SourceDone* release_ = nullptr;
};

}  // namespace

std::unique_ptr<OpStep> PrepareEmbedding(const ir::Node& node, const PrepareContext& ctx) {
  return std::make_unique<EmbeddingStep>(node, ctx.compiled);
}

}  // namespace bitjit::ops
