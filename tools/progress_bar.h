// A one-line progress bar on stderr for long commands (synth, model loading, benchmarks). It
// draws only when stderr is a terminal and --quiet is off, so logs and pipes stay clean.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace bitjit::cli {

class ProgressBar {
 public:
  // `enabled` defaults to ShouldShow(); pass false to make every call a no-op.
  explicit ProgressBar(std::string label);
  ProgressBar(std::string label, bool enabled);
  // Ends the line if the bar was drawn and not finished (an error message then starts on a
  // line of its own).
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // True when stderr is a terminal and --quiet is off.
  static bool ShouldShow();

  // Redraws at most every 100 ms (and always when done == total). Cheap to call often.
  void Update(uint64_t done, uint64_t total);
  // Draws the final state and ends the line.
  void Finish();

 private:
  void Draw(uint64_t done, uint64_t total);

  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  bool finished_ = false;
  uint64_t last_done_ = 0, last_total_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace bitjit::cli
