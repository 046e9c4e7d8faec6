#include "fuzz/semantic_coverage.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "fuzz/op_text.h"

namespace shadowdiff {
namespace {

constexpr uint32_t kPresent = 1, kWrite = 2, kUser = 4, kReserved = 8,
                   kFetch = 16;

// The guest fault kinds worth reaching, from the reference's error code.
std::string FaultKind(uint32_t error_code) {
  if (error_code & kReserved) return "guest #PF: reserved bit";
  if (!(error_code & kPresent)) return "guest #PF: not present";
  if (error_code & kFetch) return "guest #PF: fetch from no-execute page";
  if (error_code & kWrite) {
    return error_code & kUser ? "guest #PF: user write to read-only page"
                              : "guest #PF: supervisor write to read-only page";
  }
  return "guest #PF: user access to supervisor page";
}

const std::vector<std::string>& FixedItems() {
  static const std::vector<std::string> items = {
      "mode 32-bit",
      "mode PAE",
      "mode 4-level",
      "op store",
      "op load",
      "op fetch",
      "op write_entry",
      "op phys_write",
      "op invlpg",
      "op load_cr3",
      "op set_control",
      "op invpcid",
      "load_cr3 with the no-flush bit",
      "CR4.PCIDE=1",
      "global translation (G=1, CR4.PGE=1)",
      "guest #PF: not present",
      "guest #PF: reserved bit",
      "guest #PF: user access to supervisor page",
      "guest #PF: user write to read-only page",
      "guest #PF: supervisor write to read-only page",
      "guest #PF: fetch from no-execute page",
      "guest MMIO access",
      "CR3 load refused (#GP)",
  };
  return items;
}

std::string OpKindName(const Op& op) {
  switch (op.kind_case()) {
    case Op::kStore:
      return "op store";
    case Op::kLoad:
      return "op load";
    case Op::kFetch:
      return "op fetch";
    case Op::kWriteEntry:
      return "op write_entry";
    case Op::kPhysWrite:
      return "op phys_write";
    case Op::kInvlpg:
      return "op invlpg";
    case Op::kLoadCr3:
      return "op load_cr3";
    case Op::kSetControl:
      return "op set_control";
    case Op::kInvpcid:
      return "op invpcid";
    case Op::KIND_NOT_SET:
      break;
  }
  return "op (none)";
}

}  // namespace

void SemanticCoverage::FaultObserver::OnOp(const OpRecord& record) {
  if (record.reference_walk && record.reference_walk->global) {
    seen.insert("global translation (G=1, CR4.PGE=1)");
  }
  switch (record.reference.kind) {
    case Outcome::Kind::kPageFault:
      seen.insert(FaultKind(record.reference.error_code));
      break;
    case Outcome::Kind::kMmio:
      seen.insert("guest MMIO access");
      break;
    case Outcome::Kind::kGp:
      seen.insert("CR3 load refused (#GP)");
      break;
    default:
      break;
  }
}

void SemanticCoverage::AddCase(const Case& c,
                               const std::vector<host::Counter>& counters) {
  ++cases_;
  std::set<std::string> items = std::move(observer_.seen);
  observer_.seen.clear();
  items.insert("mode " + ModeName(c.setup().mode()));
  bool pcide = c.setup().cr4_pcide();
  for (const Op& op : c.ops()) {
    items.insert(OpKindName(op));
    if (op.has_load_cr3() && op.load_cr3().no_flush()) {
      items.insert("load_cr3 with the no-flush bit");
    }
    pcide =
        pcide || (op.has_set_control() && op.set_control().bit() == CR4_PCIDE &&
                  op.set_control().value());
  }
  if (pcide) items.insert("CR4.PCIDE=1");
  for (const host::Counter& counter : counters) {
    const std::string item = "MMU: " + counter.name;
    mmu_counters_.insert(item);
    if (counter.value > 0) items.insert(item);
  }
  for (const std::string& item : items) Count(item);
}

std::string SemanticCoverage::Summary() const {
  std::string out = absl::StrFormat("%d cases\n", cases_);
  auto line = [&](const std::string& item) {
    const auto it = cases_reaching_.find(item);
    const int n = it == cases_reaching_.end() ? 0 : it->second;
    absl::StrAppendFormat(&out, "  %6d  %s%s\n", n, item,
                          n == 0 ? "   <-- never reached" : "");
  };
  for (const std::string& item : FixedItems()) line(item);
  for (const std::string& item : mmu_counters_) line(item);
  return out;
}

}  // namespace shadowdiff
