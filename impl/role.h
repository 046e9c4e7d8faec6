#ifndef SHADOWDIFF_IMPL_ROLE_H_
#define SHADOWDIFF_IMPL_ROLE_H_

#include <cstdint>
#include <utility>

#include "host/guest_state.h"
#include "impl/bug_switches.h"

namespace shadowdiff::impl {

// Rights a path of guest entries grants (SDM 4.6: W and U ANDed, NX ORed),
// as a mask that only shrinks along the path.
using Access = uint8_t;
inline constexpr Access kAccessWrite = 1 << 0;
inline constexpr Access kAccessUser = 1 << 1;
inline constexpr Access kAccessExec = 1 << 2;
inline constexpr Access kAccessAll = kAccessWrite | kAccessUser | kAccessExec;

// Levels of the guest's own tables: 2 (32-bit), 3 (PAE), 4 (4-level).
int GuestLevels(host::GuestMode mode);

// Everything that makes two shadows of one guest frame differ. A shadow page
// is found by (gfn, role), so a field missing here lets a shadow built under
// one interpretation serve another (the zoo has three such bugs). Fields that
// do not change how this guest's entries read stay at their defaults, so the
// shadows survive changes that do not matter to them.
struct Role {
  uint8_t level = 0;         // shadow level of the page: 1 = PT ... 4 = PML4
  uint8_t guest_levels = 0;  // 2, 3 or 4
  // 32-bit guests: a guest PT (4 MB) is shadowed by two shadow PTs (2 MB each)
  // and a guest PD (4 GB) by four shadow PDs (1 GB each); this is which one.
  uint8_t quadrant = 0;
  // Maps part of a guest large page: no guest table behind it, gfn is the
  // first frame mapped.
  bool direct = false;
  // Indirect pages: the rights the guest entries above the table grant.
  // Direct pages: the rights of the whole path, leaf included.
  Access access = kAccessAll;
  bool cr0_wp = false;    // decides supervisor writes to read-only pages
  bool efer_nxe = false;  // bit 63 is NX or reserved (PAE and 4-level only)
  bool cr4_pse = false;   // PDE.PS maps 4 MB or is ignored (32-bit only)
  bool gbpages = false;   // PDPTE.PS maps 1 GB or is reserved (4-level only)

  bool operator==(const Role&) const = default;

  template <typename H>
  friend H AbslHashValue(H h, const Role& r) {
    return H::combine(std::move(h), r.level, r.guest_levels, r.quadrant,
                      r.direct, r.access, r.cr0_wp, r.efer_nxe, r.cr4_pse,
                      r.gbpages);
  }
};

// The control-dependent part of every role under these controls; level,
// quadrant, direct and access are filled in per page.
Role BaseRole(const host::GuestControls& controls, const BugSet& bugs);

// The part of the guest table at `level` that the shadow page for gva covers:
// 0 unless the guest has 32-bit (1024-entry) tables.
uint8_t Quadrant(int guest_levels, int level, uint64_t gva);

// The role of the shadow of the guest table at `level` reached for gva
// through entries granting `access`.
Role IndirectRole(const Role& base, int level, uint64_t gva, Access access);

// Whether a page with `role` reads guest entries as pages of `base` (the
// role of every page under the current controls) do: its fields apart from
// the per-page ones are base's. Write emulation updates sptes in place and
// sync rebuilds them only in such pages; the others are zapped.
bool ReadsEntriesAs(const Role& role, const Role& base);

// The role of a shadow page at `level` mapping part of a guest large page with
// `access`.
Role DirectRole(const Role& base, int level, Access access);

}  // namespace shadowdiff::impl

#endif  // SHADOWDIFF_IMPL_ROLE_H_
