#ifndef SHADOWDIFF_FUZZ_MMU_REGISTRY_H_
#define SHADOWDIFF_FUZZ_MMU_REGISTRY_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "host/guest_mmu.h"

namespace shadowdiff {

// The MMUs shadowdiff can put under test, by name. "shadow" (the default) is
// impl/'s KVM-style shadow MMU; "naive" is the same MMU dropping every shadow
// page on any guest table write or CR3 load. Another team's MMU is added here.
inline constexpr std::string_view kDefaultMmu = "shadow";
std::vector<std::string> MmuNames();

// `inject` is a comma-separated list of bug-zoo switches to turn on; an unknown
// name or MMU is an InvalidArgumentError that lists the valid ones.
absl::StatusOr<std::unique_ptr<host::GuestMmu>> MakeMmu(
    std::string_view name, std::string_view inject);

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_MMU_REGISTRY_H_
