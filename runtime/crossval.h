// Cross-validation against a reference engine (bitnet.cpp's golden logits): the golden files'
// protocol run through a Session, per-row comparison statistics, and the acceptance rule of
// ../shared/golden/TOLERANCE.md ("Rule C") for an engine that rounds as bitnet.cpp does.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "runtime/model.h"

namespace bitjit::crossval {

// One row of our logits against the same row of the reference's.
struct RowComparison {
  double cosine = 0;                    // computed in double
  double max_abs_diff = 0;              // max |ours - ref|
  double rel = 0;                       // max_abs_diff / max |ref| (TOLERANCE.md's rel)
  int32_t top1_ours = 0, top1_ref = 0;  // argmax, ties to the lowest id
  bool top1_agrees() const { return top1_ours == top1_ref; }
};
RowComparison CompareRow(std::span<const float> ours, std::span<const float> ref);

// Rule C over one case: median rel over all rows <= 1e-4, at least 90 % of prompt rows with
// rel <= 1e-4, and step row 0 with rel <= 1e-4.
struct RuleC {
  double median_rel = 0;
  double prompt_within = 0;  // share of prompt rows with rel <= kRel
  double step0_rel = 0;
  bool passes = false;
  static constexpr double kRel = 1e-4;
  static constexpr double kPromptShare = 0.9;
  std::string Explain() const;  // names the parts that fail, or "" when it passes
};
RuleC ApplyRuleC(std::span<const RowComparison> prompt_rows,
                 std::span<const RowComparison> step_rows);

// The golden protocol. Step rows: the prompt as one batch (its last row), then each id of
// `feed` as a 1-token batch (teacher forcing); [1 + feed.size()][n_vocab].
std::vector<float> TeacherForcedLogits(const Model& model, std::span<const int32_t> prompt,
                                       std::span<const int32_t> feed);
// Every prompt position's logits from one batch: [prompt.size()][n_vocab].
std::vector<float> PromptBatchLogits(const Model& model, std::span<const int32_t> prompt);
// n free-running greedy tokens after the prompt (ties to the lowest id, EOS ignored).
std::vector<int32_t> GreedyIds(const Model& model, std::span<const int32_t> prompt, int n);

// Index of the first position where a and b differ (a length difference counts at the shorter
// length), or -1 when they are equal.
int64_t FirstDivergence(std::span<const int32_t> a, std::span<const int32_t> b);

}  // namespace bitjit::crossval
