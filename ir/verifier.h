// Checks a graph's invariants: every operand is defined before use, and every op's operand
// types and shapes fit its kind. Run after building and after every pass.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace bitjit::ir {

// Returns the problems found (empty when the graph is well-formed).
std::vector<std::string> Verify(const Graph& graph);

// Throws bitjit::Error listing the problems, prefixed with `when` ("after pass fuse-norm").
void VerifyOrThrow(const Graph& graph, const std::string& when);

}  // namespace bitjit::ir
