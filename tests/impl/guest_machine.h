#ifndef SHADOWDIFF_TESTS_IMPL_GUEST_MACHINE_H_
#define SHADOWDIFF_TESTS_IMPL_GUEST_MACHINE_H_

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "gtest/gtest.h"
#include "host/guest_state.h"
#include "host/host_cpu.h"
#include "impl/shadow_mmu.h"

namespace shadowdiff::impl::testing {

// Guest entry bits, as the tests write them.
inline constexpr uint64_t kP = 1, kW = 2, kU = 4, kA = 0x20, kD = 0x40,
                          kPS = 0x80;
inline constexpr uint64_t kNx = uint64_t{1} << 63;

// Guest RAM is gfns 0x100..0x1ff in host frames from 0x1000000, so the hpa
// of a guest frame is never its gpa.
inline constexpr uint64_t kRamGfn = 0x100;
inline constexpr uint64_t kRamPages = 0x100;
inline constexpr uint64_t kRamHostFrame = 0x1000000;

inline uint64_t HpaOfGfn(uint64_t gfn) {
  return (kRamHostFrame + gfn - kRamGfn) << 12;
}

// A guest in front of the real host CPU with the shadow MMU under test.
class GuestMachine {
 public:
  explicit GuestMachine(host::GuestControls controls,
                        ShadowMmu::Options options = {},
                        std::vector<host::MemorySlot> extra_slots = {})
      : mmu_(options), cpu_(Slots(extra_slots), mmu_) {
    EXPECT_TRUE(mmu_.Start(cpu_, controls).ok());
  }

  ShadowMmu& mmu() { return mmu_; }
  host::HostCpu& cpu() { return cpu_; }

  // Guest memory written behind the MMU's back, as a case's set-up does.
  void Poke(uint64_t gpa, uint64_t value, int bytes) {
    std::array<uint8_t, 8> b;
    for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(value >> (8 * i));
    cpu_.InitGuest(gpa, std::span<const uint8_t>(b.data(), bytes));
  }
  void Poke32(uint64_t gpa, uint64_t value) { Poke(gpa, value, 4); }
  void Poke64(uint64_t gpa, uint64_t value) { Poke(gpa, value, 8); }
  uint64_t Peek(uint64_t gpa, int bytes) {
    std::array<uint8_t, 8> b = {};
    cpu_.ReadGuest(gpa, std::span<uint8_t>(b.data(), bytes));
    uint64_t value = 0;
    for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | b[i];
    return value;
  }

  // An emulated write by gpa (write_entry / phys_write).
  void Emulate(uint64_t gpa, uint64_t value, int bytes) {
    std::array<uint8_t, 8> b;
    for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(value >> (8 * i));
    mmu_.EmulatedWrite(host::kBootVcpu, gpa,
                       std::span<const uint8_t>(b.data(), bytes));
  }

  host::HostAccessResult Read(uint64_t gva, bool user = false) {
    return cpu_.Access(gva, host::AccessKind::kRead, 4, 0, user);
  }
  host::HostAccessResult Write(uint64_t gva, uint64_t value,
                               bool user = false) {
    return cpu_.Access(gva, host::AccessKind::kWrite, 4, value, user);
  }
  host::HostAccessResult Fetch(uint64_t gva, bool user = false) {
    return cpu_.Access(gva, host::AccessKind::kFetch, 1, 0, user);
  }

  // The host's view of gva through the current root.
  host::HostWalkTrace Trace(uint64_t gva) {
    return cpu_.Trace(mmu_.CurrentRoot(host::kBootVcpu), gva);
  }

 private:
  static std::vector<host::MemorySlot> Slots(
      std::vector<host::MemorySlot> extra) {
    extra.insert(extra.begin(), {kRamGfn, kRamPages, kRamHostFrame});
    return extra;
  }

  ShadowMmu mmu_;
  host::HostCpu cpu_;
};

inline host::GuestControls Controls(host::GuestMode mode, bool wp = true,
                                    bool pse = false, bool nxe = false) {
  host::GuestControls c;
  c.mode = mode;
  c.cr0_wp = wp;
  c.cr4_pse = pse;
  c.efer_nxe = nxe;
  return c;
}

}  // namespace shadowdiff::impl::testing

#endif  // SHADOWDIFF_TESTS_IMPL_GUEST_MACHINE_H_
