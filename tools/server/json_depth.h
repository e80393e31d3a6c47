// How deeply a JSON text nests its arrays and objects, found without parsing it. Request bodies
// come from anyone: nlohmann's copies, comparisons, dumps and destructors of a parsed value all
// recurse once per level, so a 300 KB body of 150,000 '[' would overflow the stack of whatever
// touches it. The body is measured first, and refused, before it becomes a json value.
#pragma once

#include <cstddef>
#include <string_view>

namespace bitjit::server {

// The deepest nesting of '[' and '{' outside strings (0 for a scalar). Malformed text gets a
// number too (unbalanced brackets are counted as they come); the parser refuses it afterwards.
size_t JsonNestingDepth(std::string_view text);

}  // namespace bitjit::server
