#include "fuzz/case_support.h"

#include "absl/strings/str_cat.h"
#include "fuzz/state_conversion.h"

namespace shadowdiff {
namespace {

constexpr ControlInfo kControls[] = {
    {CR0_WP, host::Control::kCr0Wp, "CR0.WP"},
    {EFER_NXE, host::Control::kEferNxe, "EFER.NXE"},
    {CR4_PSE, host::Control::kCr4Pse, "CR4.PSE"},
    {CR4_PGE, host::Control::kCr4Pge, "CR4.PGE"},
    {CR4_PCIDE, host::Control::kCr4Pcide, "CR4.PCIDE"},
};

bool SetInSetup(const Setup& setup, ControlBit bit) {
  switch (bit) {
    case CR0_WP:
      return setup.cr0_wp();
    case EFER_NXE:
      return setup.efer_nxe();
    case CR4_PSE:
      return setup.cr4_pse();
    case CR4_PGE:
      return setup.cr4_pge();
    case CR4_PCIDE:
      return setup.cr4_pcide();
    default:
      return false;
  }
}

}  // namespace

std::span<const ControlInfo> Controls() { return kControls; }

const char* ControlName(ControlBit bit) {
  for (const ControlInfo& control : kControls) {
    if (control.bit == bit) return control.name;
  }
  return "?";
}

std::optional<std::string> UnsupportedFeature(
    const Case& c, const host::MmuCapabilities& capabilities) {
  const Setup& setup = c.setup();
  if (!capabilities.SupportsMode(HostMode(setup.mode()))) {
    return absl::StrCat(PagingMode_Name(setup.mode()), " mode");
  }
  if (setup.gbpages() && setup.mode() == PAGING_4LEVEL &&
      !capabilities.gbpages) {
    return std::string("1 GB pages");
  }
  for (const ControlInfo& control : kControls) {
    if (capabilities.SupportsControl(control.control)) continue;
    bool set = SetInSetup(setup, control.bit);
    for (const Op& op : c.ops()) {
      set = set ||
            (op.has_set_control() && op.set_control().bit() == control.bit &&
             op.set_control().value());
    }
    if (set) return absl::StrCat(control.name, "=1");
  }
  return std::nullopt;
}

}  // namespace shadowdiff
