#ifndef SHADOWDIFF_IMPL_GUEST_WALKER_H_
#define SHADOWDIFF_IMPL_GUEST_WALKER_H_

#include <array>
#include <cstdint>
#include <optional>

#include "host/guest_state.h"
#include "host/host_services.h"
#include "impl/bug_switches.h"
#include "impl/role.h"

namespace shadowdiff::impl {

// What a guest walk found. Indexed by guest level: 4 = PML4 ... 1 = PT; in
// PAE mode level 3 is the PDPTE register, in 32-bit mode the walk starts at 2.
struct GuestWalk {
  bool ok = false;
  uint32_t error_code = 0;  // the guest #PF error code (SDM 4.7) when !ok
  // The rest is meaningful only when ok.
  uint64_t gpa = 0;
  int leaf_level = 1;  // 1: 4 KB; 2: 2 or 4 MB; 3: 1 GB
  // The guest table read at each level (from the top down to leaf_level) and
  // the rights the entries above it grant: what its shadow page's role needs.
  std::array<uint64_t, 5> table_gfn = {};
  std::array<Access, 5> table_access = {};
  Access access = 0;    // the rights of the whole path
  bool dirty = false;   // the leaf's D bit after the walk
  bool global = false;  // G in the leaf with CR4.PGE=1 (SDM 4.10.2.4)
};

// The MMU's own walker of guest tables, as the processor walks them (SDM
// 4.3-4.8): reads through HostServices, reserved bits before rights, and A/D
// set in guest memory only when the access succeeds.
class GuestWalker {
 public:
  GuestWalker(host::HostServices& host, const BugSet& bugs)
      : host_(host), bugs_(bugs) {}

  GuestWalk Walk(const host::GuestPagingState& state, uint64_t gva,
                 host::AccessKind kind, bool user);

 private:
  // SDM 4.8: A in every entry used (not in PAE PDPTEs, which have none), D in
  // the leaf for a write. Only the low byte holds them; it is read again in
  // case two levels share an entry.
  void SetAccessedDirty(const std::array<uint64_t, 5>& entry_gpa, int top,
                        int leaf_level, bool write);

  host::HostServices& host_;
  BugSet bugs_;
};

// The PDPTE registers MOV to CR3 loads in PAE mode (from CR3[31:5]), or
// nullopt for #GP: a present PDPTE with reserved bits.
std::optional<std::array<uint64_t, 4>> LoadPdptes(
    const host::HostServices& host, uint64_t cr3);

// The guest paging state once MOV to CR0/CR4 or WRMSR to EFER has set
// `controls`, or nullopt for #GP: setting CR4.PCIDE outside IA-32e mode or
// while CR3[11:0] is not 0 (SDM 4.10.1); in PAE mode, a change of CR4.PSE or
// CR4.PGE reloads the PDPTE registers (SDM 4.4.1), which may fail.
std::optional<host::GuestPagingState> StateAfterControlChange(
    const host::HostServices& host, const host::GuestPagingState& state,
    const host::GuestControls& controls);

// The W/R, U/S and I/D bits of the error code of a fault on this access.
uint32_t AccessErrorBits(const host::GuestControls& controls,
                         host::AccessKind kind, bool user);

// Whether a completed walk granting `access` allows the access (SDM 4.6).
bool AccessAllowed(Access access, const host::GuestControls& controls,
                   host::AccessKind kind, bool user);

}  // namespace shadowdiff::impl

#endif  // SHADOWDIFF_IMPL_GUEST_WALKER_H_
