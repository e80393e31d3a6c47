// JSON from files bitjit did not write (a Hugging Face checkpoint's config.json, tokenizer.json,
// safetensors headers), parsed with a nesting limit. nlohmann's copies, comparisons and
// destructors recurse once per level, so a small file of 100,000 '[' would overflow the stack;
// the limit is enforced while parsing, before any deep value exists.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string_view>

namespace bitjit::hf {

// Parses `text`; throws bitjit::Error "<what>: not valid JSON (...)" or "<what>: JSON nested
// deeper than max_depth levels". `on_top_key`, when given, sees every key of the top-level
// object as it is read, duplicates included (nlohmann keeps only the last of those).
nlohmann::json ParseBoundedJson(
    std::string_view text, int max_depth, std::string_view what,
    const std::function<void(const std::string& key)>& on_top_key = nullptr);

}  // namespace bitjit::hf
