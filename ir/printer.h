// The stable text form of a graph (`bitjit ir`): one op per line with its result types and
// shapes; constants by name and type, never data.
#pragma once

#include <string>

#include "ir/graph.h"

namespace bitjit::ir {

std::string Print(const Graph& graph);

}  // namespace bitjit::ir
