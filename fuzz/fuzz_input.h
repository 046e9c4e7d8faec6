#ifndef SHADOWDIFF_FUZZ_FUZZ_INPUT_H_
#define SHADOWDIFF_FUZZ_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>

#include "proto/case.pb.h"

namespace shadowdiff {

// A fuzzer input: a binary case, or else a text case (so that the reviewed
// text seeds can be given to the fuzzer as they are), parsed into *c (which
// may live on an arena). Not normalized. False when it is neither.
bool ParseFuzzInput(const uint8_t* data, size_t size, Case* c);

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_FUZZ_INPUT_H_
