// libFuzzer target: the tokenizer.model reader (hf::ParseSentencePieceModel) on arbitrary bytes
// must either throw bitjit::Error or return a model that holds what it promises (pieces that
// are non-empty, bounded, valid UTF-8 and unique, finite scores, types 1-6, one unknown piece, a
// model_type of UNIGRAM or BPE). A broken promise aborts, so libFuzzer records it as a crash;
// ASan / UBSan do the same for an out-of-bounds read, an overflow or UB.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <span>

#include "frontend/gguf/utf8.h"
#include "frontend/hf/sentencepiece_model.h"
#include "ir/base/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bitjit;
  hf::SentencePieceModel m;
  try {
    m = hf::ParseSentencePieceModel({data, size}, "fuzz.model");
  } catch (const Error&) {
    return 0;
  }
  if (m.pieces.empty() || m.pieces.size() > hf::kMaxSentencePieces) std::abort();
  if (m.model_type != hf::kSpmUnigram && m.model_type != hf::kSpmBpe) std::abort();
  std::set<std::string_view> seen;
  int unknown = 0;
  for (const hf::SpmPiece& p : m.pieces) {
    if (p.piece.empty() || p.piece.size() > hf::kMaxPieceBytes || !IsValidUtf8(p.piece)) {
      std::abort();
    }
    if (!seen.insert(p.piece).second || !std::isfinite(p.score)) std::abort();
    const int32_t type = static_cast<int32_t>(p.type);
    if (type < 1 || type > 6) std::abort();
    unknown += p.type == hf::SpmPieceType::kUnknown;
  }
  if (unknown != 1) std::abort();
  return 0;
}
