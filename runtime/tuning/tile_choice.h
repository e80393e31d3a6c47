// Which tile a ternary matmul uses: the hook between the tuning cache (bitjit tune) and the
// kernels the JIT executor compiles.
#pragma once

#include <cstdint>

#include "codegen/cpu_features.h"
#include "codegen/ternary/ternary_matmul.h"

namespace bitjit {

// The tile for a (k, n) ternary matmul on `isa`: the tuning cache's winner for this CPU when
// it has one, else {} (the ISA's default).
codegen::TernaryTile ChooseTernaryTile(int64_t k, int64_t n, codegen::Isa isa);

}  // namespace bitjit
