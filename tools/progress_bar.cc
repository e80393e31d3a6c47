#include "tools/progress_bar.h"

#include <unistd.h>

#include <cstdio>
#include <utility>

#include "tools/flags.h"

namespace bitjit::cli {
namespace {
constexpr int kWidth = 30;
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);
}  // namespace

ProgressBar::ProgressBar(std::string label) : ProgressBar(std::move(label), ShouldShow()) {}

ProgressBar::ProgressBar(std::string label, bool enabled)
    : label_(std::move(label)), enabled_(enabled), start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() {
  if (drawn_ && !finished_) std::fputc('\n', stderr);
}

bool ProgressBar::ShouldShow() {
  return !FLAGS_quiet && ::isatty(STDERR_FILENO) == 1;
}

void ProgressBar::Update(uint64_t done, uint64_t total) {
  if (!enabled_ || finished_) return;
  last_done_ = done;
  last_total_ = total;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && done < total && now - last_draw_ < kRedrawInterval) return;
  last_draw_ = now;
  Draw(done, total);
}

void ProgressBar::Finish() {
  if (!enabled_ || finished_) return;
  Draw(last_total_, last_total_);
  std::fputc('\n', stderr);
  finished_ = true;
}

void ProgressBar::Draw(uint64_t done, uint64_t total) {
  const double fraction = total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
  const int filled = static_cast<int>(fraction * kWidth);
  char bar[kWidth + 1];
  for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '#' : '.';
  bar[kWidth] = '\0';
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  // Remaining time by linear extrapolation, once there is enough progress to extrapolate from.
  char eta[32] = "";
  if (fraction > 0.02 && fraction < 1.0) {
    std::snprintf(eta, sizeof eta, ", %.0f s left", elapsed * (1.0 - fraction) / fraction);
  }
  std::fprintf(stderr, "\r%s [%s] %3d%% (%.1f s%s)\x1b[K", label_.c_str(), bar,
               static_cast<int>(fraction * 100.0), elapsed, eta);
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace bitjit::cli
