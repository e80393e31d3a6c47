#include "tools/id_list.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ir/base/error.h"

namespace bitjit::cli {

std::vector<int32_t> ParseIdList(std::string_view text, std::string_view flag) {
  std::vector<int32_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view item = text.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    int32_t id = 0;
    auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
    if (item.empty() || ec != std::errc() || ptr != item.data() + item.size() || id < 0) {
      Fail("--", flag, ": '", item, "' is not a token id (expected e.g. 1,2,3)");
    }
    ids.push_back(id);
    start = end + 1;
  }
  return ids;
}

void WriteF32File(const std::string& path, const std::vector<float>& values) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) Fail("cannot write ", path, ": ", std::strerror(errno));
  const size_t n = std::fwrite(values.data(), sizeof(float), values.size(), f);
  const bool ok = n == values.size() && std::fclose(f) == 0;
  if (!ok) Fail("cannot write ", path, ": ", std::strerror(errno));
}

std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail("cannot read ", path, ": ", std::strerror(errno));
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

}  // namespace bitjit::cli
