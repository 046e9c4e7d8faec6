#ifndef SHADOWDIFF_FUZZ_RUN_SETTINGS_H_
#define SHADOWDIFF_FUZZ_RUN_SETTINGS_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "host/host_cpu.h"
#include "proto/case.pb.h"

namespace shadowdiff {

// An MMU as the tools name it: "NAME[:SWITCHES]", the switches being the
// MMU's own (impl's are bug-zoo names).
struct MmuChoice {
  std::string name;
  std::string switches;

  bool operator==(const MmuChoice&) const = default;
};

inline constexpr std::string_view kDefaultMmu = "shadow";

// "" is the default MMU; an unregistered name or switches the MMU refuses are
// an InvalidArgumentError saying what it accepts.
absl::StatusOr<MmuChoice> ParseMmuChoice(std::string_view text);
std::string MmuChoiceText(const MmuChoice& choice);

// Everything that decides a case's verdict besides the case: the MMU under
// test, the host it runs on, and the baseline a divergence is checked
// against. Reports and reduced files record it (proto RunConfig).
struct RunSettings {
  MmuChoice mmu{std::string(kDefaultMmu), ""};
  host::HostTlbTagging host_tlb = host::HostTlbTagging::kTagged;
  OracleKind oracle = ORACLE_STRICT;
  std::optional<MmuChoice> baseline;

  bool operator==(const RunSettings&) const = default;
};

// Settings from a case file's record; fails like ParseMmuChoice.
absl::StatusOr<RunSettings> SettingsFromRecord(const RunConfig& record);
RunConfig SettingsRecord(const RunSettings& settings);

absl::StatusOr<host::HostTlbTagging> ParseHostTlb(std::string_view text);
std::string_view HostTlbName(host::HostTlbTagging tlb);
// "strict" or "architectural"; anything else an InvalidArgumentError.
absl::StatusOr<OracleKind> ParseOracle(std::string_view text);

// The flags that reproduce the settings: "--mmu=shadow:wp-not-in-role
// --host-tlb=untagged --oracle=strict".
std::string SettingsFlags(const RunSettings& settings);

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_RUN_SETTINGS_H_
