#ifndef SHADOWDIFF_FUZZ_CASE_SUPPORT_H_
#define SHADOWDIFF_FUZZ_CASE_SUPPORT_H_

#include <optional>
#include <span>
#include <string>

#include "host/mmu_registry.h"
#include "proto/case.pb.h"

namespace shadowdiff {

// A control bit of the case format, the capability an MMU declares for it,
// and its name: the one table every tool names controls from.
struct ControlInfo {
  ControlBit bit;
  host::Control control;
  const char* name;  // "CR0.WP"
};
std::span<const ControlInfo> Controls();
// "CR4.PGE"; "?" for a bit the format does not have.
const char* ControlName(ControlBit bit);

// What in a normalized case the MMU does not support ("PAE mode", "1 GB
// pages", "EFER.NXE=1"), or nullopt when it supports all of it.
std::optional<std::string> UnsupportedFeature(
    const Case& c, const host::MmuCapabilities& capabilities);

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_CASE_SUPPORT_H_
