#include "tests/testing/isa.h"

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

std::string IsaParamName(const ::testing::TestParamInfo<codegen::Isa>& info) {
  return std::string(codegen::IsaName(info.param));
}

}  // namespace bitjit::testing
