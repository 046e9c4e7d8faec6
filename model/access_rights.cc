#include "model/access_rights.h"

namespace shadowdiff::model {
namespace {

// SDM 4.7: I/D is 1 for an instruction fetch only when CR4.PAE = 1 (PAE or
// 4-level paging) and IA32_EFER.NXE = 1 (there is no SMEP here); with 32-bit
// paging it stays 0 whatever IA32_EFER.NXE says.
bool ReportsFetches(const PagingState& state) {
  return state.mode != PAGING_32BIT && state.efer_nxe;
}

// SDM 4.7: W/R, U/S and I/D describe the access, not the rights of the page.
uint32_t AccessBits(const PagingState& state, AccessKind kind, bool user) {
  uint32_t bits = 0;
  if (kind == AccessKind::kWrite) bits |= kPfWrite;
  if (user) bits |= kPfUser;
  if (kind == AccessKind::kFetch && ReportsFetches(state)) bits |= kPfFetch;
  return bits;
}

// SDM 4.6.1: user-mode accesses need U/S = 1 at every level; supervisor-mode
// accesses may use user pages too (there is no SMEP or SMAP here).
bool PrivilegeAllows(const WalkResult& walk, bool user) {
  return !user || walk.user;
}

// SDM 4.6.1: a write to a page without R/W = 1 at every level is allowed only
// in supervisor mode with CR0.WP = 0.
bool WriteAllowed(const WalkResult& walk, const PagingState& state, bool user) {
  return walk.writable || (!user && !state.cr0_wp);
}

// SDM 4.6.1: no fetch from a page with XD = 1 at some level (walk.nx is only
// set where XD applies: PAE or 4-level paging with IA32_EFER.NXE = 1).
bool FetchAllowed(const WalkResult& walk) { return !walk.nx; }

bool RightsAllow(const WalkResult& walk, const PagingState& state,
                 AccessKind kind, bool user) {
  if (!PrivilegeAllows(walk, user)) return false;
  if (kind == AccessKind::kWrite) return WriteAllowed(walk, state, user);
  if (kind == AccessKind::kFetch) return FetchAllowed(walk);
  return true;
}

}  // namespace

// SDM 4.7: P=0 when no translation exists because an entry was not present;
// P=1 for a protection violation and for a reserved bit, which also sets
// RSVD. A walk that found a reserved bit faults before rights are looked at.
std::optional<uint32_t> AccessFault(const WalkResult& walk,
                                    const PagingState& state, AccessKind kind,
                                    bool user) {
  const uint32_t access = AccessBits(state, kind, user);
  switch (walk.status) {
    case WalkResult::Status::kNotPresent:
      return access;
    case WalkResult::Status::kReserved:
      return kPfPresent | kPfReserved | access;
    case WalkResult::Status::kOk:
      break;
  }
  if (RightsAllow(walk, state, kind, user)) return std::nullopt;
  return kPfPresent | access;
}

}  // namespace shadowdiff::model
