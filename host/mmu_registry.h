#ifndef SHADOWDIFF_HOST_MMU_REGISTRY_H_
#define SHADOWDIFF_HOST_MMU_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "host/guest_mmu.h"
#include "host/guest_state.h"

// The MMUs that can be put under test, by name. An MMU library adds itself,
// without any change to shadowdiff: a C++ one with a static MmuRegistrar, a C
// one with SHADOWDIFF_REGISTER_MMU (include/shadowdiff/mmu.h). Either way the
// library must be linked whole, or the linker drops the registrar
// (shadowdiff_add_fuzzer in the installed package does it).
namespace shadowdiff::host {

// The controls an MMU may declare it handles with both values.
enum class Control : uint32_t {
  kCr0Wp = 1u << 0,
  kCr4Pse = 1u << 1,
  kEferNxe = 1u << 2,
  kCr4Pge = 1u << 3,
  kCr4Pcide = 1u << 4,
};

// What an MMU supports. A case outside it is unsupported: skipped and counted,
// never reported as a divergence.
struct MmuCapabilities {
  static constexpr uint32_t kAllModes = 0b111;
  static constexpr uint32_t kAllControls = 0b11111;

  uint32_t modes = kAllModes;        // bit GuestMode of each mode
  uint32_t controls = kAllControls;  // bits of Control; others stay 0
  bool gbpages = true;               // 1 GB pages where the CPU model has them
  int max_vcpus = 1;

  bool SupportsMode(GuestMode mode) const {
    return (modes >> static_cast<int>(mode)) & 1;
  }
  bool SupportsControl(Control control) const {
    return (controls & static_cast<uint32_t>(control)) != 0;
  }
};

// Makes an MMU from its own switch string ("" is the MMU as released; what
// the switches mean is the MMU's business, e.g. impl's bug zoo). A bad string
// is an InvalidArgumentError that says what the MMU accepts.
using MmuFactory = std::function<absl::StatusOr<std::unique_ptr<GuestMmu>>(
    std::string_view switches)>;

struct MmuInfo {
  std::string name;
  std::string summary;   // one line, for the list of MMUs
  std::string switches;  // what the switch string may name, for the usage
  MmuCapabilities capabilities;
  MmuFactory factory;
};

// Fails on an empty or duplicate name or a missing factory.
absl::Status RegisterMmu(MmuInfo info);

// Registers at static initialization; a failure is printed and exits 2, as a
// build that registers two MMUs under one name is unusable.
class MmuRegistrar {
 public:
  explicit MmuRegistrar(MmuInfo info);
};

// Every registered MMU, by name.
std::vector<std::string> MmuNames();
const MmuInfo* FindMmu(std::string_view name);

// An unknown name is an InvalidArgumentError that lists the known ones.
absl::StatusOr<const MmuInfo*> LookUpMmu(std::string_view name);
absl::StatusOr<std::unique_ptr<GuestMmu>> MakeMmu(std::string_view name,
                                                  std::string_view switches);

}  // namespace shadowdiff::host

#endif  // SHADOWDIFF_HOST_MMU_REGISTRY_H_
