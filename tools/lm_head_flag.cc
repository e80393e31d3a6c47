// --lm-head: the form of the tied lm_head table (codegen/lmhead/lm_head_type.h). Empty = f16
// for a fresh compile, the plan's own choice with --plan.
#include "tools/flags.h"

DEFINE_string(lm_head, "",
              "lm_head table: f16 (default: the model's own, bitnet.cpp's numerics) | q8_0 | q6_k "
              "(quantized at compile time: faster, logits deviate slightly); with --plan: the "
              "plan's");
