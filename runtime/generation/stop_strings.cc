#include "runtime/generation/stop_strings.h"

#include <algorithm>

namespace bitjit {

StopStringFilter::StopStringFilter(std::vector<std::string> stops) : stops_(std::move(stops)) {
  // An empty stop string would match before any text: it is no stop string at all.
  std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

std::string StopStringFilter::Push(std::string_view text) {
  if (stopped_) return {};
  held_.append(text);
  size_t first = std::string::npos;
  for (const std::string& stop : stops_) first = std::min(first, held_.find(stop));
  if (first != std::string::npos) {
    std::string out = held_.substr(0, first);
    held_.clear();
    stopped_ = true;
    return out;
  }
  // Hold back the longest tail of the text that is a proper prefix of some stop string. Stop
  // strings are valid UTF-8 and so begin with a lead byte: the cut never splits a character.
  size_t keep = 0;
  for (const std::string& stop : stops_) {
    for (size_t n = std::min(stop.size() - 1, held_.size()); n > keep; --n) {
      if (std::string_view(held_).substr(held_.size() - n) == std::string_view(stop).substr(0, n)) {
        keep = n;
        break;
      }
    }
  }
  std::string out = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string StopStringFilter::Flush() {
  std::string out;
  if (!stopped_) out.swap(held_);
  held_.clear();
  return out;
}

bool StopArrived(std::string_view text, size_t new_bytes, const std::vector<std::string>& stops) {
  for (const std::string& s : stops) {
    if (s.empty() || s.size() > text.size()) continue;
    // Where an occurrence ending in the new bytes can start.
    const size_t old_end = text.size() - std::min(new_bytes, text.size());
    const size_t from = old_end >= s.size() - 1 ? old_end - (s.size() - 1) : 0;
    if (text.find(s, from) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace bitjit
