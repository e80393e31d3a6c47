// Parsing "1,2,3" token-id lists and writing float32 logits files.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bitjit::cli {

// Throws bitjit::Error naming the flag and the bad item.
std::vector<int32_t> ParseIdList(std::string_view text, std::string_view flag);

// Writes raw little-endian float32 (the golden files' layout). Throws bitjit::Error.
void WriteF32File(const std::string& path, const std::vector<float>& values);

// The most ReadTextFile reads: 64 bytes per token of the largest context (2^22 tokens, -c's
// bound), far beyond what any prompt or perplexity text of a context can use.
inline constexpr size_t kMaxTextFileBytes = size_t{256} << 20;

// Reads a whole text file (or pipe); refuses directories and anything over kMaxTextFileBytes.
// Throws bitjit::Error.
std::string ReadTextFile(const std::string& path);

}  // namespace bitjit::cli
