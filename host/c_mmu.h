#ifndef SHADOWDIFF_HOST_C_MMU_H_
#define SHADOWDIFF_HOST_C_MMU_H_

#include "absl/status/status.h"
#include "host/mmu_registry.h"
#include "shadowdiff/mmu.h"

// An MMU written in C (include/shadowdiff/mmu.h) behind the GuestMmu
// interface: each GuestMmu call is one entry point of its ops table, and the
// host's services are offered to it as C functions over HostServices.
namespace shadowdiff::host {

// The registry entry for a C MMU: its name, summary, switches and
// capabilities, and a factory that creates it with its switch string. Fails
// on another ABI version or a missing entry point.
absl::StatusOr<MmuInfo> CMmuInfo(const shadowdiff_mmu_ops* ops);

}  // namespace shadowdiff::host

#endif  // SHADOWDIFF_HOST_C_MMU_H_
