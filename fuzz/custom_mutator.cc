// The structure-aware mutator's libFuzzer entry points. Linked into
// mmu_diff_fuzzer only: the baseline target leaves them out and so gets
// libFuzzer's built-in byte mutations on the binary case.

#include <cstddef>
#include <cstdint>

#include "fuzz/case_mutator.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/mutation_record.h"
#include "google/protobuf/arena.h"
#include "proto/normalize.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

shadowdiff::Case* ParseOrEmpty(google::protobuf::Arena& arena,
                               const uint8_t* data, size_t size) {
  auto* c = google::protobuf::Arena::CreateMessage<shadowdiff::Case>(&arena);
  if (!shadowdiff::ParseFuzzInput(data, size, c)) c->Clear();
  shadowdiff::Normalize(*c);
  return c;
}

size_t Emit(const shadowdiff::Case& c, uint8_t* out, size_t max_size) {
  const size_t size = c.ByteSizeLong();
  if (size > max_size) return 0;
  c.SerializeWithCachedSizesToArray(out);
  return size;
}

shadowdiff::CaseMutator& Mutator() {
  static shadowdiff::CaseMutator mutator(LLVMFuzzerMutate);
  return mutator;
}

}  // namespace

// Cases live on an arena that starts in the callback's own block (the two
// callbacks are never active at once, but each keeps its own all the same).
extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size,
                                          size_t max_size, unsigned int seed) {
  alignas(8) static thread_local char block[shadowdiff::kArenaBlockBytes];
  google::protobuf::Arena arena(shadowdiff::ArenaStartingIn(block));
  shadowdiff::Case* c = ParseOrEmpty(arena, data, size);
  Mutator().Mutate(*c, seed, max_size);
  const size_t out = Emit(*c, data, max_size);
  shadowdiff::RecordMutation({data, out}, Mutator().last_moves());
  return out;
}

extern "C" size_t LLVMFuzzerCustomCrossOver(const uint8_t* data1, size_t size1,
                                            const uint8_t* data2, size_t size2,
                                            uint8_t* out, size_t max_out_size,
                                            unsigned int seed) {
  alignas(8) static thread_local char block[shadowdiff::kArenaBlockBytes];
  google::protobuf::Arena arena(shadowdiff::ArenaStartingIn(block));
  auto* out_case =
      google::protobuf::Arena::CreateMessage<shadowdiff::Case>(&arena);
  Mutator().CrossOver(*ParseOrEmpty(arena, data1, size1),
                      *ParseOrEmpty(arena, data2, size2), seed, max_out_size,
                      *out_case);
  const size_t size = Emit(*out_case, out, max_out_size);
  shadowdiff::RecordMutation({out, size}, Mutator().last_moves());
  return size;
}
