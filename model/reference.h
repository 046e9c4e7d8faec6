#ifndef SHADOWDIFF_MODEL_REFERENCE_H_
#define SHADOWDIFF_MODEL_REFERENCE_H_

#include <cstdint>
#include <span>
#include <vector>

#include "model/accessed_dirty.h"
#include "model/guest_memory.h"
#include "model/paging_state.h"
#include "model/walk.h"
#include "proto/case.pb.h"

namespace shadowdiff::model {

// What one guest access did on the reference processor.
struct AccessResult {
  enum class Kind { kOk, kPageFault, kMmio };
  Kind kind = Kind::kOk;
  uint64_t value = 0;       // loads
  uint64_t gpa = 0;         // kOk and kMmio
  uint64_t hpa = 0;         // kOk
  uint32_t error_code = 0;  // kPageFault
  uint64_t cr2 = 0;         // kPageFault
  WalkResult walk;          // the walk as it was before any A/D update
  // On a fault: gpas of the entries above the faulting level whose A bit the
  // processor may have set (SDM 4.8); the reference leaves them alone.
  EntryGpas optional_accessed_entries;
};

// The reference processor: an executable reading of Intel SDM Vol. 3A
// chapter 4 with a strict TLB (every access walks the current tables).
class Reference {
 public:
  // Guest memory must already hold the case's initial contents. CR3 starts at
  // 0 with zero PDPTE registers; the caller then loads the initial CR3.
  Reference(GuestMemory& memory, const Setup& setup);

  // Back to the state at construction, for the next case on the same memory.
  void Reset(const Setup& setup);

  // A load, store or fetch of width bytes at gva (aligned, one page).
  AccessResult Access(uint64_t gva, AccessKind kind, int width, uint64_t value,
                      bool user);

  // MOV to CR3 of `source` (bit 63: the PCID no-flush bit; SDM 4.4.1 for
  // PAE). False: #GP, nothing changed.
  bool LoadCr3(uint64_t source);

  // A control bit change. False: #GP, nothing changed.
  bool SetControl(ControlBit bit, bool value);

  // A write by gpa (an emulated write): only memory changes.
  void WritePhysical(uint64_t gpa, std::span<const uint8_t> bytes);

  // INVLPG: nothing to do with a strict TLB; kept for symmetry of the trace.
  void Invlpg(uint64_t gva);

  // INVPCID: only its #GP matters with a strict TLB. False: #GP.
  bool Invpcid(uint32_t type, uint32_t pcid, uint64_t gva);

  // The side-effect-free walk of gva under the current state.
  WalkResult WalkOf(uint64_t gva) const;

  const PagingState& state() const { return state_; }
  GuestMemory& memory() { return memory_; }
  const GuestMemory& memory() const { return memory_; }

 private:
  GuestMemory& memory_;
  PagingState state_;
};

}  // namespace shadowdiff::model

#endif  // SHADOWDIFF_MODEL_REFERENCE_H_
