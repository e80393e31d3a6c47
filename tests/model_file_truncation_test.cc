// A model file truncated while `bitjit serve` has it mapped: the next request that reads a lost
// page used to kill the server with SIGBUS. It must end with a one-line error and exit code 2.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "tests/server/http_client.h"
#include "tests/server/server_process.h"
#include "tests/testing/cli.h"
#include "tests/testing/golden.h"

namespace bitjit {
namespace {

using std::chrono::seconds;

TEST(ModelFileTruncation, ServerExitsWithOneLineErrorNotABusError) {
  testing::TempDir dir;
  const std::string model = dir.File("model.gguf");
  std::filesystem::copy_file(testing::SharedDir() + "/golden/tiny/model.gguf", model);
  testing::ServerProcess server({"-m", model, "--parallel", "1", "-c", "256"});
  ASSERT_GT(server.port(), 0) << server.Log();
  const nlohmann::json request = {{"prompt", "a"}, {"max_tokens", 2}};
  ASSERT_EQ(testing::Post(server.port(), "/v1/completions", request).status, 200);

  ASSERT_EQ(::truncate(model.c_str(), 4096), 0);
  const testing::Reply after =
      testing::Send(server.port(), "POST", "/v1/completions", request.dump(), seconds(20));
  EXPECT_NE(after.status, 200) << after.raw;
  EXPECT_EQ(server.Terminate(seconds(20)), 2) << server.Log();
  const std::string log = server.Log();
  EXPECT_NE(log.find("error: " + model + " changed while in use"), std::string::npos) << log;
}

}  // namespace
}  // namespace bitjit
