#include "runtime/batch_engine.h"

#include <algorithm>

#include "ir/base/error.h"

namespace bitjit {

BatchEngine::BatchEngine(const Model& model, int n_slots, int64_t n_ctx)
    : model_(model),
      executor_(model.CreateExecutor()),
      cache_(model.config().n_layer, n_ctx > 0 ? n_ctx : model.DefaultContext(),
             model.config().n_embd_kv(), model.options().numerics == ir::Numerics::kBitnet,
             n_slots),
      lone_tokens_differ_(model.options().numerics == ir::Numerics::kBitnet),
      slots_(std::max(n_slots, 0)) {
  if (n_slots < 1) Fail("need at least one slot");
}

int BatchEngine::free_slots() const {
  return static_cast<int>(
      std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return !s.in_use; }));
}

int BatchEngine::AcquireSlot(std::span<const int32_t> prompt, bool reuse) {
  // At least two prompt tokens stay to be evaluated: the last one's logits are needed, and a
  // lone token would take the decode path's roundings (a one-token prompt is alone anyway).
  const size_t max_reuse = prompt.size() >= 2 ? prompt.size() - 2 : 0;
  int best = -1;
  size_t best_common = 0;
  for (int s = 0; s < n_slots(); ++s) {
    const Slot& slot = slots_[s];
    if (slot.in_use) continue;
    size_t common = 0;
    if (reuse) {
      const size_t n = std::min({slot.reusable, max_reuse, slot.tokens.size()});
      while (common < n && slot.tokens[common] == prompt[common]) ++common;
    }
    if (best < 0 || common > best_common ||
        (common == best_common && slot.released_at < slots_[best].released_at)) {
      best = s;
      best_common = common;
    }
  }
  if (best < 0) return -1;
  Slot& slot = slots_[best];
  slot.in_use = true;
  // Positions past the common prefix are overwritten as the new sequence reaches them.
  slot.tokens.resize(best_common);
  slot.reusable = std::min(slot.reusable, best_common);
  return best;
}

void BatchEngine::ReleaseSlot(int slot) {
  Slot& s = slots_.at(slot);
  s.in_use = false;
  s.released_at = ++releases_;
}

void BatchEngine::Truncate(int slot, int64_t n) {
  Slot& s = slots_.at(slot);
  if (n < n_past(slot)) s.tokens.resize(static_cast<size_t>(std::max<int64_t>(n, 0)));
  s.reusable = std::min(s.reusable, s.tokens.size());
}

void BatchEngine::Step(std::span<const Work> work, std::vector<std::vector<float>>* logits) {
  std::vector<int32_t> tokens, positions, seq_ids, rows;
  std::vector<uint8_t> decode_steps;
  const bool any_decode_steps =
      std::any_of(work.begin(), work.end(), [](const Work& w) { return w.decode_steps; });
  const int64_t vocab = model_.config().n_vocab;
  for (const Work& w : work) {
    if (w.slot < 0 || w.slot >= n_slots() || !slots_[w.slot].in_use) Fail("bad slot ", w.slot);
    if (w.tokens.empty()) Fail("no tokens for slot ", w.slot);
    const int64_t n_past = this->n_past(w.slot);
    if (n_past + static_cast<int64_t>(w.tokens.size()) > n_ctx()) {
      Fail("context is full for slot ", w.slot, ": ", n_past, " + ", w.tokens.size(), " > ",
           n_ctx());
    }
    for (size_t i = 0; i < w.tokens.size(); ++i) {
      if (w.tokens[i] < 0 || w.tokens[i] >= vocab) {
        Fail("token id ", w.tokens[i], " is outside the vocabulary");
      }
      tokens.push_back(w.tokens[i]);
      positions.push_back(static_cast<int32_t>(n_past + static_cast<int64_t>(i)));
      seq_ids.push_back(w.slot);
      if (any_decode_steps) decode_steps.push_back(w.decode_steps ? 1 : 0);
      if (w.decode_steps && w.logits) rows.push_back(static_cast<int32_t>(tokens.size() - 1));
    }
    if (w.logits && !w.decode_steps) rows.push_back(static_cast<int32_t>(tokens.size() - 1));
  }
  std::vector<float> out(rows.size() * vocab);
  executor_->Forward({tokens, positions, rows, seq_ids, decode_steps}, cache_, out.data());
  logits->assign(work.size(), {});
  size_t row = 0;
  for (size_t i = 0; i < work.size(); ++i) {
    const Work& w = work[i];
    if (w.logits) {
      const size_t n_rows = w.decode_steps ? w.tokens.size() : 1;
      (*logits)[i].assign(out.begin() + row * vocab, out.begin() + (row + n_rows) * vocab);
      row += n_rows;
    }
    Slot& s = slots_[w.slot];
    const bool lone = w.tokens.size() < 2 || w.decode_steps;
    const bool exact = s.reusable == s.tokens.size() && (!lone || !lone_tokens_differ_);
    s.tokens.insert(s.tokens.end(), w.tokens.begin(), w.tokens.end());
    if (exact) s.reusable = s.tokens.size();
  }
}

}  // namespace bitjit
