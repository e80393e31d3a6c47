// Access to ../shared/golden cases and the acceptance rules of its TOLERANCE.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace bitjit::testing {

std::string SharedDir();
// Names of the case folders under golden/ and of the golden-more/ cases the engine runs, sorted.
std::vector<std::string> GoldenCaseNames();
// A case's model.gguf, in whichever folder the case is.
std::string GoldenModelPath(const std::string& name);
// golden-more/ folders that testing/golden.cc neither runs nor lists as not yet run (a test
// keeps this empty).
std::vector<std::string> UnlistedMoreCases();

struct GoldenCase {
  std::string name, dir, prompt, model_path;
  std::vector<int32_t> prompt_ids, greedy_ids;
  int64_t n_vocab = 0, n_embd = 0;
  std::vector<float> step_logits;    // [n_steps][n_vocab]
  std::vector<float> prompt_logits;  // [n_prompt][n_vocab]
};
GoldenCase LoadGoldenCase(const std::string& name);

std::vector<float> ReadF32File(const std::string& path);
// A whole file's bytes ("" if it cannot be read).
std::string ReadFile(const std::string& path);

// Runs f and returns the message of the bitjit::Error it throws (a gtest failure and "" if it
// throws none).
std::string ExpectError(const std::function<void()>& f);

// A gtest parameter name for a case name ("gqa4-k4224" -> "gqa4_k4224").
std::string TestName(std::string case_name);

// rel = max|ours - theirs| / max|theirs| of one row.
double RowRel(const float* ours, const float* theirs, int64_t n);
int64_t ArgMax(const float* row, int64_t n);  // ties: lowest id

// Rule C of TOLERANCE.md over one case.
struct RuleC {
  double median_rel = 0;         // over all P + N rows
  double prompt_within_1e4 = 0;  // share of prompt rows with rel <= 1e-4
  double step0_rel = 0;
  double worst_rel = 0;
  bool Passes() const {
    return median_rel <= 1e-4 && prompt_within_1e4 >= 0.9 && step0_rel <= 1e-4;
  }
  std::string ToString() const;
};
RuleC ComputeRuleC(const GoldenCase& c, const std::vector<float>& ours_steps,
                   const std::vector<float>& ours_prompt);

}  // namespace bitjit::testing
