// A golden case folder in the format of ../shared/golden/CASE (case.json, step_logits.f32,
// prompt_logits.f32, model.gguf, cli.txt), read for `bitjit crossval`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bitjit::cli {

struct CrossvalCase {
  std::string name, dir;
  std::string prompt;
  std::vector<int32_t> prompt_ids;  // the reference's tokenization, BOS included
  std::vector<int32_t> greedy_ids;  // the reference's free-running greedy tokens
  int64_t n_vocab = 0;
  std::vector<float> step_logits;    // [greedy_ids.size()][n_vocab]
  std::vector<float> prompt_logits;  // [prompt_ids.size()][n_vocab]
  std::string model_path;            // the case's model file ("" if case.json names none)
};

// Reads and checks the folder: every file present, shapes consistent with case.json. Throws
// bitjit::Error naming the file and the problem.
CrossvalCase ReadCrossvalCase(const std::string& dir);

}  // namespace bitjit::cli
