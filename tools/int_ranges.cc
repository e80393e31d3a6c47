#include "tools/int_ranges.h"

#include <charconv>

#include "ir/base/error.h"

namespace bitjit::cli {
namespace {

// Reads a number at the front of `text` and drops it; false when there is none.
bool TakeInt(std::string_view* text, int* value) {
  const auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), *value);
  if (ec != std::errc() || ptr == text->data()) return false;
  text->remove_prefix(static_cast<size_t>(ptr - text->data()));
  return true;
}

// A range's values have to stay few: "1-1000000000" is a typo, not a plan.
constexpr size_t kMaxValues = 4096;

}  // namespace

std::vector<int> ParseIntRanges(std::string_view text, std::string_view flag, int min) {
  std::vector<int> values;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view item = text.substr(start, end - start);
    auto bad = [&](const char* why) {
      Fail(flag, ": '", item, "' ", why, " (expected e.g. 1,2 or 1-8 or 1-16+4 or 1-16*2)");
    };
    std::string_view rest = item;
    int first = 0, last = 0, step = 1;
    char op = '+';
    if (!TakeInt(&rest, &first)) bad("is not a number");
    last = first;
    if (!rest.empty() && rest.front() == '-') {
      rest.remove_prefix(1);
      if (!TakeInt(&rest, &last)) bad("is not a range");
      if (!rest.empty() && (rest.front() == '+' || rest.front() == '*')) {
        op = rest.front();
        rest.remove_prefix(1);
        if (!TakeInt(&rest, &step)) bad("has no step");
      }
    }
    if (!rest.empty()) bad("is not a number or a range");
    if (last < first) bad("is an empty range");
    if ((op == '+' && step < 1) || (op == '*' && step < 2)) bad("has a step that does not advance");
    if (op == '*' && first < 1) bad("multiplies from a value below 1");
    for (long long v = first; v <= last; v = op == '+' ? v + step : v * step) {
      if (v < min) Fail(flag, ": values must be at least ", min, " (got ", v, ")");
      if (values.size() == kMaxValues) bad("has too many values");
      values.push_back(static_cast<int>(v));
    }
    start = end + 1;
  }
  return values;
}

}  // namespace bitjit::cli
