#ifndef SHADOWDIFF_FUZZ_STRICT_ORACLE_H_
#define SHADOWDIFF_FUZZ_STRICT_ORACLE_H_

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fuzz/mapping_audit.h"
#include "fuzz/oracle.h"

namespace shadowdiff {

// Today's rules, for MMUs that promise to stay coherent: every access
// translates through the current guest tables, as if the guest had no TLB;
// guest memory is equal byte for byte but for the A bits SDM 4.8 leaves
// open on a faulting walk; every host translation the CPU can reach
// (current root, kept roots, host TLB) agrees with the guest's tables.
class StrictOracle : public Oracle {
 public:
  explicit StrictOracle(RunContext context);

  void Begin(host::GuestMmu& mmu) override;
  std::optional<Divergence> Check(int index, const Step& step) override;

 protected:
  std::optional<Divergence> CompareOutcome(int index, const Step& step) const;
  std::optional<Divergence> CompareMemory(
      int index, const Step& step,
      std::span<const uint64_t> optional_accessed_entries);
  std::optional<Divergence> Audit(int index);
  // Whether the audit after `step` would find what the last one found:
  // the shortcut both oracles take, with its soundness condition.
  bool AuditStillHolds(const Step& step) const;

  // Where the architectural oracle widens the audit: a host mapping the
  // guest's current tables do not give may still be one the processor may
  // hold (page `gva` at `hpa` of mapping m, in the tables under `root` or in
  // the host TLB). The strict oracle allows none.
  virtual bool AllowedInCurrentRoot(const host::HostRoot& root,
                                    const host::HostMapping& m, uint64_t gva,
                                    uint64_t hpa, std::string* why_not) {
    return false;
  }
  virtual bool AllowedInTlb(const host::HostMapping& m, uint64_t gva,
                            uint64_t hpa, std::string* why_not) {
    return false;
  }
  virtual bool AllowedInKeptRoot(const host::KeptRoot& kept,
                                 const host::HostMapping& m, uint64_t gva,
                                 uint64_t hpa, std::string* why_not) {
    return false;
  }

  std::optional<host::HostWalkTrace> MmuView(uint64_t gva) const;

  RunContext context_;
  host::GuestMmu* mmu_ = nullptr;
  MappingAudit audit_;
  // Reused by every audit: the host's mappings of the current root (sorted
  // by gva), and of a kept root or the TLB.
  std::vector<host::HostMapping> root_mappings_;
  std::vector<host::HostMapping> mappings_;
};

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_STRICT_ORACLE_H_
