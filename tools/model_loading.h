// Loading the model a command runs: -m MODEL, or the embedded default (a small synthetic
// model written on first use into the user's cache folder), with the numerics, pre-tokenizer
// and ISA flags applied.
#pragma once

#include <memory>
#include <string>

#include "runtime/model.h"

namespace bitjit::cli {

// The model path from -m, or the default model's path (synthesized if missing).
std::string ModelPathFromFlags();
std::unique_ptr<Model> LoadModelFromFlags();
// True when -m was not given and the embedded synthetic default is used.
bool UsingDefaultModel();

}  // namespace bitjit::cli
