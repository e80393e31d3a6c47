#include "tests/testing/isa.h"

#include "codegen/ternary/ternary_matmul.h"
#include "ir/base/error.h"

namespace bitjit::testing {

void IsaTest::SetUp() {
  if (codegen::IsaSupported(isa())) return;
  try {
    codegen::ResolveIsa(isa());  // throws, naming the missing features
  } catch (const Error& e) {
    GTEST_SKIP() << e.what();
  }
}

std::vector<JitPath> JitPathsOfThisCpu() {
  std::vector<JitPath> paths;
  for (codegen::Isa isa : kAllIsas) {
    if (isa == codegen::Isa::kRef || !codegen::IsaSupported(isa)) continue;
    for (codegen::TernaryPacking packing :
         {codegen::TernaryPacking::k2Bit, codegen::TernaryPacking::k1p6Bit}) {
      if (codegen::TernaryPackingSupported(isa, packing)) paths.push_back({isa, packing});
    }
  }
  return paths;
}

std::string IsaParamName(const ::testing::TestParamInfo<codegen::Isa>& info) {
  return std::string(codegen::IsaName(info.param));
}

}  // namespace bitjit::testing
