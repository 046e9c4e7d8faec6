#ifndef SHADOWDIFF_FUZZ_OP_DISPATCH_H_
#define SHADOWDIFF_FUZZ_OP_DISPATCH_H_

#include <cstdint>
#include <span>

#include "model/paging_state.h"
#include "proto/case.pb.h"

namespace shadowdiff {

// What one op asks of a machine, decoded from the case format in one place:
// entry encodings, widths and byte orders are worked out here, for every
// side that runs ops (the runner's two translators, the mutator's scan).
class OpTarget {
 public:
  virtual ~OpTarget() = default;
  // A fetch has width 1 and value 0; a load has value 0.
  virtual void Access(uint64_t gva, model::AccessKind kind, int width,
                      uint64_t value, bool user) = 0;
  // write_entry and phys_write: an emulated write by gpa.
  virtual void WritePhysical(uint64_t gpa, std::span<const uint8_t> bytes) = 0;
  virtual void Invlpg(uint64_t gva) = 0;
  virtual void LoadCr3(uint64_t cr3) = 0;
  virtual void SetControl(ControlBit bit, bool value) = 0;
  virtual void Invpcid(uint32_t type, uint32_t pcid, uint64_t gva) = 0;
};

// Calls the one target method that op stands for (none for an empty op).
void DispatchOp(const Op& op, PagingMode mode, OpTarget& target);

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_OP_DISPATCH_H_
