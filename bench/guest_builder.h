#ifndef SHADOWDIFF_BENCH_GUEST_BUILDER_H_
#define SHADOWDIFF_BENCH_GUEST_BUILDER_H_

#include <array>
#include <cstdint>

#include "host/host_cpu.h"

namespace shadowdiff::bench {

// Guest paging entry bits (SDM 4.5), written here as the guest OS would; the
// benchmarks do not borrow the MMU's own definitions.
inline constexpr uint64_t kPresent = 1ull << 0;
inline constexpr uint64_t kWritable = 1ull << 1;
inline constexpr uint64_t kUser = 1ull << 2;
inline constexpr uint64_t kAccessed = 1ull << 5;
inline constexpr uint64_t kDirty = 1ull << 6;

inline constexpr uint64_t kPageBytes = 4096;

// A leaf as Linux writes a fresh user mapping: accessed already, clean.
inline uint64_t UserPte(uint64_t gfn) {
  return (gfn << 12) | kPresent | kWritable | kUser | kAccessed;
}

// An entry as the guest stores it: 8 bytes, little endian.
inline std::array<uint8_t, 8> EntryBytes(uint64_t entry) {
  std::array<uint8_t, 8> bytes;
  for (uint8_t& byte : bytes) {
    byte = static_cast<uint8_t>(entry);
    entry >>= 8;
  }
  return bytes;
}

// Lays out a 4-level guest's tables in guest RAM, one frame at a time from the
// bottom of RAM. It writes guest memory behind the MMU's back (InitGuest), so
// it serves only before the guest boots; later table changes must be emulated
// writes.
class GuestBuilder {
 public:
  GuestBuilder(host::HostCpu& cpu, uint64_t ram_pages)
      : cpu_(cpu), ram_pages_(ram_pages) {}

  // A zeroed guest frame; aborts when RAM is exhausted (a benchmark sized
  // wrong, not a condition to measure).
  uint64_t AllocatePage();

  // The CR3 of a new, empty address space.
  uint64_t NewAddressSpace();

  // Maps the 4 KB page at gva to gfn with leaf `flags`, building the missing
  // tables. Their entries grant everything, so the leaf alone decides rights.
  void Map(uint64_t cr3, uint64_t gva, uint64_t gfn, uint64_t flags);

  // Copies donor's PML4 entry for gva into cr3's: the two address spaces then
  // share every table below it, as processes share the kernel half.
  void SharePml4Entry(uint64_t cr3, uint64_t donor_cr3, uint64_t gva);

  // The gpa of the PTE that maps gva (which Map must have mapped).
  uint64_t PteGpa(uint64_t cr3, uint64_t gva) const;

 private:
  uint64_t ReadEntry(uint64_t gpa) const;
  void WriteEntry(uint64_t gpa, uint64_t entry);

  host::HostCpu& cpu_;
  uint64_t ram_pages_;
  uint64_t next_gfn_ = 0;
};

}  // namespace shadowdiff::bench

#endif  // SHADOWDIFF_BENCH_GUEST_BUILDER_H_
