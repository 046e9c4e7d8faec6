#include "fuzz/mapping_audit.h"

#include <vector>

#include "absl/strings/str_format.h"
#include "fuzz/outcome.h"
#include "model/access_rights.h"

namespace shadowdiff {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t k2M = uint64_t{2} << 20;

struct HostAccess {
  model::AccessKind kind;
  bool user;
  const char* name;
};

// Accesses the host lets through a mapping with these rights.
std::vector<HostAccess> HostAllowed(const host::HostMapping& m) {
  std::vector<HostAccess> allowed = {
      {model::AccessKind::kRead, false, "supervisor read"}};
  if (m.writable) allowed.push_back({model::AccessKind::kWrite, false, "supervisor write"});
  if (!m.nx) allowed.push_back({model::AccessKind::kFetch, false, "supervisor fetch"});
  if (m.user) {
    allowed.push_back({model::AccessKind::kRead, true, "user read"});
    if (m.writable) allowed.push_back({model::AccessKind::kWrite, true, "user write"});
    if (!m.nx) allowed.push_back({model::AccessKind::kFetch, true, "user fetch"});
  }
  return allowed;
}

std::string WalkFailure(const model::WalkResult& w) {
  return absl::StrFormat(
      "%s at level %d",
      w.status == model::WalkResult::Status::kNotPresent ? "not present"
                                                        : "reserved bit set",
      w.fault_level);
}

// The 4 KB pages of a mapping the audit walks: all of them up to 2 MB; for a
// 1 GB host page the first page of every 2 MB and the last page.
std::vector<uint64_t> PagesToCheck(const host::HostMapping& m) {
  std::vector<uint64_t> offsets;
  const uint64_t stride = m.size <= k2M ? kPage : k2M;
  for (uint64_t off = 0; off < m.size; off += stride) offsets.push_back(off);
  if (stride != kPage) offsets.push_back(m.size - kPage);
  return offsets;
}

}  // namespace

std::optional<AuditFinding> MappingAudit::CheckPage(
    uint64_t gva, uint64_t hpa, const host::HostMapping& mapping,
    const model::PagingState& state) const {
  AuditFinding f;
  f.gva = gva;
  if (state.mode != PAGING_4LEVEL && gva >= (uint64_t{1} << 32)) {
    f.kind = DivergenceKind::kMapping;
    f.summary = absl::StrFormat(
        "host maps gva 0x%x, beyond the guest's 32-bit linear addresses", gva);
    return f;
  }
  f.walk = model::Walk(memory_, state, gva);
  const model::WalkResult& w = f.walk;
  if (w.status != model::WalkResult::Status::kOk) {
    f.kind = DivergenceKind::kMapping;
    f.summary = absl::StrFormat(
        "host maps gva 0x%x to hpa 0x%x, but the guest walk fails (%s)", gva,
        hpa, WalkFailure(w));
    return f;
  }
  const uint64_t gpa_page = w.gpa & ~(kPage - 1);
  const std::optional<uint64_t> expected = memory_.HostAddress(gpa_page);
  if (!expected) {
    f.kind = DivergenceKind::kMapping;
    f.summary = absl::StrFormat(
        "host maps gva 0x%x to hpa 0x%x, but the guest maps it to MMIO gpa "
        "0x%x",
        gva, hpa, gpa_page);
    return f;
  }
  if (*expected != hpa) {
    f.kind = DivergenceKind::kMapping;
    f.summary = absl::StrFormat(
        "host maps gva 0x%x to hpa 0x%x, the guest to gpa 0x%x = hpa 0x%x",
        gva, hpa, gpa_page, *expected);
    return f;
  }
  if (!w.all_accessed) {
    f.kind = DivergenceKind::kUnaccessed;
    f.summary = absl::StrFormat(
        "host maps gva 0x%x though a guest entry on its walk has A=0", gva);
    return f;
  }
  for (const HostAccess& a : HostAllowed(mapping)) {
    if (auto fault = model::AccessFault(w, state, a.kind, a.user)) {
      f.kind = DivergenceKind::kRights;
      f.summary = absl::StrFormat(
          "host allows %s at gva 0x%x, the guest faults with error %s", a.name,
          gva, ErrorCodeText(*fault));
      return f;
    }
  }
  if (mapping.writable && !w.dirty) {
    f.kind = DivergenceKind::kRights;
    f.summary = absl::StrFormat(
        "host maps gva 0x%x writable while the guest leaf is clean (D=0)",
        gva);
    return f;
  }
  return std::nullopt;
}

std::optional<AuditFinding> MappingAudit::Check(
    std::span<const host::HostMapping> mappings,
    const model::PagingState& state, const std::string& origin,
    bool from_tlb) const {
  for (const host::HostMapping& m : mappings) {
    for (uint64_t offset : PagesToCheck(m)) {
      std::optional<AuditFinding> f =
          CheckPage(m.gva + offset, m.hpa + offset, m, state);
      if (!f) continue;
      if (from_tlb) f->kind = DivergenceKind::kStaleTlb;
      f->summary = absl::StrFormat("%s: %s", origin, f->summary);
      return f;
    }
  }
  return std::nullopt;
}

}  // namespace shadowdiff
