#include "impl/role.h"

#include <cstdint>

#include "host/guest_state.h"
#include "impl/bug_switches.h"

namespace shadowdiff::impl {

int GuestLevels(host::GuestMode mode) {
  switch (mode) {
    case host::GuestMode::k32Bit:
      return 2;
    case host::GuestMode::kPae:
      return 3;
    case host::GuestMode::k4Level:
      return 4;
  }
  return 4;
}

Role BaseRole(const host::GuestControls& controls, const BugSet& bugs) {
  Role role;
  role.guest_levels = static_cast<uint8_t>(GuestLevels(controls.mode));
  role.cr0_wp = bugs.Has(Bug::kWpNotInRole) ? false : controls.cr0_wp;
  if (role.guest_levels >= 3) {
    role.efer_nxe = bugs.Has(Bug::kNxeNotInRole) ? false : controls.efer_nxe;
  }
  role.cr4_pse = role.guest_levels == 2 && controls.cr4_pse;
  role.gbpages = role.guest_levels == 4 && controls.gbpages;
  return role;
}

uint8_t Quadrant(int guest_levels, int level, uint64_t gva) {
  if (guest_levels != 2) return 0;
  // A shadow table indexes 9 gva bits per level where the guest's indexes 10:
  // the extra bit at level 1 (gva bit 21) and the extra two at level 2 (gva
  // bits 31:30) choose the quadrant.
  if (level == 1) return (gva >> 21) & 1;
  return (gva >> 30) & 3;
}

Role IndirectRole(const Role& base, int level, uint64_t gva, Access access) {
  Role role = base;
  role.level = static_cast<uint8_t>(level);
  role.quadrant = Quadrant(base.guest_levels, level, gva);
  role.access = access;
  return role;
}

bool ReadsEntriesAs(const Role& role, const Role& base) {
  // The per-page fields are base's; every other field came from the
  // controls, so a field added to the role is compared without a change here.
  Role as_base = role;
  as_base.level = base.level;
  as_base.quadrant = base.quadrant;
  as_base.direct = base.direct;
  as_base.access = base.access;
  return as_base == base;
}

Role DirectRole(const Role& base, int level, Access access) {
  Role role = base;
  role.level = static_cast<uint8_t>(level);
  role.direct = true;
  role.access = access;
  return role;
}

}  // namespace shadowdiff::impl
