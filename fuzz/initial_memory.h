#ifndef SHADOWDIFF_FUZZ_INITIAL_MEMORY_H_
#define SHADOWDIFF_FUZZ_INITIAL_MEMORY_H_

#include <array>
#include <cstdint>
#include <functional>
#include <span>

#include "proto/case.pb.h"

namespace shadowdiff {

// Calls write for each write that fills guest memory before the first op:
// setup.entries (at the mode's entry width), then setup.bytes.
void ForEachInitialWrite(
    const Setup& setup,
    const std::function<void(uint64_t gpa, std::span<const uint8_t> bytes)>&
        write);

// The little-endian bytes of value; the first `length` are the ones written.
std::array<uint8_t, 8> LittleEndian(uint64_t value);

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_INITIAL_MEMORY_H_
