// --draft ngram[:N[:M]] (run, serve): exact speculative decoding with drafts from the context
// (runtime/ngram_draft.h). N: tokens drafted per step at most (default 8); M: the shortest
// n-gram matched (default 2).
#pragma once

#include <string_view>

#include "runtime/ngram_draft.h"

namespace bitjit::cli {

// The parsed spec; DraftParams{} (off) for "" or "none". Throws bitjit::Error on a bad spec.
DraftParams ParseDraftSpec(std::string_view spec);
// --draft as given on the command line.
DraftParams DraftFromFlags();

}  // namespace bitjit::cli
