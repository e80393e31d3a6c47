// libFuzzer target: the safetensors reader `bitjit convert` opens Hugging Face checkpoints with
// (frontend/hf/safetensors_file.h), on arbitrary bytes. Checkpoints come from anyone, so the
// header length, the JSON (bounded nesting), dtypes, shapes and data offsets must all be checked
// before use: the outcome is a bitjit::Error or a file whose promises hold. Each tensor's data
// lies inside the buffer and holds exactly n_elements values of its dtype, the elements are the
// product of the shape, the tensors are sorted by name and Find finds each; a float tensor
// converts to n_elements floats. A broken promise aborts, so libFuzzer records it as a crash.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "frontend/hf/safetensors_file.h"
#include "ir/base/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bitjit;
  const std::span<const uint8_t> bytes(data, size);
  std::unique_ptr<hf::SafetensorsFile> file;
  try {
    file = hf::SafetensorsFile::FromBuffer(bytes, "fuzz");
  } catch (const Error&) {
    return 0;
  }
  const auto& tensors = file->tensors();
  for (size_t i = 0; i < tensors.size(); ++i) {
    const hf::SafetensorsTensor& t = tensors[i];
    if (i > 0 && !(tensors[i - 1].name < t.name)) std::abort();
    if (file->Find(t.name) != &t) std::abort();
    uint64_t elements = 1;
    for (uint64_t d : t.shape) elements *= d;  // the reader promises no overflow
    if (elements != t.n_elements) std::abort();
    if (t.data.size() != t.n_elements * hf::DtypeBytes(t.dtype)) std::abort();
    if (!t.data.empty() && (t.data.data() < data || t.data.data() + t.data.size() > data + size))
      std::abort();
    const bool floats =
        t.dtype == hf::Dtype::kF32 || t.dtype == hf::Dtype::kF16 || t.dtype == hf::Dtype::kBF16;
    if (floats && hf::ToFloats(t).size() != t.n_elements) std::abort();
  }
  return 0;
}
