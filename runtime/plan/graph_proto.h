// IR graph <-> plan protobuf. Constants are stored by tensor name and rebound to the model
// file when a plan is loaded; nothing else of the model is copied into the plan.
#pragma once

#include <memory>

#include "frontend/gguf/gguf_file.h"
#include "ir/graph.h"
#include "plan.pb.h"

namespace bitjit {

void GraphToProto(const ir::Graph& graph, plan::Plan* out);
// Throws bitjit::Error on a malformed plan (unknown kind, bad operand id, missing tensor) or a
// graph the verifier rejects.
std::unique_ptr<ir::Graph> GraphFromProto(const plan::Plan& plan, const gguf::GgufFile& file);

}  // namespace bitjit
