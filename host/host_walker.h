#ifndef SHADOWDIFF_HOST_HOST_WALKER_H_
#define SHADOWDIFF_HOST_HOST_WALKER_H_

#include <cstdint>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "host/guest_mmu.h"
#include "host/guest_state.h"
#include "host/host_memory.h"

// The host page walker: what the host MMU hardware does with the tables the
// MMU under test builds. The host runs with CR0.WP=1 and EFER.NXE=1 and reads
// only 64-bit-format entries (host/spte.h), from a HostRoot:
//  k4Level: PML4 (level 4, PS reserved), PDPT (level 3, PS = 1 GB page),
//           PD (level 2, PS = 2 MB page), PT (level 1); gvas are canonical
//           48-bit addresses.
//  kPae:    four root entries (reported as level 3) indexed by gva[31:30], of
//           which only P and the frame count, as for PAE PDPTE registers;
//           then PD and PT as above; gvas are below 2^32.
namespace shadowdiff::host {

struct HostWalkLevel {
  int level = 0;
  uint64_t entry_hpa = 0;
  uint64_t value = 0;  // as read, before any A/D update

  bool operator==(const HostWalkLevel&) const = default;
};

struct HostWalkTrace {
  // Every entry the walk read, root first; on a fault the last is the culprit.
  absl::InlinedVector<HostWalkLevel, 4> levels;
  bool ok = false;
  // SDM 4.7 layout. A pure trace knows no access, so there it is P=0 for a
  // not-present entry and P|RSVD for reserved bits; an access walk adds the
  // access bits and reports missing rights as P.
  uint32_t error_code = 0;
  // The rest is meaningful only when ok.
  uint64_t hpa = 0;
  uint64_t page_size = 0;
  // Rights combined over the levels: W and U ANDed, NX ORed.
  bool writable = false;
  bool user = false;
  bool nx = false;
  bool dirty = false;  // the leaf's D bit after the walk
};

// A leaf translation found in the host tables: [gva, gva + size) -> hpa.
struct HostMapping {
  uint64_t gva = 0;
  uint64_t size = 0;
  uint64_t hpa = 0;
  bool writable = false;
  bool user = false;
  bool nx = false;

  bool operator==(const HostMapping&) const = default;
};

// The walk of gva without side effects and without an access to check.
HostWalkTrace TraceHostWalk(const HostMemory& memory, const HostRoot& root,
                            uint64_t gva);

// The walk the hardware does for an access: it fails on missing rights too,
// and when it succeeds it sets A in every entry used (not in the PAE root
// entries, which have none) and, for a write, D in the leaf (SDM 4.8).
HostWalkTrace WalkHostForAccess(HostMemory& memory, const HostRoot& root,
                                uint64_t gva, AccessKind kind, bool user);

// The W/R, U/S and I/D bits of the error code of a fault on this access.
uint32_t AccessErrorBits(AccessKind kind, bool user);

// Whether a page with these combined rights allows the access (SDM 4.6 with
// CR0.WP=1 and EFER.NXE=1).
bool HostRightsAllow(bool writable, bool user_page, bool nx, AccessKind kind,
                     bool user);

// Every present leaf without reserved bits reachable from root, by gva,
// into *out (cleared first, so an audit can reuse one buffer). The frame of
// every table read, the root's included, is appended to *tables_read if
// given: the result stands while none of them changes.
void EnumerateHostMappings(const HostMemory& memory, const HostRoot& root,
                           std::vector<HostMapping>* out,
                           std::vector<uint64_t>* tables_read = nullptr);

}  // namespace shadowdiff::host

#endif  // SHADOWDIFF_HOST_HOST_WALKER_H_
