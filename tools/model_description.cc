#include "tools/model_description.h"

#include <cmath>

namespace bitjit::cli {
namespace {

// general.file_type values (llama.cpp's llama_ftype) of the files BitNet users meet.
std::string FileTypeName(const gguf::GgufFile& file) {
  if (file.Find("general.file_type") == nullptr) return "unknown type";
  switch (file.GetU64("general.file_type")) {
    case 0:
      return "all F32";
    case 1:
      return "F16";
    case 7:
      return "Q8_0";
    case 18:
      return "Q6_K";
    case 32:
      return "BF16";
    case 36:
      return "TQ1_0 - 1.69 bpw ternary";
    case 37:
      return "TQ2_0 - 2.06 bpw ternary";
    case 38:
      return "TL1";
    case 39:
      return "TL2";
    case 40:
      return "I2_S - 2 bpw ternary";
    default:
      return "unknown type";
  }
}

// "2B" for 2.4 billion parameters, "25M" below a billion.
std::string SizeClass(uint64_t n_params) {
  const double p = static_cast<double>(n_params);
  if (p >= 1e9) return std::to_string(std::llround(p / 1e9)) + "B";
  return std::to_string(std::llround(p / 1e6)) + "M";
}

}  // namespace

ModelDescription DescribeModel(const gguf::GgufFile& file) {
  ModelDescription d;
  for (const gguf::TensorInfo& t : file.tensors()) {
    d.size_bytes += t.n_bytes;
    d.n_params += t.n_elements();
  }
  const std::string arch = file.Find("general.architecture") != nullptr
                               ? std::string(file.GetString("general.architecture"))
                               : "unknown";
  d.type = arch + " " + SizeClass(d.n_params) + " " + FileTypeName(file);
  return d;
}

}  // namespace bitjit::cli
