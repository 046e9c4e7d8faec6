#include "fuzz/report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "fuzz/op_text.h"
#include "fuzz/oracle.h"
#include "fuzz/signature.h"
#include "google/protobuf/text_format.h"

namespace shadowdiff {
namespace {

std::string PageSizeText(uint64_t size) {
  if (size >= (uint64_t{1} << 30)) return absl::StrFormat("%d GB", size >> 30);
  if (size >= (uint64_t{1} << 20)) return absl::StrFormat("%d MB", size >> 20);
  return absl::StrFormat("%d KB", size >> 10);
}

std::string OpLabel(const Case& c, int index) {
  if (index < 0) return "set-up (initial CR3 load)";
  if (index >= c.ops_size()) return "end of case (full memory comparison)";
  return absl::StrFormat("op %d of %d: %s", index, c.ops_size(),
                         OpText(c.ops(index), c.setup().mode()));
}

}  // namespace

std::string FormatWalk(const model::WalkResult& walk, PagingMode mode) {
  const int hex_digits = mode == PAGING_32BIT ? 8 : 16;
  std::string out;
  for (const model::WalkLevel& l : walk.levels) {
    absl::StrAppendFormat(&out, "    level %d  entry at gpa 0x%x = 0x%0*x%s\n",
                          l.level, l.entry_gpa, hex_digits, l.value,
                          l.from_register ? "  (PDPTE register)" : "");
  }
  switch (walk.status) {
    case model::WalkResult::Status::kOk:
      absl::StrAppendFormat(
          &out, "    -> gpa 0x%x, %s page, %s %s %s, %s %s\n", walk.gpa,
          PageSizeText(walk.page_size),
          walk.writable ? "writable" : "read-only",
          walk.user ? "user" : "supervisor",
          walk.nx ? "no-execute" : "executable",
          walk.all_accessed ? "all accessed" : "not all accessed",
          walk.dirty ? "dirty" : "clean");
      break;
    case model::WalkResult::Status::kNotPresent:
      absl::StrAppendFormat(&out, "    -> not present at level %d\n",
                            walk.fault_level);
      break;
    case model::WalkResult::Status::kReserved:
      absl::StrAppendFormat(&out, "    -> reserved bit set at level %d\n",
                            walk.fault_level);
      break;
  }
  return out;
}

std::string FormatHostWalk(const host::HostWalkTrace& trace) {
  std::string out;
  for (const host::HostWalkLevel& l : trace.levels) {
    absl::StrAppendFormat(&out, "    level %d  spte at hpa 0x%x = 0x%016x\n",
                          l.level, l.entry_hpa, l.value);
  }
  if (trace.ok) {
    absl::StrAppendFormat(&out, "    -> hpa 0x%x, %s page, %s %s %s\n",
                          trace.hpa, PageSizeText(trace.page_size),
                          trace.writable ? "writable" : "read-only",
                          trace.user ? "user" : "supervisor",
                          trace.nx ? "no-execute" : "executable");
  } else {
    absl::StrAppendFormat(&out, "    -> host fault, error code 0x%x\n",
                          trace.error_code);
  }
  return out;
}

namespace {

// Addresses, frames and entry values read best in hex; the text parser
// takes 0x numbers as they are.
class HexPrinter final
    : public google::protobuf::TextFormat::FastFieldValuePrinter {
 public:
  void PrintUInt32(
      uint32_t value,
      google::protobuf::TextFormat::BaseTextGenerator* out) const override {
    out->PrintString(value < 10 ? absl::StrCat(value)
                                : absl::StrFormat("0x%x", value));
  }
  void PrintUInt64(
      uint64_t value,
      google::protobuf::TextFormat::BaseTextGenerator* out) const override {
    out->PrintString(value < 10 ? absl::StrCat(value)
                                : absl::StrFormat("0x%x", value));
  }
};

}  // namespace

std::string CaseText(const Case& c) {
  std::string text;
  google::protobuf::TextFormat::Printer printer;
  printer.SetDefaultFieldValuePrinter(new HexPrinter());
  printer.SetUseShortRepeatedPrimitives(true);
  printer.PrintToString(c, &text);
  return text;
}

Case RecordingSettings(const Case& c, const RunSettings& settings) {
  Case recorded = c;
  *recorded.mutable_run() = SettingsRecord(settings);
  return recorded;
}

std::string FormatReport(const Case& c, const Divergence& d,
                         const RunSettings& settings) {
  std::string out = absl::StrFormat("shadowdiff: DIVERGENCE (%s) at %s\n",
                                    KindName(d.kind), OpLabel(c, d.op_index));
  absl::StrAppendFormat(
      &out,
      "  mode %s, MMU under test: %s, host TLB %s, oracle %s, baseline: %s\n",
      ModeName(c.setup().mode()), MmuChoiceText(settings.mmu),
      HostTlbName(settings.host_tlb), OracleName(settings.oracle),
      settings.baseline ? MmuChoiceText(*settings.baseline) : "none");
  absl::StrAppendFormat(&out, "  signature: %s\n", Signature(c, d));
  absl::StrAppendFormat(&out, "  what: %s\n", d.summary);
  absl::StrAppendFormat(&out, "  gva 0x%x  gpa 0x%x\n", d.gva, d.gpa);
  if (d.reference.kind != Outcome::Kind::kNone ||
      d.mmu.kind != Outcome::Kind::kNone) {
    absl::StrAppendFormat(&out, "  reference: %s\n  MMU:       %s\n",
                          ToString(d.reference), ToString(d.mmu));
  }
  if (!d.detail.empty()) absl::StrAppendFormat(&out, "  %s\n", d.detail);
  if (d.reference_walk) {
    absl::StrAppendFormat(&out, "  reference walk of gva 0x%x:\n%s", d.gva,
                          FormatWalk(*d.reference_walk, c.setup().mode()));
  }
  if (d.mmu_view) {
    absl::StrAppendFormat(&out, "  MMU view (host walk of gva 0x%x):\n%s",
                          d.gva, FormatHostWalk(*d.mmu_view));
  }
  absl::StrAppendFormat(
      &out,
      "  case (its run settings recorded; `shadowdiff replay` of it "
      "needs no flags):\n");
  for (absl::string_view line :
       absl::StrSplit(CaseText(RecordingSettings(c, settings)), '\n')) {
    if (!line.empty()) absl::StrAppend(&out, "    ", line, "\n");
  }
  return out;
}

}  // namespace shadowdiff
