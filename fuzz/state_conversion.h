#ifndef SHADOWDIFF_FUZZ_STATE_CONVERSION_H_
#define SHADOWDIFF_FUZZ_STATE_CONVERSION_H_

#include "absl/container/inlined_vector.h"
#include "host/guest_mmu.h"
#include "host/host_cpu.h"
#include "model/paging_state.h"
#include "proto/case.pb.h"
#include "proto/limits.h"

// The model and the host never know each other; the fuzz layer translates
// between their vocabularies.
namespace shadowdiff {

host::GuestMode HostMode(PagingMode mode);
host::GuestControls HostControls(const model::PagingState& state);
model::PagingState ModelState(const host::GuestPagingState& state);
// A normalized case has at most kMaxSlots (proto/limits.h).
absl::InlinedVector<host::MemorySlot, limits::kMaxSlots> HostSlots(
    const Setup& setup);
host::AccessKind HostAccessKind(model::AccessKind kind);
model::AccessKind ModelAccessKind(host::AccessKind kind);

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_STATE_CONVERSION_H_
