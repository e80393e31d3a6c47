#include "runtime/lm_head/quantized_lm_head.h"

#include <algorithm>

#include "codegen/lmhead/q6k_gemv.h"
#include "codegen/lmhead/q8_0_gemv.h"
#include "ir/base/error.h"
#include "runtime/thread_pool.h"

namespace bitjit::lm_head {

QuantizedLmHead::QuantizedLmHead(QuantizedTable table, codegen::Isa isa)
    : table_(std::move(table)) {
  CheckRowLength(table_.type, table_.n);
  if (table_.type == LmHeadType::kQ8_0) {
    gemv_ = std::make_unique<codegen::Q8_0Gemv>(table_.n, isa);
  } else if (table_.type == LmHeadType::kQ6_K) {
    gemv_ = std::make_unique<codegen::Q6KGemv>(table_.n, isa);
  } else {
    Fail("an f16 lm_head has no quantized table");
  }
}

size_t QuantizedLmHead::ScratchBytes() const {
  return gemv_->InputBytes();
}

void QuantizedLmHead::Run(const float* x, int64_t rows, float* logits, uint8_t* scratch,
                          ThreadPool& pool) const {
  const int64_t n = table_.n, vocab = table_.vocab;
  // As the F16 path: enough chunks to balance threads that get descheduled.
  const int64_t chunks = std::min<int64_t>(vocab, 16 * pool.n_threads());
  for (int64_t r = 0; r < rows; ++r) {
    float* out = logits + r * vocab;
    gemv_->PrepareInput(x + r * n, scratch);
    pool.ParallelFor(chunks, [&](int64_t c, int) {
      const int64_t v0 = vocab * c / chunks, v1 = vocab * (c + 1) / chunks;
      gemv_->Run(table_.data.get(), scratch, v0, v1, out);
    });
  }
}

const ir::Value& LmHeadTable(const ir::Graph& graph) {
  for (const auto& n : graph.nodes())
    if (n->kind == ir::OpKind::kLmHead) return *n->operands[1];
  Fail("the graph has no lm_head");
}

std::shared_ptr<const QuantizedLmHead> CompileLmHead(const ir::Graph& graph, LmHeadType type,
                                                     codegen::Isa isa, ThreadPool& pool) {
  const ir::Value& table = LmHeadTable(graph);
  if (table.producer == nullptr || table.producer->kind != ir::OpKind::kConstant)
    Fail("--lm-head ", LmHeadTypeName(type), ": the lm_head table is not a model tensor");
  const int64_t vocab = table.shape[0], n = table.shape[1];
  CheckRowLength(type, n);
  QuantizedTable t =
      QuantizeTable(type, table.dtype, table.producer->constant.data, n, vocab, pool);
  return std::make_shared<const QuantizedLmHead>(std::move(t), isa);
}

}  // namespace bitjit::lm_head
