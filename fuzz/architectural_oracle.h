#ifndef SHADOWDIFF_FUZZ_ARCHITECTURAL_ORACLE_H_
#define SHADOWDIFF_FUZZ_ARCHITECTURAL_ORACLE_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "fuzz/strict_oracle.h"
#include "model/translation_cache.h"

namespace shadowdiff {

// What SDM 4.10 lets a processor do (model/translation_cache.h): an access
// may use any translation made since the last invalidation that covers it,
// through cached upper entries or a TLB entry, so a stale translation may
// still be used, a stale lack of rights may give one spurious #PF (which
// invalidates it), and a translation that was never valid is never used.
// Where several translations give the MMU's outcome, the reference takes the
// one whose accessed and dirty updates guest memory shows, and goes on from
// there. Host translations in the current root and the host TLB must each be
// one the processor may hold now; a kept root, which the CPU reaches only
// through the MMU's CR3 load, one the guest tables gave at some moment under
// its CR3.
class ArchitecturalOracle final : public StrictOracle {
 public:
  explicit ArchitecturalOracle(RunContext context);

  void Begin(host::GuestMmu& mmu) override;
  std::optional<Divergence> Check(int index, const Step& step) override;

 private:
  std::optional<Divergence> CheckAccess(int index, const Step& step);
  // Whether the MMU's memory holds, at each of entry_gpas, the entry as it
  // was before the access with walk's accessed (and for a write the leaf's
  // dirty) flag set in the levels of `levels_updated` (SetAccessedDirty's
  // mask), and, when `stored`, the step's store at walk.gpa on top.
  bool MemoryShows(const model::WalkResult& walk, uint32_t levels_updated,
                   const Step& step, bool stored,
                   std::span<const uint64_t> entry_gpas) const;
  void Invalidate(const Step& step);

  bool AllowedInCurrentRoot(const host::HostRoot& root,
                            const host::HostMapping& m, uint64_t gva,
                            uint64_t hpa, std::string* why_not) override;
  bool AllowedInTlb(const host::HostMapping& m, uint64_t gva, uint64_t hpa,
                    std::string* why_not) override;
  // What the MMU promised of the tables the host walks for gva from root
  // (GuestMmu::OutOfSyncTables): nothing, that they follow the guest's
  // exactly (then only the current walk is allowed there; *why_not says
  // so), or that one of them is out of sync.
  enum class Promise { kNone, kInSync, kOutOfSync };
  Promise PromiseFor(const host::HostRoot& root, uint64_t gva,
                     std::string* why_not) const;
  bool AllowedInKeptRoot(const host::KeptRoot& kept, const host::HostMapping& m,
                         uint64_t gva, uint64_t hpa,
                         std::string* why_not) override;
  bool AllowedBy(const model::PossibleWalks& possible,
                 const model::PagingState& state, const host::HostMapping& m,
                 uint64_t gva, uint64_t hpa, std::string* why_not) const;

  model::TranslationCache cache_;
  // The version the last check left the history at: where an access's own
  // effects begin.
  uint64_t checked_version_ = 0;
};

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_ARCHITECTURAL_ORACLE_H_
