#include "runtime/crossval.h"

#include <glog/logging.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "runtime/generate.h"

namespace bitjit::crossval {

RowComparison CompareRow(std::span<const float> ours, std::span<const float> ref) {
  CHECK_EQ(ours.size(), ref.size());
  RowComparison r;
  double dot = 0, norm_ours = 0, norm_ref = 0, max_ref = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    const double a = ours[i], b = ref[i];
    dot += a * b;
    norm_ours += a * a;
    norm_ref += b * b;
    r.max_abs_diff = std::max(r.max_abs_diff, std::fabs(a - b));
    max_ref = std::max(max_ref, std::fabs(b));
    if (ours[i] > ours[r.top1_ours]) r.top1_ours = static_cast<int32_t>(i);
    if (ref[i] > ref[r.top1_ref]) r.top1_ref = static_cast<int32_t>(i);
  }
  const double norms = std::sqrt(norm_ours) * std::sqrt(norm_ref);
  // Two all-zero rows are the same row; one zero row against another is as far as it gets.
  r.cosine = norms > 0 ? dot / norms : (norm_ours == norm_ref ? 1.0 : 0.0);
  r.rel = max_ref > 0 ? r.max_abs_diff / max_ref : r.max_abs_diff;
  return r;
}

std::string RuleC::Explain() const {
  std::ostringstream os;
  const char* sep = "";
  if (!(median_rel <= kRel)) {
    os << "median rel " << median_rel << " > " << kRel;
    sep = "; ";
  }
  if (!(prompt_within >= kPromptShare)) {
    os << sep << "only " << prompt_within * 100 << " % of prompt rows have rel <= " << kRel
       << " (need " << kPromptShare * 100 << " %)";
    sep = "; ";
  }
  if (!(step0_rel <= kRel)) os << sep << "step row 0 rel " << step0_rel << " > " << kRel;
  return os.str();
}

RuleC ApplyRuleC(std::span<const RowComparison> prompt_rows,
                 std::span<const RowComparison> step_rows) {
  RuleC rule;
  std::vector<double> rels;
  int within = 0;
  for (const RowComparison& row : prompt_rows) {
    within += row.rel <= RuleC::kRel;
    rels.push_back(row.rel);
  }
  for (const RowComparison& row : step_rows) rels.push_back(row.rel);
  if (rels.empty() || step_rows.empty()) return rule;  // nothing compared: not a pass
  std::sort(rels.begin(), rels.end());
  const size_t m = rels.size();
  rule.median_rel = m % 2 ? rels[m / 2] : 0.5 * (rels[m / 2 - 1] + rels[m / 2]);
  rule.prompt_within = prompt_rows.empty() ? 0.0 : static_cast<double>(within) / prompt_rows.size();
  rule.step0_rel = step_rows[0].rel;
  rule.passes = rule.median_rel <= RuleC::kRel && rule.prompt_within >= RuleC::kPromptShare &&
                rule.step0_rel <= RuleC::kRel;
  return rule;
}

std::vector<float> TeacherForcedLogits(const Model& model, std::span<const int32_t> prompt,
                                       std::span<const int32_t> feed) {
  Session session(model, static_cast<int64_t>(prompt.size() + feed.size()));
  std::vector<float> steps, row;
  session.Eval(prompt, /*all_rows=*/false, &row);
  steps = row;
  for (int32_t id : feed) {
    session.Eval(std::span(&id, 1), /*all_rows=*/false, &row);
    steps.insert(steps.end(), row.begin(), row.end());
  }
  return steps;
}

std::vector<float> PromptBatchLogits(const Model& model, std::span<const int32_t> prompt) {
  Session session(model, static_cast<int64_t>(prompt.size()));
  std::vector<float> rows;
  session.Eval(prompt, /*all_rows=*/true, &rows);
  return rows;
}

std::vector<int32_t> GreedyIds(const Model& model, std::span<const int32_t> prompt, int n) {
  GenerationSession session(model, static_cast<int64_t>(prompt.size()) + n);
  GenerateParams params;
  params.n_predict = n;
  params.ignore_eos = true;
  params.sampler.temperature = 0;
  return session.Generate(prompt, params, {}).ids;
}

int64_t FirstDivergence(std::span<const int32_t> a, std::span<const int32_t> b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return static_cast<int64_t>(i);
  return a.size() == b.size() ? -1 : static_cast<int64_t>(n);
}

}  // namespace bitjit::crossval
