#include "fuzz/outcome.h"

#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace shadowdiff {

Outcome FromReference(const model::AccessResult& r, bool is_load) {
  Outcome o;
  switch (r.kind) {
    case model::AccessResult::Kind::kOk:
      o.kind = Outcome::Kind::kOk;
      o.hpa = r.hpa;
      o.has_value = is_load;
      o.value = is_load ? r.value : 0;
      break;
    case model::AccessResult::Kind::kPageFault:
      o.kind = Outcome::Kind::kPageFault;
      o.error_code = r.error_code;
      o.cr2 = r.cr2;
      break;
    case model::AccessResult::Kind::kMmio:
      o.kind = Outcome::Kind::kMmio;
      o.gpa = r.gpa;
      break;
  }
  return o;
}

Outcome FromHost(const host::HostAccessResult& r, bool is_load) {
  Outcome o;
  switch (r.kind) {
    case host::HostAccessResult::Kind::kOk:
      o.kind = Outcome::Kind::kOk;
      o.hpa = r.hpa;
      o.has_value = is_load;
      o.value = is_load ? r.value : 0;
      break;
    case host::HostAccessResult::Kind::kPageFault:
      o.kind = Outcome::Kind::kPageFault;
      o.error_code = r.error_code;
      o.cr2 = r.cr2;
      break;
    case host::HostAccessResult::Kind::kMmio:
      o.kind = Outcome::Kind::kMmio;
      o.gpa = r.gpa;
      break;
    case host::HostAccessResult::Kind::kLivelock:
      o.kind = Outcome::Kind::kLivelock;
      break;
    case host::HostAccessResult::Kind::kMmuError:
      o.kind = Outcome::Kind::kMmuError;
      break;
  }
  return o;
}

Outcome FromAcceptance(bool accepted) {
  Outcome o;
  o.kind = accepted ? Outcome::Kind::kAccepted : Outcome::Kind::kGp;
  return o;
}

std::string ErrorCodeBitNames(uint32_t bits) {
  static constexpr struct {
    uint32_t bit;
    const char* name;
  } kBits[] = {{model::kPfPresent, "P"},
               {model::kPfWrite, "W"},
               {model::kPfUser, "U"},
               {model::kPfReserved, "RSVD"},
               {model::kPfFetch, "I"}};
  std::vector<std::string> names;
  for (const auto& b : kBits) {
    if (bits & b.bit) names.push_back(b.name);
  }
  return absl::StrJoin(names, "|");
}

std::string ErrorCodeText(uint32_t error_code) {
  const std::string names = ErrorCodeBitNames(error_code);
  return absl::StrFormat("0x%x (%s)", error_code,
                         names.empty() ? "none" : names);
}

std::string ToString(const Outcome& o) {
  switch (o.kind) {
    case Outcome::Kind::kNone:
      return "done";
    case Outcome::Kind::kOk:
      return o.has_value
                 ? absl::StrFormat("ok hpa=0x%x value=0x%x", o.hpa, o.value)
                 : absl::StrFormat("ok hpa=0x%x", o.hpa);
    case Outcome::Kind::kPageFault:
      return absl::StrFormat("#PF error=%s cr2=0x%x",
                             ErrorCodeText(o.error_code), o.cr2);
    case Outcome::Kind::kMmio:
      return absl::StrFormat("MMIO at gpa 0x%x", o.gpa);
    case Outcome::Kind::kAccepted:
      return "accepted";
    case Outcome::Kind::kGp:
      return "#GP";
    case Outcome::Kind::kLivelock:
      return "livelock (host faults without progress)";
    case Outcome::Kind::kMmuError:
      return "MMU internal error";
  }
  return "?";
}

}  // namespace shadowdiff
