#include "runtime/batch_engine.h"

#include "ir/base/error.h"

namespace bitjit {

BatchEngine::BatchEngine(const Model& model, int n_slots, int64_t n_ctx)
    : model_(model),
      executor_(model.CreateExecutor()),
      cache_(model.config().n_layer, n_ctx > 0 ? n_ctx : model.DefaultContext(),
             model.config().n_embd_kv(), model.options().numerics == ir::Numerics::kBitnet,
             n_slots),
      n_past_(n_slots, 0),
      in_use_(n_slots, false) {
  if (n_slots < 1) Fail("need at least one slot");
}

int BatchEngine::free_slots() const {
  int n = 0;
  for (bool u : in_use_) n += !u;
  return n;
}

int BatchEngine::AcquireSlot() {
  for (int s = 0; s < n_slots(); ++s) {
    if (!in_use_[s]) {
      in_use_[s] = true;
      n_past_[s] = 0;
      return s;
    }
  }
  return -1;
}

void BatchEngine::ReleaseSlot(int slot) {
  in_use_.at(slot) = false;
  n_past_.at(slot) = 0;
}

void BatchEngine::Step(std::span<const Work> work, std::vector<std::vector<float>>* logits) {
  std::vector<int32_t> tokens, positions, seq_ids, rows;
  const int64_t vocab = model_.config().n_vocab;
  for (const Work& w : work) {
    if (w.slot < 0 || w.slot >= n_slots() || !in_use_[w.slot]) Fail("bad slot ", w.slot);
    if (w.tokens.empty()) Fail("no tokens for slot ", w.slot);
    if (n_past_[w.slot] + static_cast<int64_t>(w.tokens.size()) > n_ctx()) {
      Fail("context is full for slot ", w.slot, ": ", n_past_[w.slot], " + ", w.tokens.size(),
           " > ", n_ctx());
    }
    for (size_t i = 0; i < w.tokens.size(); ++i) {
      if (w.tokens[i] < 0 || w.tokens[i] >= vocab) Fail("token id ", w.tokens[i], " is outside the vocabulary");
      tokens.push_back(w.tokens[i]);
      positions.push_back(static_cast<int32_t>(n_past_[w.slot] + i));
      seq_ids.push_back(w.slot);
    }
    rows.push_back(static_cast<int32_t>(tokens.size() - 1));
  }
  std::vector<float> out(rows.size() * vocab);
  executor_->Forward({tokens, positions, rows, seq_ids}, cache_, out.data());
  logits->resize(work.size());
  for (size_t i = 0; i < work.size(); ++i) {
    (*logits)[i].assign(out.begin() + i * vocab, out.begin() + (i + 1) * vocab);
    n_past_[work[i].slot] += static_cast<int64_t>(work[i].tokens.size());
  }
}

}  // namespace bitjit
