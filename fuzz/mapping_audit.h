#ifndef SHADOWDIFF_FUZZ_MAPPING_AUDIT_H_
#define SHADOWDIFF_FUZZ_MAPPING_AUDIT_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "fuzz/divergence.h"
#include "host/host_cpu.h"
#include "model/guest_memory.h"
#include "model/paging_state.h"
#include "model/physical_memory.h"
#include "model/walk.h"

namespace shadowdiff {

struct AuditFinding {
  DivergenceKind kind = DivergenceKind::kMapping;
  uint64_t gva = 0;
  std::string summary;
  model::WalkResult walk;
};

// Checks host translations against the guest's own tables. A host mapping of
// a gva must translate to the host address of the gpa the guest walk gives,
// exist only if every guest entry on the way is accessed, and allow no access
// the guest would fault on; writable only if the guest leaf is dirty.
// Host rights are read as the host runs: CR0.WP=1, EFER.NXE=1, no SMEP/SMAP.
class MappingAudit {
 public:
  explicit MappingAudit(const model::GuestMemory& memory) : memory_(memory) {}

  // The first mapping that breaks a rule; from_tlb makes every finding a
  // stale-TLB divergence.
  std::optional<AuditFinding> Check(std::span<const host::HostMapping> mappings,
                                    const model::PagingState& state,
                                    bool from_tlb) const;

 private:
  // Whether one guest page maps the whole host page m, from gpas in one slot.
  bool OneGuestPageCovers(const host::HostMapping& m,
                          const model::PagingState& state) const;
  std::optional<AuditFinding> CheckPage(uint64_t gva, uint64_t hpa,
                                        const host::HostMapping& mapping,
                                        const model::PagingState& state) const;

  const model::GuestMemory& memory_;
};

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_MAPPING_AUDIT_H_
