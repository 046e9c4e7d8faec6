#include "host/mmu_registry.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace shadowdiff::host {
namespace {

// Built on first use: registrars run during static initialization, in an
// order across files that nothing fixes.
absl::flat_hash_map<std::string, MmuInfo>& Registry() {
  static auto* registry = new absl::flat_hash_map<std::string, MmuInfo>();
  return *registry;
}

}  // namespace

absl::Status RegisterMmu(MmuInfo info) {
  if (info.name.empty()) {
    return absl::InvalidArgumentError("an MMU needs a name");
  }
  if (info.name.find_first_of(":,= \t") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "MMU name '%s': no ':', ',', '=' or spaces (NAME:SWITCHES is how "
        "the tools name an MMU with switches)",
        info.name));
  }
  if (!info.factory) {
    return absl::InvalidArgumentError(
        absl::StrFormat("MMU '%s' has no factory", info.name));
  }
  const std::string name = info.name;
  if (!Registry().emplace(name, std::move(info)).second) {
    return absl::AlreadyExistsError(
        absl::StrFormat("two MMUs are registered as '%s'", name));
  }
  return absl::OkStatus();
}

MmuRegistrar::MmuRegistrar(MmuInfo info) {
  if (absl::Status s = RegisterMmu(std::move(info)); !s.ok()) {
    std::fprintf(stderr, "shadowdiff: %s\n", std::string(s.message()).c_str());
    std::exit(2);
  }
}

std::vector<std::string> MmuNames() {
  std::vector<std::string> names;
  for (const auto& [name, info] : Registry()) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

const MmuInfo* FindMmu(std::string_view name) {
  const auto it = Registry().find(std::string(name));
  return it == Registry().end() ? nullptr : &it->second;
}

absl::StatusOr<const MmuInfo*> LookUpMmu(std::string_view name) {
  if (const MmuInfo* info = FindMmu(name)) return info;
  return absl::InvalidArgumentError(absl::StrFormat(
      "unknown MMU '%s' (known: %s)", name, absl::StrJoin(MmuNames(), ", ")));
}

absl::StatusOr<std::unique_ptr<GuestMmu>> MakeMmu(std::string_view name,
                                                  std::string_view switches) {
  absl::StatusOr<const MmuInfo*> info = LookUpMmu(name);
  if (!info.ok()) return info.status();
  return (*info)->factory(switches);
}

}  // namespace shadowdiff::host
