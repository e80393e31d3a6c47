// --ternary-packing: how the ternary weights are repacked at load (runtime/model.h,
// ModelOptions::ternary_packing). "auto" = the tuning cache's choice, else 1.6 bits where the
// CPU has the VBMI kernels (avx2's 1.6-bit kernels only when asked or tuned); with --plan: the
// plan's.
#include "tools/flags.h"

DEFINE_string(ternary_packing, "auto",
              "ternary weight packing: auto (tuning cache, else 1.6bit where the CPU has "
              "AVX512_VBMI, 2bit elsewhere) | 2bit | 1.6bit (5 weights per byte: less memory "
              "traffic per token, same results); with --plan: the plan's");
