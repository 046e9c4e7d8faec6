#ifndef SHADOWDIFF_FUZZ_CASE_SUPPORT_H_
#define SHADOWDIFF_FUZZ_CASE_SUPPORT_H_

#include <optional>
#include <string>

#include "host/mmu_registry.h"
#include "proto/case.pb.h"

namespace shadowdiff {

// What in a normalized case the MMU does not support ("PAE mode", "1 GB
// pages", "EFER.NXE=1"), or nullopt when it supports all of it.
std::optional<std::string> UnsupportedFeature(
    const Case& c, const host::MmuCapabilities& capabilities);

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_CASE_SUPPORT_H_
