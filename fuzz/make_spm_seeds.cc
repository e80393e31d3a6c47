// Writes spm_fuzz's seed corpus into a folder: tokenizer.model files from the test's encoder
// (tests/testing/sentencepiece_writer.h): synth's SentencePiece vocabulary (LLaMA's layout:
// <unk> <s> </s>, 256 byte pieces, scored pieces) as BPE and as UNIGRAM, and a few-piece model
// with every piece type, a default type and unknown fields.
// usage: spm_fuzz_seeds DIR
#include <cstdio>
#include <string>
#include <vector>

#include "frontend/synth/spm_vocab.h"
#include "tests/testing/sentencepiece_writer.h"

namespace {

using bitjit::testing::SpModelSpec;

void Write(const std::string& path, const std::vector<uint8_t>& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
    std::perror(path.c_str());
    std::exit(1);
  }
  std::fclose(f);
}

SpModelSpec FromSynth(int64_t n_vocab) {
  const bitjit::synth::Vocab v = bitjit::synth::SpmVocab(n_vocab);
  SpModelSpec spec;
  for (size_t i = 0; i < v.tokens.size(); ++i)
    spec.pieces.push_back({v.tokens[i], v.scores[i], v.token_types[i]});
  return spec;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  SpModelSpec small = FromSynth(bitjit::synth::MinSpmVocab());
  Write(dir + "/synth-bpe.model", bitjit::testing::SentencePieceModelBytes(small));
  small.model_type = 1;
  small.add_dummy_prefix = false;
  Write(dir + "/synth-unigram.model", bitjit::testing::SentencePieceModelBytes(small));
  SpModelSpec few;
  few.pieces = {{"<unk>", 0.0f, 2},
                {"<s>", 0.0f, 3},
                {"<0x41>", 0.0f, 6},
                {"\xE2\x96\x81"
                 "a",
                 -1.5f, 1},
                {"b", -2.0f, 0},
                {"<user>", 0.0f, 4},
                {"<unused>", 0.0f, 5}};
  std::vector<uint8_t> bytes = bitjit::testing::SentencePieceModelBytes(few);
  bitjit::testing::PutBytes(&bytes, 4, "\x0A\x01x");  // self_test_data, skipped
  bitjit::testing::PutTag(&bytes, 100, 1);            // a fixed64 field, skipped
  bytes.insert(bytes.end(), 8, 0);
  Write(dir + "/few.model", bytes);
  return 0;
}
