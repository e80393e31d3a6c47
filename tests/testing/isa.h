// The ISA axis of the kernel tests: every kernel family is tested on each instruction set, and
// on the reference path, that this CPU can run.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "codegen/cpu_features.h"
#include "codegen/ternary/ternary_layout.h"

namespace bitjit::testing {

// Every ISA a kernel test runs on; the reference path too.
inline constexpr codegen::Isa kAllIsas[] = {codegen::Isa::kRef,     codegen::Isa::kAvx2,
                                            codegen::Isa::kAvx512,  codegen::Isa::kAvx512Vnni,
                                            codegen::Isa::kAvxVnni, codegen::Isa::kAvx512Amx};
// Every ISA with generated kernels: kAllIsas without the reference, for tests of what only
// the JIT paths have (register tiles, kernel names).
inline constexpr codegen::Isa kJitIsas[] = {codegen::Isa::kAvx2, codegen::Isa::kAvx512,
                                            codegen::Isa::kAvx512Vnni, codegen::Isa::kAvxVnni,
                                            codegen::Isa::kAvx512Amx};

// A test parameterized by ISA: skipped, with the CPU features it lacks, where the ISA cannot run.
class IsaTest : public ::testing::TestWithParam<codegen::Isa> {
 protected:
  void SetUp() override;
  codegen::Isa isa() const { return GetParam(); }
};

// A JIT path of whole-model tests: an ISA and a ternary packing it has kernels for.
struct JitPath {
  codegen::Isa isa;
  codegen::TernaryPacking packing;
};
// Every JIT path this CPU runs (every ISA of kAllIsas but the reference, each packing).
std::vector<JitPath> JitPathsOfThisCpu();

// Test names by ISA ("avx512vnni"), for INSTANTIATE_TEST_SUITE_P.
std::string IsaParamName(const ::testing::TestParamInfo<codegen::Isa>& info);

}  // namespace bitjit::testing
