// llama-bench's numeric lists: "1,2", ranges "1-4" (1,2,3,4), "1-16+4" (1,5,9,13) and
// "1-16*2" (1,2,4,8,16), mixed freely: "1,4-8+4".
#pragma once

#include <string_view>
#include <vector>

namespace bitjit::cli {

// Throws bitjit::Error naming `flag` ("-t") on a malformed item, an empty range, a step that
// does not advance, or a value below `min`.
std::vector<int> ParseIntRanges(std::string_view text, std::string_view flag, int min = 0);

}  // namespace bitjit::cli
