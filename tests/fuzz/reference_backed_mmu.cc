#include "tests/fuzz/reference_backed_mmu.h"

#include <array>

#include "fuzz/state_conversion.h"
#include "host/spte.h"
#include "model/access_rights.h"
#include "model/control_registers.h"
#include "model/pdpte.h"
#include "model/physical_memory.h"
#include "model/walk.h"

namespace shadowdiff::testing {
namespace {

namespace spte = host::spte;

// Guest memory as the model's walker reads it, through the host services.
class HostBackedMemory final : public model::PhysicalMemory {
 public:
  explicit HostBackedMemory(host::HostServices& host) : host_(host) {}
  bool IsRam(uint64_t gpa) const override {
    return host_.GfnToHfn(gpa >> 12).has_value();
  }
  bool Read(uint64_t gpa, std::span<uint8_t> out) const override {
    return host_.ReadGuest(gpa, out);
  }
  bool Write(uint64_t gpa, std::span<const uint8_t> bytes) override {
    return host_.WriteGuest(gpa, bytes);
  }

 private:
  host::HostServices& host_;
};

constexpr uint64_t kPdpteReserved =
    0x6ull | 0x1E0ull | ~((uint64_t{1} << 36) - 1);

}  // namespace

absl::Status ReferenceBackedMmu::Start(host::HostServices& host,
                                       const host::GuestControls& controls) {
  host_ = &host;
  host::GuestPagingState initial;
  initial.controls = controls;
  state_ = ModelState(initial);
  ZapAll();
  return absl::OkStatus();
}

host::HostRoot ReferenceBackedMmu::CurrentRoot(host::VcpuId vcpu) {
  return root_;
}

host::GuestPagingState ReferenceBackedMmu::CurrentState(
    host::VcpuId vcpu) const {
  return {.controls = HostControls(state_),
          .cr3 = state_.cr3,
          .pdptes = state_.pdptes};
}

std::vector<host::Counter> ReferenceBackedMmu::Counters() const {
  return {{"host_faults", faults_}, {"zap_all", zaps_}};
}

bool ReferenceBackedMmu::LoadPdptes(uint64_t cr3,
                                    std::array<uint64_t, 4>& pdptes) const {
  for (int i = 0; i < 4; ++i) {
    uint64_t entry = 0;
    host_->ReadGuest((cr3 & 0xFFFF'FFE0ull) + 8 * i,
                     std::span(reinterpret_cast<uint8_t*>(&entry), 8));
    const bool reserved = (entry & 1) && (entry & kPdpteReserved);
    if (reserved && flaw_ != Flaw::kAcceptsReservedPdpte) return false;
    pdptes[i] = entry;
  }
  return true;
}

bool ReferenceBackedMmu::LoadCr3(host::VcpuId vcpu, uint64_t source) {
  if (model::Cr3SourceFaults(state_, source)) return false;
  const uint64_t cr3 = source & ~model::kCr3NoFlushBit;
  std::array<uint64_t, 4> pdptes = {};
  if (state_.mode == PAGING_PAE && !LoadPdptes(cr3, pdptes)) return false;
  state_.cr3 = cr3;
  state_.pdptes = pdptes;
  ZapAll();
  return true;
}

bool ReferenceBackedMmu::SetControls(host::VcpuId vcpu,
                                     const host::GuestControls& controls) {
  model::PagingState next = state_;
  next.cr0_wp = controls.cr0_wp;
  next.cr4_pse = controls.cr4_pse;
  next.efer_nxe = controls.efer_nxe;
  next.cr4_pge = controls.cr4_pge;
  next.cr4_pcide = controls.cr4_pcide;
  if (model::ControlChangeFaults(state_, next)) return false;
  if (model::ControlChangeReloadsPdptes(state_, next) &&
      !LoadPdptes(state_.cr3, next.pdptes)) {
    return false;
  }
  state_ = next;
  ZapAll();
  return true;
}

void ReferenceBackedMmu::Invlpg(host::VcpuId vcpu, uint64_t gva) { ZapAll(); }

bool ReferenceBackedMmu::Invpcid(host::VcpuId vcpu, host::InvpcidType type,
                                 uint32_t pcid, uint64_t gva) {
  if (model::InvpcidFaults(state_, static_cast<uint32_t>(type), pcid)) {
    return false;
  }
  ZapAll();
  return true;
}

void ReferenceBackedMmu::EmulatedWrite(host::VcpuId vcpu, uint64_t gpa,
                                       std::span<const uint8_t> bytes) {
  host_->WriteGuest(gpa, bytes);
  if (table_gfns_.contains(gpa >> 12) &&
      flaw_ != Flaw::kKeepsMappingsOnTableWrite) {
    ZapAll();
  }
}

host::FaultResolution ReferenceBackedMmu::HandleHostFault(
    host::VcpuId vcpu, uint64_t gva, host::AccessKind kind, bool user,
    uint32_t host_error_code) {
  ++faults_;
  if (flaw_ == Flaw::kAlwaysRetries) return host::FaultResolution::Retry();
  HostBackedMemory memory(*host_);
  const model::WalkResult walk = model::Walk(memory, state_, gva);
  std::vector<uint64_t> entries;
  for (const model::WalkLevel& level : walk.levels) {
    if (!level.from_register) entries.push_back(level.entry_gpa);
  }
  if (auto fault =
          model::AccessFault(walk, state_, ModelAccessKind(kind), user)) {
    if (flaw_ == Flaw::kDropsPresentBitInErrorCode) {
      *fault &= ~model::kPfPresent;
    }
    if (flaw_ == Flaw::kSetsUpperAccessedOnFault && !entries.empty()) {
      // Entries above the faulting one: all but the last the walk read.
      entries.pop_back();
      SetAccessedDirty(entries, 0, false);
    }
    if (flaw_ == Flaw::kSetsLeafAccessedOnFault) {
      SetAccessedDirty(entries, 0, false);
    }
    return host::FaultResolution::Inject(*fault);
  }
  const bool write = kind == host::AccessKind::kWrite;
  if (flaw_ != Flaw::kSetsNoAccessedBits) {
    SetAccessedDirty(entries, entries.back(), write);
  }
  bool new_table = false;
  for (uint64_t entry : entries) {
    new_table |= table_gfns_.insert(entry >> 12).second;
  }
  // A frame that just became a table must lose every writable mapping.
  if (new_table) ZapAll();

  const uint64_t gfn = walk.gpa >> 12;
  const std::optional<uint64_t> hfn = host_->GfnToHfn(gfn);
  if (!hfn || (write && table_gfns_.contains(gfn))) {
    return host::FaultResolution::Emulate(walk.gpa);
  }
  Rights rights;
  if (write) {
    // A supervisor write allowed only by CR0.WP=0 must not open the page to
    // user mode.
    rights = {
        .writable = true, .user = walk.user && walk.writable, .nx = walk.nx};
  } else {
    rights = {
        .writable = walk.writable && walk.dirty && !table_gfns_.contains(gfn),
        .user = walk.user,
        .nx = walk.nx};
  }
  if (flaw_ == Flaw::kMapsEverythingWritable) rights.writable = true;
  MapPage(gva, *hfn << 12, rights);
  if (flaw_ == Flaw::kPrefetchesNextPage) {
    const uint64_t next = (gva & ~0xFFFull) + 0x1000;
    const model::WalkResult w = model::Walk(memory, state_, next);
    const std::optional<uint64_t> next_hfn =
        w.status == model::WalkResult::Status::kOk
            ? host_->GfnToHfn(w.gpa >> 12)
            : std::nullopt;
    if (next_hfn) MapPage(next, *next_hfn << 12, {false, w.user, w.nx});
  }
  return host::FaultResolution::Retry();
}

void ReferenceBackedMmu::SetAccessedDirty(
    const std::vector<uint64_t>& entry_gpas, uint64_t leaf, bool dirty) {
  for (uint64_t gpa : entry_gpas) {
    uint8_t low = 0;
    host_->ReadGuest(gpa, std::span(&low, 1));
    low |= 1 << 5;
    if (dirty && gpa == leaf) low |= 1 << 6;
    host_->WriteGuest(gpa, std::span<const uint8_t>(&low, 1));
  }
}

uint64_t ReferenceBackedMmu::TableAt(uint64_t entry_hpa) {
  const uint64_t entry = host_->ReadSpte(entry_hpa);
  if (entry & spte::kPresent) return spte::FrameAddress(entry);
  const uint64_t frame = *host_->AllocateFrame() << 12;
  frames_.push_back(frame >> 12);
  const uint64_t link =
      root_.kind == host::HostRoot::Kind::kPae && entry_hpa - root_.hpa < 32
          ? spte::kPresent
          : spte::kPresent | spte::kWritable | spte::kUser;
  host_->WriteSpte(entry_hpa, frame | link);
  return frame;
}

void ReferenceBackedMmu::MapPage(uint64_t gva, uint64_t hpa, Rights rights) {
  uint64_t table = root_.hpa;
  int level = root_.kind == host::HostRoot::Kind::kPae ? 3 : 4;
  for (; level > 1; --level) {
    const uint64_t index =
        level == 3 && root_.kind == host::HostRoot::Kind::kPae
            ? (gva >> 30) & 3
            : (gva >> (12 + 9 * (level - 1))) & 511;
    table = TableAt(table + 8 * index);
  }
  uint64_t leaf = hpa | spte::kPresent;
  if (rights.writable) leaf |= spte::kWritable;
  if (rights.user) leaf |= spte::kUser;
  if (rights.nx) leaf |= spte::kNx;
  host_->WriteSpte(table + 8 * ((gva >> 12) & 511), leaf);
}

void ReferenceBackedMmu::ZapAll() {
  ++zaps_;
  for (uint64_t hfn : frames_) host_->FreeFrame(hfn);
  frames_.clear();
  const uint64_t root = *host_->AllocateFrame();
  frames_.push_back(root);
  root_ = {.kind = state_.mode == PAGING_4LEVEL ? host::HostRoot::Kind::k4Level
                                                : host::HostRoot::Kind::kPae,
           .hpa = root << 12};
  if (flaw_ != Flaw::kForgetsTlbFlush) host_->FlushTlbAll(host::VcpuSet::All());
}

}  // namespace shadowdiff::testing
