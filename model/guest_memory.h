#ifndef SHADOWDIFF_MODEL_GUEST_MEMORY_H_
#define SHADOWDIFF_MODEL_GUEST_MEMORY_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "model/physical_memory.h"
#include "model/write_journal.h"
#include "proto/case.pb.h"

namespace shadowdiff::model {

// The reference's guest RAM: the case's memory slots, zero until written.
// Pages are allocated on first write.
class GuestMemory final : public PhysicalMemory {
 public:
  explicit GuestMemory(std::vector<MemorySlot> slots);
  ~GuestMemory() override;
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;

  // Forgets every page and takes new slots, as a new GuestMemory would, but
  // keeps the buffers: a fuzzer runs case after case on one memory.
  void Reset(const google::protobuf::RepeatedPtrField<MemorySlot>& slots);

  bool IsRam(uint64_t gpa) const override;
  bool Read(uint64_t gpa, std::span<uint8_t> out) const override;
  bool Write(uint64_t gpa, std::span<const uint8_t> bytes) override;

  // The bytes of page gfn, or nullptr while it reads as zero (never written,
  // or not RAM): lets a whole page be compared without copying it.
  const uint8_t* PageBytes(uint64_t gfn) const;

  // The host-physical address backing gpa, if gpa is RAM.
  std::optional<uint64_t> HostAddress(uint64_t gpa) const;

  // Appends to *out the gfns written since the last call (each once).
  void TakeWrittenGfns(std::vector<uint64_t>* out);

  // Every gfn that was ever written (others are all zero).
  std::vector<uint64_t> TouchedGfns() const;

  const std::vector<MemorySlot>& slots() const { return slots_; }

  // Every write from now on is recorded there too (nullptr: none), for the
  // architectural oracle's history of what entries held.
  void set_journal(WriteJournal* journal) { journal_ = journal; }

 private:
  using Page = std::array<uint8_t, 4096>;

  // Freed pages of every GuestMemory of this thread, for the next ones: a
  // fuzzer builds a guest memory per input, and allocating each page anew is
  // a large share of a run under AddressSanitizer.
  static std::vector<std::unique_ptr<Page>>& PagePool();
  void ReleasePages();
  Page& Materialize(uint64_t gfn);

  std::vector<MemorySlot> slots_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<Page>> pages_;
  // Pages written since the last TakeWrittenGfns, a run of writes to one page
  // listed once (a set costs more than the few repeats left).
  std::vector<uint64_t> written_;
  WriteJournal* journal_ = nullptr;
};

}  // namespace shadowdiff::model

#endif  // SHADOWDIFF_MODEL_GUEST_MEMORY_H_
