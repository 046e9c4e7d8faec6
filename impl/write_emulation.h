#ifndef SHADOWDIFF_IMPL_WRITE_EMULATION_H_
#define SHADOWDIFF_IMPL_WRITE_EMULATION_H_

#include <cstdint>
#include <optional>
#include <span>

#include "host/guest_state.h"
#include "impl/bug_switches.h"
#include "impl/counters.h"
#include "impl/role.h"
#include "impl/shadow_page.h"
#include "impl/shadow_tables.h"

namespace shadowdiff::impl {

// The sptes of a shadow page that shadow one guest entry.
struct SpteSpan {
  int first = 0;
  int count = 0;

  bool operator==(const SpteSpan&) const = default;
};

// Which sptes of a page with `role` shadow entry `entry_index` of its guest
// table; nullopt if the entry lies in another quadrant's part of the table.
// 64-bit guest tables map one to one. A 32-bit PT entry j lives in quadrant
// j / 512 at j % 512. A 32-bit PDE i maps 4 MB, two 2 MB shadow PDEs:
// 2 * (i % 256) and the next, in quadrant i / 256.
std::optional<SpteSpan> WrittenSptes(const Role& role, int entry_index,
                                     const BugSet& bugs);

// Emulated writes to guest memory (stores that hit a write-protected guest
// table, writes by gpa): the write goes to guest memory, then every shadow of
// the written table catches up (KVM's kvm_mmu_pte_write):
//  - the sptes covering the written entry are zapped, or, for PTEs, updated
//    in place from the entry as it now reads, with the rights the parents
//    granted (the page's role);
//  - a write spanning two entries, or the third write to a table with no
//    fault through it in between (write flooding), unshadows the page: the
//    guest is probably using the frame as data now.
class WriteEmulator {
 public:
  static constexpr int kFloodingWrites = 3;

  WriteEmulator(ShadowTables& tables, const BugSet& bugs, MmuCounters& counters)
      : tables_(tables), bugs_(bugs), counters_(counters) {}

  // A write within one page.
  void Write(const host::GuestControls& controls, uint64_t gpa,
             std::span<const uint8_t> bytes);

 private:
  // The new value of the entry the write starts in, as a page with `role`
  // reads it; nullopt if the write spans two entries.
  std::optional<uint64_t> NewEntry(const Role& role, uint64_t gpa,
                                   std::span<const uint8_t> bytes) const;
  bool DetectFlooding(ShadowPage& page) const;
  void UpdatePte(const host::GuestControls& controls, ShadowPage& page,
                 int index, uint64_t pte);

  ShadowTables& tables_;
  BugSet bugs_;
  MmuCounters& counters_;
};

}  // namespace shadowdiff::impl

#endif  // SHADOWDIFF_IMPL_WRITE_EMULATION_H_
