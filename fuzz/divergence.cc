#include "fuzz/divergence.h"

#include <array>
#include <utility>

namespace shadowdiff {
namespace {

constexpr std::array<std::pair<DivergenceKind, std::string_view>, 8> kNames = {{
    {DivergenceKind::kOutcome, "outcome"},
    {DivergenceKind::kMemory, "memory"},
    {DivergenceKind::kMapping, "mapping"},
    {DivergenceKind::kRights, "rights"},
    {DivergenceKind::kUnaccessed, "unaccessed"},
    {DivergenceKind::kStaleTlb, "stale-tlb"},
    {DivergenceKind::kLivelock, "livelock"},
    {DivergenceKind::kMmuError, "mmu-error"},
}};

}  // namespace

std::string_view KindName(DivergenceKind kind) {
  for (const auto& [k, name] : kNames) {
    if (k == kind) return name;
  }
  return "?";
}

std::optional<DivergenceKind> KindFromName(std::string_view name) {
  for (const auto& [k, n] : kNames) {
    if (n == name) return k;
  }
  return std::nullopt;
}

Divergence MakeDivergence(DivergenceKind kind, int op_index, uint64_t gva,
                          std::string summary) {
  Divergence d;
  d.kind = kind;
  d.op_index = op_index;
  d.gva = gva;
  d.summary = std::move(summary);
  return d;
}

}  // namespace shadowdiff
