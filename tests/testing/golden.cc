#include "tests/testing/golden.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <cstring>
#include "ir/base/error.h"

namespace bitjit::testing {

std::string SharedDir() {
  return BITJIT_SHARED_DIR;
}

namespace {

// golden-more's cases that the engine runs. Every case there is
// listed here or in kMoreCasesNotYetRun, so that a new case cannot be skipped without a word.
constexpr const char* kMoreCasesRun[] = {"falcon3-hd256", "llama-gqa", "mha-hd100", "q6k-embd"};
// quantize/ holds llama-quantize's inputs and outputs (tests/llama_quantize_test.cc).
constexpr const char* kMoreCasesNotYetRun[] = {"quantize"};

std::string CaseDir(const std::string& name) {
  for (const char* more : kMoreCasesRun)
    if (name == more) return SharedDir() + "/golden-more/" + name;
  return SharedDir() + "/golden/" + name;
}

}  // namespace

std::string GoldenModelPath(const std::string& name) {
  return CaseDir(name) + "/model.gguf";
}

std::vector<std::string> GoldenCaseNames() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(SharedDir() + "/golden"))
    if (e.is_directory() && std::filesystem::exists(e.path() / "case.json"))
      out.push_back(e.path().filename().string());
  for (const char* more : kMoreCasesRun) out.push_back(more);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> UnlistedMoreCases() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(SharedDir() + "/golden-more")) {
    if (!e.is_directory()) continue;
    const std::string name = e.path().filename().string();
    bool listed = false;
    for (const char* c : kMoreCasesRun) listed |= name == c;
    for (const char* c : kMoreCasesNotYetRun) listed |= name == c;
    if (!listed) out.push_back(name);
  }
  return out;
}

std::vector<float> ReadF32File(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

std::string ExpectError(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

std::string TestName(std::string name) {
  for (char& ch : name)
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return name;
}

GoldenCase LoadGoldenCase(const std::string& name) {
  GoldenCase c;
  c.name = name;
  c.dir = CaseDir(name);
  std::ifstream in(c.dir + "/case.json");
  const auto j = nlohmann::json::parse(in);
  c.prompt = j["prompt"].get<std::string>();
  c.prompt_ids = j["prompt_ids"].get<std::vector<int32_t>>();
  c.greedy_ids = j["greedy_ids"].get<std::vector<int32_t>>();
  c.n_vocab = j["dims"]["n_vocab"].get<int64_t>();
  c.n_embd = j["dims"]["n_embd"].get<int64_t>();
  c.model_path = c.dir + "/" + j["files"]["model"].get<std::string>();
  c.step_logits = ReadF32File(c.dir + "/" + j["files"]["step_logits"].get<std::string>());
  c.prompt_logits = ReadF32File(c.dir + "/" + j["files"]["prompt_logits"].get<std::string>());
  return c;
}

double RowRel(const float* ours, const float* theirs, int64_t n) {
  double max_diff = 0, max_abs = 0;
  for (int64_t i = 0; i < n; ++i) {
    max_diff = std::max(max_diff, std::fabs(static_cast<double>(ours[i]) - theirs[i]));
    max_abs = std::max(max_abs, std::fabs(static_cast<double>(theirs[i])));
  }
  return max_abs > 0 ? max_diff / max_abs : max_diff;
}

int64_t ArgMax(const float* row, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (row[i] > row[best]) best = i;
  return best;
}

std::string RuleC::ToString() const {
  std::ostringstream os;
  os << "median rel " << median_rel << ", prompt rows within 1e-4 " << prompt_within_1e4 * 100
     << "%, step row 0 rel " << step0_rel << ", worst row rel " << worst_rel;
  return os.str();
}

RuleC ComputeRuleC(const GoldenCase& c, const std::vector<float>& ours_steps,
                   const std::vector<float>& ours_prompt) {
  const int64_t v = c.n_vocab;
  const int64_t n_steps = static_cast<int64_t>(c.step_logits.size()) / v;
  const int64_t n_prompt = static_cast<int64_t>(c.prompt_logits.size()) / v;
  std::vector<double> rels;
  RuleC r;
  int within = 0;
  for (int64_t i = 0; i < n_prompt; ++i) {
    const double rel = RowRel(&ours_prompt[i * v], &c.prompt_logits[i * v], v);
    within += rel <= 1e-4;
    rels.push_back(rel);
  }
  for (int64_t i = 0; i < n_steps; ++i) {
    const double rel = RowRel(&ours_steps[i * v], &c.step_logits[i * v], v);
    if (i == 0) r.step0_rel = rel;
    rels.push_back(rel);
  }
  r.prompt_within_1e4 = n_prompt ? static_cast<double>(within) / n_prompt : 0;
  r.worst_rel = *std::max_element(rels.begin(), rels.end());
  std::sort(rels.begin(), rels.end());
  const size_t m = rels.size();
  r.median_rel = m % 2 ? rels[m / 2] : 0.5 * (rels[m / 2 - 1] + rels[m / 2]);
  return r;
}

}  // namespace bitjit::testing
