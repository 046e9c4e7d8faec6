#ifndef SHADOWDIFF_FUZZ_FUZZ_INPUT_H_
#define SHADOWDIFF_FUZZ_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "google/protobuf/arena.h"
#include "proto/case.pb.h"

namespace shadowdiff {

// A fuzzer input: a binary or a text case (so that the reviewed text seeds
// can be given to the fuzzer as they are), told apart by content as case
// files are (fuzz/case_file.h), parsed into *c (which may live on an arena).
// Not normalized. False when it is neither.
bool ParseFuzzInput(const uint8_t* data, size_t size, Case* c);

// Options for the arena of one fuzzer callback's cases whose first block is
// `block`, a buffer the callback keeps for the next calls: a typical case then
// costs no allocation at all, where under AddressSanitizer each one costs more
// than parsing the case. The block must not be in use by another arena.
google::protobuf::ArenaOptions ArenaStartingIn(std::span<char> block);

// The size of such a block: a few cases of the fuzzer's maximum length.
inline constexpr size_t kArenaBlockBytes = size_t{64} << 10;

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_FUZZ_INPUT_H_
