#include "bench/guest_builder.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace shadowdiff::bench {
namespace {

constexpr uint64_t kFrameMask = 0x000F'FFFF'FFFF'F000;  // bits 51:12
constexpr uint64_t kTableFlags = kPresent | kWritable | kUser | kAccessed;

// The gpa of the entry for gva in the table at frame gfn, at `level`
// (4 = PML4 ... 1 = PT).
uint64_t EntryGpa(uint64_t gfn, int level, uint64_t gva) {
  const uint64_t index = (gva >> (12 + 9 * (level - 1))) & 0x1FF;
  return gfn * kPageBytes + 8 * index;
}

}  // namespace

uint64_t GuestBuilder::AllocatePage() {
  if (next_gfn_ == ram_pages_) {
    std::fprintf(stderr, "guest builder: out of guest RAM (%llu pages)\n",
                 static_cast<unsigned long long>(ram_pages_));
    std::abort();
  }
  // Frames read as zero until written: nothing to clear.
  return next_gfn_++;
}

uint64_t GuestBuilder::NewAddressSpace() { return AllocatePage() * kPageBytes; }

void GuestBuilder::Map(uint64_t cr3, uint64_t gva, uint64_t gfn,
                       uint64_t flags) {
  uint64_t table = cr3 / kPageBytes;
  for (int level = 4; level > 1; --level) {
    const uint64_t gpa = EntryGpa(table, level, gva);
    uint64_t entry = ReadEntry(gpa);
    if ((entry & kPresent) == 0) {
      entry = (AllocatePage() * kPageBytes) | kTableFlags;
      WriteEntry(gpa, entry);
    }
    table = (entry & kFrameMask) / kPageBytes;
  }
  WriteEntry(EntryGpa(table, 1, gva), (gfn * kPageBytes) | flags);
}

void GuestBuilder::SharePml4Entry(uint64_t cr3, uint64_t donor_cr3,
                                  uint64_t gva) {
  WriteEntry(EntryGpa(cr3 / kPageBytes, 4, gva),
             ReadEntry(EntryGpa(donor_cr3 / kPageBytes, 4, gva)));
}

uint64_t GuestBuilder::PteGpa(uint64_t cr3, uint64_t gva) const {
  uint64_t table = cr3 / kPageBytes;
  for (int level = 4; level > 1; --level) {
    table = (ReadEntry(EntryGpa(table, level, gva)) & kFrameMask) / kPageBytes;
  }
  return EntryGpa(table, 1, gva);
}

uint64_t GuestBuilder::ReadEntry(uint64_t gpa) const {
  std::array<uint8_t, 8> bytes;
  cpu_.ReadGuest(gpa, bytes);
  uint64_t entry = 0;
  for (int i = 7; i >= 0; --i) entry = (entry << 8) | bytes[i];
  return entry;
}

void GuestBuilder::WriteEntry(uint64_t gpa, uint64_t entry) {
  cpu_.InitGuest(gpa, EntryBytes(entry));
}

}  // namespace shadowdiff::bench
