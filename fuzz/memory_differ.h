#ifndef SHADOWDIFF_FUZZ_MEMORY_DIFFER_H_
#define SHADOWDIFF_FUZZ_MEMORY_DIFFER_H_

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "host/host_cpu.h"
#include "model/guest_memory.h"

namespace shadowdiff {

struct MemoryMismatch {
  uint64_t gpa = 0;        // the first byte that differs
  uint64_t qword_gpa = 0;  // the aligned 8 bytes around it
  uint64_t reference_qword = 0;
  uint64_t mmu_qword = 0;
};

// Compares the reference's guest memory with the guest RAM the host CPU holds,
// byte for byte. The one freedom the SDM gives (section 4.8): after a faulting
// walk the processor may have set the A bit of entries above the faulting
// level. Where the MMU did, its value is adopted into the reference, so that
// the two memories go on equal and every later comparison stays exact.
class MemoryDiffer {
 public:
  MemoryDiffer(model::GuestMemory& reference, host::HostCpu& cpu)
      : reference_(reference), cpu_(cpu) {
    ever_written_.reserve(64);
    written_.reserve(32);
  }

  // Forgets every page seen, for the next case on the same two memories.
  void Reset() {
    ever_written_.clear();
    written_.clear();
    last_written_pages_ = 0;
  }

  // Pages written by either side since the last call. optional_accessed_entries
  // are the entry gpas whose A bit may differ (from the op just run).
  std::optional<MemoryMismatch> CompareWritten(
      std::span<const uint64_t> optional_accessed_entries);

  // Every page either side has ever written (all others are zero on both).
  std::optional<MemoryMismatch> CompareAll();

  // Makes the reference's copy of every page written since the last call
  // what the MMU's is: for an op an oracle cannot judge, so that what comes
  // after is compared from equal memories.
  void AdoptWritten();

  // How many pages the last CompareWritten found written.
  size_t last_written_pages() const { return last_written_pages_; }

 private:
  // The pages either side wrote since the last call into written_, sorted
  // and once each, and into ever_written_.
  void TakeWrittenPages();
  std::optional<MemoryMismatch> ComparePage(
      uint64_t gfn, std::span<const uint64_t> optional_accessed_entries);

  model::GuestMemory& reference_;
  host::HostCpu& cpu_;
  // Every page written, with repeats until CompareAll sorts them out.
  std::vector<uint64_t> ever_written_;
  // The last CompareWritten's pages (a buffer reused).
  std::vector<uint64_t> written_;
  size_t last_written_pages_ = 0;
};

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_MEMORY_DIFFER_H_
