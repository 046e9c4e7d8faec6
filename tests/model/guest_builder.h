#ifndef SHADOWDIFF_TESTS_MODEL_GUEST_BUILDER_H_
#define SHADOWDIFF_TESTS_MODEL_GUEST_BUILDER_H_

#include <array>
#include <cstdint>
#include <vector>

#include "model/guest_memory.h"
#include "proto/case.pb.h"

// Hand-built guests for the model tests. Entries are written byte by byte
// here, not through model code, so that a bug in the model's own little-endian
// helpers cannot hide in a test.
namespace shadowdiff::model::testing {

inline MemorySlot Slot(uint64_t base_gfn, uint32_t pages, uint64_t host_frame) {
  MemorySlot slot;
  slot.set_base_gfn(base_gfn);
  slot.set_pages(pages);
  slot.set_host_frame(host_frame);
  return slot;
}

// RAM at gfns 0x100..0x10f (host frames 0x1000000..) and 0x400..0x4ff (host
// frames 0x2000000..); everything else is MMIO.
inline std::vector<MemorySlot> TwoSlots() {
  return {Slot(0x100, 16, 0x1000000), Slot(0x400, 256, 0x2000000)};
}

inline void PutBytes(GuestMemory& memory, uint64_t gpa, uint64_t value,
                     int width) {
  std::array<uint8_t, 8> bytes = {};
  for (int i = 0; i < width; ++i) bytes[i] = (value >> (8 * i)) & 0xFF;
  memory.Write(gpa, std::span<const uint8_t>(bytes.data(), width));
}

inline uint64_t GetBytes(const GuestMemory& memory, uint64_t gpa, int width) {
  std::array<uint8_t, 8> bytes = {};
  memory.Read(gpa, std::span<uint8_t>(bytes.data(), width));
  uint64_t value = 0;
  for (int i = width - 1; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

inline void Put32(GuestMemory& memory, uint64_t gpa, uint32_t value) {
  PutBytes(memory, gpa, value, 4);
}
inline void Put64(GuestMemory& memory, uint64_t gpa, uint64_t value) {
  PutBytes(memory, gpa, value, 8);
}
inline uint64_t Get32(const GuestMemory& memory, uint64_t gpa) {
  return GetBytes(memory, gpa, 4);
}
inline uint64_t Get64(const GuestMemory& memory, uint64_t gpa) {
  return GetBytes(memory, gpa, 8);
}

inline Setup MakeSetup(PagingMode mode, bool cr0_wp = false,
                       bool cr4_pse = false, bool efer_nxe = false,
                       bool gbpages = false) {
  Setup setup;
  setup.set_mode(mode);
  setup.set_cr0_wp(cr0_wp);
  setup.set_cr4_pse(cr4_pse);
  setup.set_efer_nxe(efer_nxe);
  setup.set_gbpages(gbpages);
  return setup;
}

// Entry flag bits, spelled out again (SDM 4.3-4.5) rather than taken from the
// model.
inline constexpr uint64_t kP = 1ull << 0;
inline constexpr uint64_t kW = 1ull << 1;
inline constexpr uint64_t kU = 1ull << 2;
inline constexpr uint64_t kA = 1ull << 5;
inline constexpr uint64_t kD = 1ull << 6;
inline constexpr uint64_t kPs = 1ull << 7;
inline constexpr uint64_t kNx = 1ull << 63;

}  // namespace shadowdiff::model::testing

#endif  // SHADOWDIFF_TESTS_MODEL_GUEST_BUILDER_H_
