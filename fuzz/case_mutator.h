#ifndef SHADOWDIFF_FUZZ_CASE_MUTATOR_H_
#define SHADOWDIFF_FUZZ_CASE_MUTATOR_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "fuzz/case_scan.h"
#include "fuzz/rng.h"
#include "proto/case.pb.h"

namespace shadowdiff {

// A structure-aware mutator for cases. Besides the generic moves on the op
// list, it runs the reference on the case so far and aims writes at the
// paging entries that are live at that point: a shadow MMU's mistakes are all
// about noticing such writes.
//
// Deterministic for a seed. Its output is always normalized (so libFuzzer's
// reproducers reproduce) and its binary encoding fits max_size; when the input
// itself does not fit (libFuzzer's -minimize_crash), it only deletes.
class CaseMutator {
 public:
  // Mutates bytes in place the way libFuzzer does (LLVMFuzzerMutate), so that
  // scalar fields get dictionary words and comparison operands; returns the
  // new size.
  using ByteMutator =
      std::function<size_t(uint8_t* data, size_t size, size_t max_size)>;

  explicit CaseMutator(ByteMutator byte_mutator)
      : byte_mutator_(std::move(byte_mutator)) {}

  // One named move (libFuzzer's FuzzerMutate.cpp style). It declines
  // (returns false, the case untouched) when the case gives it nothing to
  // work on, and another is drawn.
  struct Move {
    const char* name;
    int weight;
    bool (CaseMutator::*apply)(Case& c, Rng& rng);
  };
  static std::span<const Move> Moves();

  // c must be normalized.
  void Mutate(Case& c, uint32_t seed, size_t max_size);

  // out becomes a with a run of b's ops spliced in.
  void CrossOver(const Case& a, const Case& b, uint32_t seed, size_t max_size,
                 Case& out);

  // The moves the last Mutate or CrossOver made, in order.
  const std::vector<const char*>& last_moves() const { return last_moves_; }

  // Generic moves.
  bool InsertRandomOp(Case& c, Rng& rng);
  bool DeleteOps(Case& c, Rng& rng);
  bool DuplicateOp(Case& c, Rng& rng);
  bool SwapOps(Case& c, Rng& rng);
  bool MoveOp(Case& c, Rng& rng);
  bool ChangeField(Case& c, Rng& rng);

  // Page-table-aware moves; each inserts a few ops at a random position,
  // aimed with the scan of the case up to there.
  bool AimTableWrite(Case& c, Rng& rng);
  // The guest reuses a page it has written as data as a page table, then
  // edits an entry through its old data mapping.
  bool RecycleDataPageAsTable(Case& c, Rng& rng);
  bool InsertFlushOrSwitch(Case& c, Rng& rng);
  // Flips CR0.WP, EFER.NXE or CR4.PSE; half the time there and back around
  // an access through an entry the bit decides.
  bool ToggleControl(Case& c, Rng& rng);
  bool ChangeMode(Case& c, Rng& rng);

  // Moves for what a TLB may keep (SDM 4.10): a change used before and
  // after an invalidation, invalidations of each kind, PCIDs, global pages.
  bool StaleAccess(Case& c, Rng& rng);
  bool InvalidateSelectively(Case& c, Rng& rng);
  bool SwitchPcid(Case& c, Rng& rng);
  bool MakeGlobal(Case& c, Rng& rng);

  // Moves for out-of-sync shadow pages: the guest rewrites a PT through a
  // mapping of its own frame (which an MMU may let go unsync), and uses the
  // entries before and after invalidating some of them; links a PT from a
  // second directory entry; switches away from a root and back to it once
  // cached, with a PT rewritten in between.
  bool UnsyncAndRewrite(Case& c, Rng& rng);
  bool LinkTableTwice(Case& c, Rng& rng);
  bool SwitchCachedRoot(Case& c, Rng& rng);

 private:
  void MutateOnce(Case& c, Rng& rng);
  void Shrink(Case& c, Rng& rng, size_t max_size);

  uint64_t MutateScalar(uint64_t value, Rng& rng);

  ByteMutator byte_mutator_;
  std::vector<const char*> last_moves_;
};

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_CASE_MUTATOR_H_
