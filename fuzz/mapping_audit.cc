#include "fuzz/mapping_audit.h"

#include <vector>

#include "absl/strings/str_format.h"
#include "fuzz/outcome.h"
#include "fuzz/state_conversion.h"
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

constexpr HostAccess kAccesses[] = {
    {model::AccessKind::kRead, false, "supervisor read"},
    {model::AccessKind::kWrite, false, "supervisor write"},
    {model::AccessKind::kFetch, false, "supervisor fetch"},
    {model::AccessKind::kRead, true, "user read"},
    {model::AccessKind::kWrite, true, "user write"},
    {model::AccessKind::kFetch, true, "user fetch"},
};

std::string WalkFailure(const model::WalkResult& w) {
  return absl::StrFormat("%s at level %d",
                         w.status == model::WalkResult::Status::kNotPresent
                             ? "not present"
                             : "reserved bit set",
                         w.fault_level);
}

// The 4 KB pages of a mapping the audit walks: all of them up to 2 MB; for a
// 1 GB host page the first page of every 2 MB and the last page.
template <typename Visit>
std::optional<AuditFinding> ForPagesToCheck(const host::HostMapping& m,
                                            Visit visit) {
  const uint64_t stride = m.size <= k2M ? kPage : k2M;
  for (uint64_t off = 0; off < m.size; off += stride) {
    if (auto f = visit(off)) return f;
  }
  if (stride != kPage) return visit(m.size - kPage);
  return std::nullopt;
}

// Whether the gpas [gpa, gpa + size) are RAM of one memory slot, and so lie
// in host memory as contiguously as in guest memory.
bool InOneSlot(const model::GuestMemory& memory, uint64_t gpa, uint64_t size) {
  const uint64_t first = gpa / kPage;
  const uint64_t last = (gpa + size - 1) / kPage;
  for (const MemorySlot& slot : memory.slots()) {
    if (first >= slot.base_gfn() && last < slot.base_gfn() + slot.pages()) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool MappingAudit::OneGuestPageCovers(const host::HostMapping& m,
                                      const model::PagingState& state) const {
  const model::WalkResult w = model::Walk(memory_, state, m.gva);
  return w.status == model::WalkResult::Status::kOk && w.page_size >= m.size &&
         InOneSlot(memory_, w.gpa & ~(kPage - 1), m.size);
}

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
  if (std::optional<AuditFinding> bad =
          CheckTranslation(gva, hpa, mapping, f.walk, state)) {
    bad->walk = std::move(f.walk);
    return bad;
  }
  return std::nullopt;
}

std::optional<AuditFinding> MappingAudit::CheckTranslation(
    uint64_t gva, uint64_t hpa, const host::HostMapping& mapping,
    const model::WalkResult& w, const model::PagingState& state) const {
  AuditFinding f;
  f.gva = gva;
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
        "host maps gva 0x%x to hpa 0x%x, the guest to gpa 0x%x = hpa 0x%x", gva,
        hpa, gpa_page, *expected);
    return f;
  }
  if (!w.all_accessed) {
    f.kind = DivergenceKind::kUnaccessed;
    f.summary = absl::StrFormat(
        "host maps gva 0x%x though a guest entry on its walk has A=0", gva);
    return f;
  }
  for (const HostAccess& a : kAccesses) {
    if (!host::HostRightsAllow(mapping.writable, mapping.user, mapping.nx,
                               HostAccessKind(a.kind), a.user)) {
      continue;
    }
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
        "host maps gva 0x%x writable while the guest leaf is clean (D=0)", gva);
    return f;
  }
  return std::nullopt;
}

std::optional<AuditFinding> MappingAudit::Check(
    std::span<const host::HostMapping> mappings,
    const model::PagingState& state, bool from_tlb, Excuse excuse) const {
  for (const host::HostMapping& m : mappings) {
    // Inside one guest page every 4 KB page walks the same entries to
    // contiguous gpas, so its first page stands for all of them.
    if (m.size > kPage && OneGuestPageCovers(m, state) &&
        !CheckPage(m.gva, m.hpa, m, state)) {
      continue;
    }
    std::optional<AuditFinding> f =
        ForPagesToCheck(m, [&](uint64_t offset) -> std::optional<AuditFinding> {
          std::optional<AuditFinding> page =
              CheckPage(m.gva + offset, m.hpa + offset, m, state);
          if (page &&
              excuse(m, m.gva + offset, m.hpa + offset, &page->detail)) {
            return std::nullopt;
          }
          return page;
        });
    if (!f) continue;
    if (from_tlb) f->kind = DivergenceKind::kStaleTlb;
    return f;
  }
  return std::nullopt;
}

}  // namespace shadowdiff
