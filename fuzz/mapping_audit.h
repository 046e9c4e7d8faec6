#ifndef SHADOWDIFF_FUZZ_MAPPING_AUDIT_H_
#define SHADOWDIFF_FUZZ_MAPPING_AUDIT_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "absl/functional/function_ref.h"
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
  std::string detail;  // why no wider rule allowed it either
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

  // Whether page gva at hpa of mapping m, which breaks a rule, is allowed
  // all the same (an oracle's wider set); if not, it may say why in
  // *why_not.
  using Excuse =
      absl::FunctionRef<bool(const host::HostMapping& m, uint64_t gva,
                             uint64_t hpa, std::string* why_not)>;

  // The first mapping that breaks a rule and has no excuse; from_tlb makes
  // every finding a stale-TLB divergence.
  std::optional<AuditFinding> Check(std::span<const host::HostMapping> mappings,
                                    const model::PagingState& state,
                                    bool from_tlb, Excuse excuse) const;

  // The rule page gva at hpa of `mapping` breaks when the guest translates
  // gva by `walk` under `state` (its walk field left empty), if any.
  std::optional<AuditFinding> CheckTranslation(
      uint64_t gva, uint64_t hpa, const host::HostMapping& mapping,
      const model::WalkResult& walk, const model::PagingState& state) const;

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
