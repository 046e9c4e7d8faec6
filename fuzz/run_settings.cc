#include "fuzz/run_settings.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "fuzz/oracle.h"
#include "host/mmu_registry.h"

namespace shadowdiff {

absl::StatusOr<MmuChoice> ParseMmuChoice(std::string_view text) {
  MmuChoice choice;
  const size_t colon = text.find(':');
  choice.name = std::string(text.substr(0, colon));
  if (colon != std::string_view::npos) {
    choice.switches = std::string(text.substr(colon + 1));
  }
  if (choice.name.empty()) choice.name = std::string(kDefaultMmu);
  // Made once, so that bad switches are an error here and not at every case.
  absl::StatusOr<std::unique_ptr<host::GuestMmu>> mmu =
      host::MakeMmu(choice.name, choice.switches);
  if (!mmu.ok()) return mmu.status();
  return choice;
}

std::string MmuChoiceText(const MmuChoice& choice) {
  return choice.switches.empty()
             ? choice.name
             : absl::StrCat(choice.name, ":", choice.switches);
}

absl::StatusOr<host::HostTlbTagging> ParseHostTlb(std::string_view text) {
  if (text == "tagged") return host::HostTlbTagging::kTagged;
  if (text == "untagged") return host::HostTlbTagging::kUntagged;
  return absl::InvalidArgumentError(
      absl::StrFormat("unknown host TLB '%s' (known: tagged, untagged)", text));
}

absl::StatusOr<OracleKind> ParseOracle(std::string_view text) {
  if (std::optional<OracleKind> kind = OracleFromName(text)) return *kind;
  return absl::InvalidArgumentError(
      absl::StrFormat("unknown oracle '%s': strict or architectural", text));
}

std::string_view HostTlbName(host::HostTlbTagging tlb) {
  return tlb == host::HostTlbTagging::kUntagged ? "untagged" : "tagged";
}

absl::StatusOr<RunSettings> SettingsFromRecord(const RunConfig& record) {
  RunSettings settings;
  absl::StatusOr<MmuChoice> mmu = ParseMmuChoice(
      record.switches().empty()
          ? record.mmu()
          : absl::StrCat(
                record.mmu().empty() ? std::string(kDefaultMmu) : record.mmu(),
                ":", record.switches()));
  if (!mmu.ok()) return mmu.status();
  settings.mmu = *mmu;
  settings.host_tlb = record.host_tlb() == HOST_TLB_UNTAGGED
                          ? host::HostTlbTagging::kUntagged
                          : host::HostTlbTagging::kTagged;
  settings.oracle = record.oracle();
  if (!record.baseline_mmu().empty()) {
    absl::StatusOr<MmuChoice> baseline = ParseMmuChoice(record.baseline_mmu());
    if (!baseline.ok()) return baseline.status();
    settings.baseline = *baseline;
  }
  return settings;
}

RunConfig SettingsRecord(const RunSettings& settings) {
  RunConfig record;
  record.set_mmu(settings.mmu.name);
  record.set_switches(settings.mmu.switches);
  record.set_host_tlb(settings.host_tlb == host::HostTlbTagging::kUntagged
                          ? HOST_TLB_UNTAGGED
                          : HOST_TLB_TAGGED);
  record.set_oracle(settings.oracle);
  if (settings.baseline) {
    record.set_baseline_mmu(MmuChoiceText(*settings.baseline));
  }
  return record;
}

std::string SettingsFlags(const RunSettings& settings) {
  std::string flags = absl::StrFormat(
      "--mmu=%s --host-tlb=%s --oracle=%s", MmuChoiceText(settings.mmu),
      HostTlbName(settings.host_tlb), OracleName(settings.oracle));
  if (settings.baseline) {
    absl::StrAppend(&flags,
                    " --baseline-mmu=", MmuChoiceText(*settings.baseline));
  }
  return flags;
}

}  // namespace shadowdiff
