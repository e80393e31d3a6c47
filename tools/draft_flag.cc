#include "tools/draft_flag.h"

#include <gflags/gflags.h>

#include <charconv>
#include <string>

#include "ir/base/error.h"

DEFINE_string(draft, "",
              "exact speculative decoding for greedy decoding (--temp 0): ngram[:N[:M]] drafts up "
              "to N tokens (default 8) by matching the last M..4 tokens (M default 2) earlier in "
              "the prompt and output; the output is identical to plain greedy decoding");

namespace bitjit::cli {
namespace {

int ParsePart(std::string_view text, std::string_view what, int min, int max,
              std::string_view spec) {
  int v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < min || v > max) {
    Fail("--draft ", spec, ": ", what, " must be an integer in ", min, "..", max, ", not '", text,
         "'");
  }
  return v;
}

}  // namespace

DraftParams ParseDraftSpec(std::string_view spec) {
  if (spec.empty() || spec == "none") return {};
  std::string_view kind = spec.substr(0, spec.find(':'));
  if (kind != "ngram") {
    Fail("--draft: unknown drafter '", kind, "' (ngram[:N[:M]] or none)");
  }
  DraftParams p;
  p.max_tokens = 8;
  std::string_view rest = spec.substr(kind.size());
  if (rest.empty()) return p;
  rest.remove_prefix(1);
  const size_t colon = rest.find(':');
  p.max_tokens = ParsePart(rest.substr(0, colon), "N (tokens drafted per step)", 1, 64, spec);
  if (colon == std::string_view::npos) return p;
  p.min_match = ParsePart(rest.substr(colon + 1), "M (shortest n-gram matched)", 1,
                          DraftParams::kMaxMatch, spec);
  return p;
}

DraftParams DraftFromFlags() {
  return ParseDraftSpec(FLAGS_draft);
}

}  // namespace bitjit::cli
