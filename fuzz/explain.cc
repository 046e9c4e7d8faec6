#include "fuzz/explain.h"

#include <string>

#include "absl/strings/str_format.h"
#include "fuzz/report.h"

namespace shadowdiff {

Explainer::Explainer(const Case& c, const Judge& judge, std::ostream& out)
    : case_(c), judge_(judge), out_(out) {}

void Explainer::OnOp(const OpRecord& record) {
  out_ << (record.index < 0 ? std::string("[setup] ")
                            : absl::StrFormat("[%d] ", record.index))
       << record.text << "\n";
  out_ << "  reference: " << ToString(record.reference) << "\n";
  out_ << "  MMU:       " << ToString(record.mmu);
  if (record.host_faults > 0) {
    out_ << absl::StrFormat("  (after %d host fault%s)", record.host_faults,
                            record.host_faults == 1 ? "" : "s");
  }
  out_ << (record.reference == record.mmu ? "" : "   <-- differs") << "\n";
  if (record.reference_walk) {
    out_ << "  reference walk:\n"
         << FormatWalk(*record.reference_walk, case_.setup().mode());
  }
  if (record.mmu_view) {
    out_ << "  MMU view (host walk after the op):\n"
         << FormatHostWalk(*record.mmu_view);
  }
  std::vector<host::Counter> counters = judge_.last_mmu()->Counters();
  std::string moved;
  for (size_t i = 0; i < counters.size(); ++i) {
    const uint64_t before =
        i < last_counters_.size() ? last_counters_[i].value : 0;
    if (counters[i].value != before) {
      absl::StrAppendFormat(&moved, " %s+%d", counters[i].name,
                            counters[i].value - before);
    }
  }
  if (!moved.empty()) out_ << "  MMU counters:" << moved << "\n";
  last_counters_ = std::move(counters);
}

}  // namespace shadowdiff
