#ifndef SHADOWDIFF_PROTO_LIMITS_H_
#define SHADOWDIFF_PROTO_LIMITS_H_

#include <cstddef>
#include <cstdint>

// The bounds of the case format (proto/case.proto documents each field).
// They keep every run small and fast whatever the input.
namespace shadowdiff::limits {

inline constexpr int kMaxOps = 256;
inline constexpr int kMaxSlots = 4;
inline constexpr uint32_t kMaxSlotPages = 256;
inline constexpr int kMaxSetupEntries = 512;
inline constexpr int kMaxSetupBytes = 256;
inline constexpr size_t kMaxRunConfigString = 256;

// The guest's MAXPHYADDR: gpas are below 2^36, gfns below 2^24.
inline constexpr int kGuestMaxPhysAddrBits = 36;
inline constexpr uint64_t kGfnLimit = uint64_t{1}
                                      << (kGuestMaxPhysAddrBits - 12);
// CR3 holds 32 bits outside 4-level mode.
inline constexpr uint64_t kCr3GfnLimit32 = uint64_t{1} << 20;
// Host frames backing guest RAM lie in [kHostFrameBase, kHostFrameLimit):
// above every gfn, so a gpa/hpa mix-up always shows.
inline constexpr uint64_t kHostFrameBase = uint64_t{1} << 24;
inline constexpr uint64_t kHostFrameLimit = uint64_t{1} << 30;
// Structured entry targets may exceed MAXPHYADDR on purpose (reserved bits).
inline constexpr uint64_t kTargetGfnLimit = uint64_t{1} << 40;

}  // namespace shadowdiff::limits

#endif  // SHADOWDIFF_PROTO_LIMITS_H_
