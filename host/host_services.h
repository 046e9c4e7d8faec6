#ifndef SHADOWDIFF_HOST_HOST_SERVICES_H_
#define SHADOWDIFF_HOST_HOST_SERVICES_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "absl/status/statusor.h"
#include "host/guest_state.h"
#include "host/spte.h"

namespace shadowdiff::host {

// One slot of guest RAM: gfns [base_gfn, base_gfn + pages) live in host
// frames [host_frame, host_frame + pages).
struct MemorySlot {
  uint64_t base_gfn = 0;
  uint64_t pages = 0;
  uint64_t host_frame = 0;
};

// Where the host's table frames lie in this process: frame hfn, handed out by
// AllocateFrame, is the 4 KB at base + (hfn * 4096 - base_hpa). An MMU that
// owns its tables writes them there through pointers.
struct TableWindow {
  uint8_t* base = nullptr;
  uint64_t base_hpa = 0;
  uint64_t bytes = 0;
};

// What the host CPU offers the MMU under test: guest RAM through the memory
// slots, host frames for its own tables, the host TLB, and a way to report
// the MMU's own failures.
class HostServices {
 public:
  virtual ~HostServices() = default;

  // Guest RAM, as the hypervisor reaches it through its memory slots.
  // A gpa outside every slot is MMIO: the reads fail, the writes are dropped.
  virtual std::optional<uint64_t> GfnToHfn(uint64_t gfn) const = 0;
  virtual std::span<const MemorySlot> MemorySlots() const = 0;
  virtual bool ReadGuest(uint64_t gpa, std::span<uint8_t> out) const = 0;
  virtual bool WriteGuest(uint64_t gpa, std::span<const uint8_t> bytes) = 0;

  // Zeroed host frames for shadow tables. Fails when the per-case frame budget
  // is exhausted; the MMU should then free what it can and try again.
  virtual absl::StatusOr<uint64_t> AllocateFrame() = 0;
  virtual void FreeFrame(uint64_t hfn) = 0;

  // 8-byte aligned accesses to host memory, for shadow page table entries.
  virtual uint64_t ReadSpte(uint64_t hpa) const = 0;
  virtual void WriteSpte(uint64_t hpa, uint64_t value) = 0;
  // Every entry of the table in frame hfn at once, for the scans that zapping
  // and flushing make: one lookup of the frame instead of 512.
  virtual void ReadTable(
      uint64_t hfn, std::span<uint64_t, spte::kEntriesPerTable> out) const = 0;

  // The host TLB keeps what the host walker found until one of these drops it.
  // FlushTlb drops every entry whose page contains gva.
  virtual void FlushTlb(VcpuSet vcpus, uint64_t gva) = 0;
  virtual void FlushTlbAll(VcpuSet vcpus) = 0;

  virtual TableWindow TableFrames() const = 0;

  // An internal error of the MMU (an assertion, BUG_ON): the runner reports
  // it as a finding at the op under way and calls the MMU no more.
  virtual void ReportMmuError(std::string_view message) = 0;
};

}  // namespace shadowdiff::host

#endif  // SHADOWDIFF_HOST_HOST_SERVICES_H_
