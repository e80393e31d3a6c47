// A plan is input: a file anyone may edit (protoc --decode, one field, --encode). The IR
// verifier checks that the graph read from it is consistent with itself; these checks compare
// it with what it indexes at run time, the model's dimensions and the activation arena, before
// anything runs: value ids index the executor's pointer table, arena offsets and sizes address
// the arena, an attention's layer and KV width address the KV cache, and the output's shape is
// what is copied into the caller's logits.
#pragma once

#include <string>

#include "frontend/model/model_config.h"
#include "ir/graph.h"

namespace bitjit {

// Throws bitjit::Error, one line: "PATH: nodes[I].FIELD ...", naming the plan's field.
void CheckPlanGraph(const ir::Graph& graph, const ModelConfig& config, const std::string& path);

}  // namespace bitjit
