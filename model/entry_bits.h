#ifndef SHADOWDIFF_MODEL_ENTRY_BITS_H_
#define SHADOWDIFF_MODEL_ENTRY_BITS_H_

#include <cstdint>

// The flag bits of a paging-structure entry. They sit at the same place in
// every mode and level that has them (SDM 4.3 tables 4-4..4-6, 4.4 tables
// 4-8..4-11, 4.5 tables 4-14..4-19); which of them an entry has, and which
// other bits it reserves, is the business of the walker and reserved_bits.h.
namespace shadowdiff::model::entry_bits {

inline constexpr uint64_t kPresent = uint64_t{1} << 0;
inline constexpr uint64_t kWritable = uint64_t{1} << 1;
inline constexpr uint64_t kUser = uint64_t{1} << 2;
inline constexpr uint64_t kAccessed = uint64_t{1} << 5;
inline constexpr uint64_t kDirty = uint64_t{1} << 6;
inline constexpr uint64_t kPageSize = uint64_t{1} << 7;
inline constexpr uint64_t kGlobal = uint64_t{1} << 8;
inline constexpr uint64_t kExecuteDisable = uint64_t{1} << 63;

// Bits high..low of a 64-bit value, inclusive: the SDM's "bits 51:36".
constexpr uint64_t Bits(int high, int low) {
  return (~uint64_t{0} >> (63 - high)) & (~uint64_t{0} << low);
}

}  // namespace shadowdiff::model::entry_bits

#endif  // SHADOWDIFF_MODEL_ENTRY_BITS_H_
