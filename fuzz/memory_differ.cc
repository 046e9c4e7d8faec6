#include "fuzz/memory_differ.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

namespace shadowdiff {
namespace {

constexpr uint8_t kAccessedBit = 1 << 5;

uint64_t Qword(const std::array<uint8_t, 4096>& page, uint64_t offset) {
  uint64_t v;
  std::memcpy(&v, &page[offset & ~uint64_t{7}], sizeof(v));
  return v;
}

// Pages as the memories hold them, nullptr for one that reads as zero.
bool SamePage(const uint8_t* a, const uint8_t* b) {
  static constexpr std::array<uint8_t, 4096> kZeroPage{};
  if (a == nullptr && b == nullptr) return true;
  return std::memcmp(a == nullptr ? kZeroPage.data() : a,
                     b == nullptr ? kZeroPage.data() : b,
                     kZeroPage.size()) == 0;
}

}  // namespace

std::optional<MemoryMismatch> MemoryDiffer::ComparePage(
    uint64_t gfn, std::span<const uint64_t> optional_accessed_entries) {
  // Nearly always equal: compared where they lie, copied only when not.
  if (SamePage(reference_.PageBytes(gfn), cpu_.GuestPageBytes(gfn))) {
    return std::nullopt;
  }
  // Both reads fill the whole page (zero outside RAM).
  std::array<uint8_t, 4096> ref;
  std::array<uint8_t, 4096> mmu;
  const uint64_t base = gfn << 12;
  reference_.Read(base, ref);
  cpu_.ReadGuest(base, mmu);
  if (ref == mmu) return std::nullopt;
  for (uint64_t offset = 0; offset < ref.size(); ++offset) {
    if (ref[offset] == mmu[offset]) continue;
    const uint64_t gpa = base + offset;
    // The A bit lives in the first byte of an entry.
    const bool optional_bit = (ref[offset] ^ mmu[offset]) == kAccessedBit &&
                              (mmu[offset] & kAccessedBit) &&
                              std::find(optional_accessed_entries.begin(),
                                        optional_accessed_entries.end(),
                                        gpa) != optional_accessed_entries.end();
    if (optional_bit) {
      reference_.Write(gpa, std::span<const uint8_t>(&mmu[offset], 1));
      continue;
    }
    return MemoryMismatch{.gpa = gpa,
                          .qword_gpa = gpa & ~uint64_t{7},
                          .reference_qword = Qword(ref, offset),
                          .mmu_qword = Qword(mmu, offset)};
  }
  return std::nullopt;
}

void MemoryDiffer::TakeWrittenPages() {
  written_.clear();
  reference_.TakeWrittenGfns(&written_);
  cpu_.TakeWrittenGfns(&written_);
  // Sorted, so that the first mismatch reported is the lowest page's.
  std::sort(written_.begin(), written_.end());
  written_.erase(std::unique(written_.begin(), written_.end()), written_.end());
  last_written_pages_ = written_.size();
  ever_written_.insert(ever_written_.end(), written_.begin(), written_.end());
}

std::optional<MemoryMismatch> MemoryDiffer::CompareWritten(
    std::span<const uint64_t> optional_accessed_entries) {
  TakeWrittenPages();
  for (uint64_t gfn : written_) {
    if (auto m = ComparePage(gfn, optional_accessed_entries)) return m;
  }
  return std::nullopt;
}

void MemoryDiffer::AdoptWritten() {
  TakeWrittenPages();
  std::array<uint8_t, 4096> mmu;
  for (uint64_t gfn : written_) {
    if (SamePage(reference_.PageBytes(gfn), cpu_.GuestPageBytes(gfn))) continue;
    cpu_.ReadGuest(gfn << 12, mmu);
    reference_.Write(gfn << 12, mmu);
  }
}

std::optional<MemoryMismatch> MemoryDiffer::CompareAll() {
  if (auto m = CompareWritten({})) return m;
  std::sort(ever_written_.begin(), ever_written_.end());
  ever_written_.erase(std::unique(ever_written_.begin(), ever_written_.end()),
                      ever_written_.end());
  for (uint64_t gfn : ever_written_) {
    if (auto m = ComparePage(gfn, {})) return m;
  }
  return std::nullopt;
}

}  // namespace shadowdiff
