#include "runtime/model.h"

#include <algorithm>
#include <numeric>

#include "codegen/lmhead/lm_head_type.h"
#include "frontend/lowering/lower_bitnet.h"
#include "ir/base/error.h"
#include "passes/pass.h"
#include "runtime/compiled_model.h"
#include "runtime/interpreter.h"
#include "runtime/jit_executor.h"
#include "runtime/schedule.h"
#include "runtime/tuning/tile_choice.h"

namespace bitjit {

std::unique_ptr<Model> Model::Open(const std::string& path, const ModelOptions& options) {
  std::unique_ptr<Model> m(new Model());
  m->options_ = options;
  m->file_ = gguf::GgufFile::Open(path);
  try {
    m->config_ = ModelConfig::FromGguf(*m->file_);
    m->tokenizer_ = Tokenizer::FromGguf(*m->file_, options.pre_tokenizer);
  } catch (const Error& e) {
    Fail(path, ": ", e.what());
  }
  return m;
}

std::unique_ptr<Model> Model::Load(const std::string& path, const ModelOptions& options) {
  // --lm-head: validated before any work; only the JIT path has the quantized kernels.
  const lm_head::LmHeadType lm_head = lm_head::ParseLmHeadType(options.lm_head);
  if (lm_head != lm_head::LmHeadType::kF16 && options.isa == "ref") {
    Fail("--lm-head ", options.lm_head, " needs the JIT path: --isa ref runs the interpreter, ",
         "which multiplies the model's own table");
  }
  std::unique_ptr<Model> m = Open(path, options);
  m->options_.lm_head = lm_head::LmHeadTypeName(lm_head);
  m->graph_ = LowerBitnet(*m->file_, m->config_, options.numerics);
  if (options.optimize) {
    passes::Pipeline::Default().Run(m->graph_.get(), nullptr,
                                    TargetContext(options.isa, options.ternary_packing));
  }
  if (options.isa != "ref") {
    if (!options.optimize) Fail("the JIT path needs the optimized graph (use --isa ref)");
    const codegen::Isa isa =
        options.isa.empty() ? codegen::BestIsa() : codegen::ParseIsa(options.isa);
    m->compiled_ = CompileModel(*m->graph_, isa, options.n_threads, lm_head, m->FilePageRelease());
    // The kernels read the repacked copy: the I2_S bytes need not stay resident.
    for (const auto& t : m->file_->tensors())
      if (t.ggml_type() == gguf::GgmlType::kI2_S) m->file_->ReleasePages(t.data);
    m->ReleaseLmHeadPages();
  }
  m->schedule_ = std::make_shared<const Schedule>(*m->graph_, m->compiled_);
  return m;
}

std::function<void(const uint8_t*, size_t)> Model::FilePageRelease() const {
  const gguf::GgufFile* file = file_.get();  // owned by the model, which outlives its kernels
  return [file](const uint8_t* data, size_t bytes) { file->ReleasePages({data, bytes}); };
}

void Model::ReleaseLmHeadPages() const {
  const CompiledModel& compiled = *compiled_;
  // The model's table is left to embedding lookups (a row per token).
  if (compiled.f16_lm_head_table || compiled.quantized_lm_head) {
    const ir::ConstantData& table = lm_head::LmHeadTable(*graph_).producer->constant;
    file_->ReleasePages({table.data, table.n_bytes});
  }
}

passes::PassContext Model::TargetContext(const std::string& isa_option,
                                         const std::string& packing_option) {
  passes::PassContext context;
  const std::optional<codegen::TernaryPacking> packing = ParsePackingOption(packing_option);
  if (isa_option == "ref") {
    if (packing) Fail("--ternary-packing needs the JIT path: --isa ref reads the I2_S bytes");
    return context;
  }
  const codegen::Isa isa =
      codegen::ResolveIsa(isa_option.empty() ? codegen::BestIsa() : codegen::ParseIsa(isa_option));
  if (packing && !codegen::TernaryPackingSupported(isa, *packing)) {
    Fail("--ternary-packing ", packing_option,
         " needs the avx2 kernels, or the avx512vnni / avx512amx ones and AVX512_VBMI (",
         codegen::IsaName(isa), " on ", codegen::HostCpu().brand, ")");
  }
  context.target = std::string(codegen::IsaName(isa));
  context.choose_weight_tile = [isa, packing](int64_t k, int64_t n) {
    return ToWeightTile(DecideTernaryTile(k, n, isa, packing));
  };
  return context;
}

std::optional<codegen::TernaryPacking> Model::ParsePackingOption(const std::string& option) {
  if (option.empty() || option == "auto") return std::nullopt;
  try {
    return codegen::ParseTernaryPacking(option);
  } catch (const Error&) {
    Fail("--ternary-packing '", option, "': expected auto, 2bit or 1.6bit");
  }
}

std::unique_ptr<Executor> Model::CreateExecutor(int n_threads) const {
  if (!compiled_) return std::make_unique<Interpreter>(schedule_);
  return std::make_unique<JitExecutor>(schedule_, n_threads < 0 ? options_.n_threads : n_threads);
}

int64_t Model::DecodeWeightBytes() const {
  int64_t bytes = 0;
  const CompiledModel* compiled = compiled_.get();
  for (const auto& n : graph_->nodes()) {
    if (n->kind == ir::OpKind::kBitLinear && compiled) {
      for (const auto& w : compiled->linears.at(n.get()).weights)
        bytes += static_cast<int64_t>(w.bytes);
    } else if (n->kind == ir::OpKind::kConstant && n->constant.name != "token_embd.weight" &&
               !(compiled && n->result()->dtype == ir::DType::kI2S)) {
      bytes += static_cast<int64_t>(n->constant.n_bytes);  // norms; i2_s on the interpreter
    } else if (n->kind == ir::OpKind::kLmHead && compiled && compiled->quantized_lm_head) {
      bytes += static_cast<int64_t>(compiled->quantized_lm_head->table().bytes);  // --lm-head
    } else if (n->kind == ir::OpKind::kLmHead) {
      bytes += static_cast<int64_t>(n->operands[1]->producer->constant.n_bytes);
    }
  }
  return bytes;
}

std::string Model::ternary_packing_name() const {
  if (!compiled_) return "i2_s";
  bool seen[2] = {false, false};
  for (const auto& [node, pl] : compiled_->linears) {
    for (const auto& w : pl.weights) seen[w.packing == codegen::TernaryPacking::k1p6Bit] = true;
  }
  if (seen[0] && seen[1]) return "2bit+1.6bit";
  return codegen::TernaryPackingName(seen[1] ? codegen::TernaryPacking::k1p6Bit
                                             : codegen::TernaryPacking::k2Bit);
}

std::string Model::isa_name() const {
  if (!compiled_) return "ref";
  return std::string(codegen::IsaName(compiled_->isa));
}

int64_t Model::DefaultContext() const {
  const bool f16 = options_.numerics == ir::Numerics::kBitnet;
  const int64_t per_token = KvCache::BytesFor(config_.n_layer, 1, config_.n_embd_kv(), f16);
  return std::max<int64_t>(1, std::min(config_.n_ctx_train, kDefaultKvBudget / per_token));
}

namespace {
int64_t CheckedContext(const Model& model, int64_t n_ctx) {
  if (n_ctx <= 0) return model.DefaultContext();
  if (n_ctx > (int64_t{1} << 22)) Fail("context size ", n_ctx, " is too large");
  return n_ctx;
}
}  // namespace

Session::Session(const Model& model, int64_t n_ctx, int n_threads)
    : model_(model),
      executor_(model.CreateExecutor(n_threads)),
      cache_(model.config().n_layer, CheckedContext(model, n_ctx), model.config().n_embd_kv(),
             model.options().numerics == ir::Numerics::kBitnet) {}

void Session::Truncate(int64_t n) {
  n_past_ = std::clamp<int64_t>(n, 0, n_past_);
}

void Session::Eval(std::span<const int32_t> tokens, bool all_rows, std::vector<float>* logits) {
  Run(tokens, all_rows, /*decode_steps=*/false, logits);
}

void Session::EvalAsDecodeSteps(std::span<const int32_t> tokens, std::vector<float>* logits) {
  Run(tokens, /*all_rows=*/true, /*decode_steps=*/true, logits);
}

void Session::Run(std::span<const int32_t> tokens, bool all_rows, bool decode_steps,
                  std::vector<float>* logits) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) Fail("no tokens to evaluate");
  if (n_past_ + n > cache_.n_ctx()) {
    Fail("context is full: ", n_past_, " tokens in the cache + ", n, " new > context size ",
         cache_.n_ctx(), " (use a larger -c)");
  }
  const int64_t vocab = model_.config().n_vocab;
  for (int32_t id : tokens)
    if (id < 0 || id >= vocab)
      Fail("token id ", id, " is outside the vocabulary (0..", vocab - 1, ")");
  std::vector<int32_t> positions(n), rows;
  std::iota(positions.begin(), positions.end(), static_cast<int32_t>(n_past_));
  if (all_rows) {
    rows.resize(n);
    std::iota(rows.begin(), rows.end(), 0);
  } else {
    rows.push_back(static_cast<int32_t>(n - 1));
  }
  logits->resize(rows.size() * vocab);
  const std::vector<uint8_t> flags(decode_steps ? n : 0, 1);
  executor_->Forward({tokens, positions, rows, {}, flags}, cache_, logits->data());
  n_past_ += n;
}

}  // namespace bitjit
