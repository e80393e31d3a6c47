// The default model (models/bitjit-stories.gguf, trained by tools/train/train.py), linked into
// the binary as read-only bytes: `.incbin` copies the file at assembly time, which is much faster
// to build than a C++ array of the same bytes. tools/model_loading.cc writes it to the cache.
  .section .rodata.bitjit_default_model, "a", @progbits
  .balign 64
  .globl bitjit_default_model_begin
  .globl bitjit_default_model_end
bitjit_default_model_begin:
  .incbin BITJIT_DEFAULT_MODEL_FILE
bitjit_default_model_end:
  .section .note.GNU-stack, "", @progbits
