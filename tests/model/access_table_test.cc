// The access-rights table, in the spirit of kvm-unit-tests x86/access.c: for
// each paging mode, every combination of the P/W/U/A/D/NX/PS flags of a PDE
// and of the PTE under it, alone and with one extra bit set in the leaf or
// the level above (reserved or ignored, per the SDM), times user/supervisor,
// read/write/fetch, CR0.WP and EFER.NXE (and CR4.PSE in 32-bit mode).
//
// The expected outcome comes from Expect() below, a truth table written
// straight from SDM 4.3-4.8; it calls no model code. Each case builds its own
// guest memory by hand at fixed addresses and runs Reference::Access.
#include <cstdint>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "model/guest_memory.h"
#include "model/reference.h"
#include "tests/model/guest_builder.h"

namespace shadowdiff::model {
namespace {

using namespace ::shadowdiff::model::testing;
using Kind = AccessResult::Kind;

// Where the walk's entries live, worked out by hand (as in walk_test.cc). In
// every mode the PDE's address field is 0x400000: as a table pointer it
// locates the page table at 0x400000, as a 4 MB / 2 MB page it maps
// 0x400000. The PTE maps the 4 KB page at 0x105000. The gva's offsets make
// the data gpa 0x105008 (4 KB page) or 0x405008 (large page).
struct Layout {
  PagingMode mode;
  uint64_t gva;
  uint64_t cr3;
  int entry_bytes;
  uint64_t pml4e_gpa = 0;  // 0: the mode has no such entry
  uint64_t pml4e = 0;
  uint64_t pdpte_gpa = 0;
  uint64_t pdpte = 0;
  uint64_t pde_gpa;
  uint64_t pte_gpa;
};

constexpr uint64_t kPdeFrame = 0x400000;
constexpr uint64_t kPteFrame = 0x105000;
constexpr uint64_t kSmallGpa = 0x105008;
constexpr uint64_t kLargeGpa = 0x405008;
constexpr uint64_t kSmallData = 0x11223344;
constexpr uint64_t kLargeData = 0x55667788;
constexpr uint64_t kStoreValue = 0xCAFEF00D;

// 32-bit, gva 0x00805008: PDE index 0x002, PTE index 0x005, offset 0x008.
// PDE at 0x101000 + 4 * 2 = 0x101008; PTE at 0x400000 + 4 * 5 = 0x400014.
// 4 MB offset 0x005008.
constexpr Layout k32Bit = {.mode = PAGING_32BIT,
                           .gva = 0x00805008,
                           .cr3 = 0x101000,
                           .entry_bytes = 4,
                           .pde_gpa = 0x101008,
                           .pte_gpa = 0x400014};

// PAE, gva 0x40805008: PDPTE index 1, PDE index 0x004, PTE index 0x005.
// CR3 0x101020: PDPTE at 0x101020 + 8 = 0x101028, -> PD at 0x102000; PDE at
// 0x102000 + 8 * 4 = 0x102020; PTE at 0x400000 + 8 * 5 = 0x400028.
// 2 MB offset 0x005008.
constexpr Layout kPae = {.mode = PAGING_PAE,
                         .gva = 0x40805008,
                         .cr3 = 0x101020,
                         .entry_bytes = 8,
                         .pdpte_gpa = 0x101028,
                         .pdpte = 0x102000 | kP,
                         .pde_gpa = 0x102020,
                         .pte_gpa = 0x400028};

// 4-level, gva 0x80_40805008: indexes 1, 1, 0x004, 0x005. PML4E at 0x101008
// -> PDPT at 0x102000; PDPTE at 0x102008 -> PD at 0x103000; PDE at 0x103020;
// PTE at 0x400028. 2 MB offset 0x005008.
constexpr Layout k4Level = {.mode = PAGING_4LEVEL,
                            .gva = 0x8040805008,
                            .cr3 = 0x101000,
                            .entry_bytes = 8,
                            .pml4e_gpa = 0x101008,
                            .pml4e = 0x102000 | kP | kW | kU | kA,
                            .pdpte_gpa = 0x102008,
                            .pdpte = 0x103000 | kP | kW | kU | kA,
                            .pde_gpa = 0x103020,
                            .pte_gpa = 0x400028};

// Which entry carries the extra bit, as the SDM's tables name it.
enum class Role { kPte, kPdeTable, kPdeLarge, kPdpteTable };

struct ExtraBit {
  Role role;
  int bit;
};

struct Case {
  const Layout* layout;
  bool cr4_pse;
  bool cr0_wp;
  bool efer_nxe;
  uint64_t pde_flags;
  uint64_t pte_flags;
  std::optional<ExtraBit> extra;
  bool user;
  AccessKind kind;
};

// SDM 4.3: 32-bit paging uses a PDE as a 4 MB page only with CR4.PSE=1.
// SDM 4.4.2, 4.5: PAE and 4-level paging always honour PS in a PDE.
bool PdeMapsLargePage(const Case& c) {
  return (c.pde_flags & kPs) != 0 &&
         (c.layout->mode != PAGING_32BIT || c.cr4_pse);
}

// The bits a present entry reserves, MAXPHYADDR 36, from the entry-format
// tables: 32-bit 4-4..4-6, PAE 4-9..4-11, 4-level 4-15..4-19.
uint64_t SdmReservedBits(PagingMode mode, Role role, bool efer_nxe) {
  if (mode == PAGING_32BIT) {
    return role == Role::kPdeLarge ? 0x003E0000 /* 21:17 */ : 0;
  }
  const uint64_t xd = efer_nxe ? 0 : 0x8000000000000000;
  // PAE: 62:36; 4-level: 51:36.
  const uint64_t above_maxphyaddr =
      mode == PAGING_PAE ? 0x7FFFFFF000000000 : 0x000FFFF000000000;
  // Large page: 20:13, the frame bits below 2 MB except PAT.
  const uint64_t misaligned = role == Role::kPdeLarge ? 0x1FE000 : 0;
  return xd | above_maxphyaddr | misaligned;
}

// Extra bits to try, one at a time, in an entry of each role: some reserved,
// some ignored (or PAT, which is no address bit). None is an address bit.
std::vector<int> CandidateBits(PagingMode mode, Role role) {
  switch (mode) {
    case PAGING_32BIT:
      if (role == Role::kPdeLarge) return {12, 17, 21};
      if (role == Role::kPdpteTable) return {};
      return {9};
    case PAGING_PAE:
      if (role == Role::kPte) return {11, 36, 62};
      if (role == Role::kPdeTable) return {51};
      if (role == Role::kPdeLarge) return {12, 13, 20};
      return {};  // a bad PDPTE fails LoadCr3 instead: see pdpte_test.cc
    default:
      if (role == Role::kPte) return {36, 52};
      if (role == Role::kPdeTable) return {51, 62};
      if (role == Role::kPdeLarge) return {12, 13, 20};
      return {51, 52};
  }
}

uint64_t ExtraIn(const Case& c, Role role) {
  if (!c.extra.has_value() || c.extra->role != role) return 0;
  return uint64_t{1} << c.extra->bit;
}

uint64_t PdeValue(const Case& c) {
  const Role role = PdeMapsLargePage(c) ? Role::kPdeLarge : Role::kPdeTable;
  return kPdeFrame | c.pde_flags | ExtraIn(c, role);
}
uint64_t PteValue(const Case& c) {
  return kPteFrame | c.pte_flags | ExtraIn(c, Role::kPte);
}
uint64_t PdpteValue(const Case& c) {
  return c.layout->pdpte | ExtraIn(c, Role::kPdpteTable);
}

// Everything a case observes after the access.
struct Outcome {
  Kind kind = Kind::kOk;
  uint32_t error_code = 0;
  uint64_t cr2 = 0;
  uint64_t gpa = 0;
  uint64_t hpa = 0;
  uint64_t value = 0;
  uint64_t pde_after = 0;
  uint64_t pte_after = 0;
  uint64_t small_data_after = 0;
  uint64_t large_data_after = 0;

  bool operator==(const Outcome&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Outcome& o) {
  return out << std::hex << "{kind " << static_cast<int>(o.kind) << " error 0x"
             << o.error_code << " cr2 0x" << o.cr2 << " gpa 0x" << o.gpa
             << " hpa 0x" << o.hpa << " value 0x" << o.value << " pde 0x"
             << o.pde_after << " pte 0x" << o.pte_after << " data 0x"
             << o.small_data_after << " 0x" << o.large_data_after << "}"
             << std::dec;
}

// The SDM's answer for one case.
Outcome Expect(const Case& c) {
  const PagingMode mode = c.layout->mode;
  const bool large = PdeMapsLargePage(c);
  const uint64_t pde = PdeValue(c);
  const uint64_t pte = PteValue(c);
  const auto reserved = [&](uint64_t entry, Role role) {
    return (entry & SdmReservedBits(mode, role, c.efer_nxe)) != 0;
  };

  // SDM 4.7: W/R, U/S and I/D describe the access; I/D only with CR4.PAE=1
  // and IA32_EFER.NXE=1.
  Outcome fault = {.kind = Kind::kPageFault,
                   .cr2 = c.layout->gva,
                   .pde_after = pde,
                   .pte_after = pte,
                   .small_data_after = kSmallData,
                   .large_data_after = kLargeData};
  if (c.kind == AccessKind::kWrite) fault.error_code |= 0x2;
  if (c.user) fault.error_code |= 0x4;
  if (c.kind == AccessKind::kFetch && mode != PAGING_32BIT && c.efer_nxe) {
    fault.error_code |= 0x10;
  }
  Outcome not_present = fault;
  Outcome reserved_bit = fault;
  reserved_bit.error_code |= 0x1 | 0x8;
  Outcome protection = fault;
  protection.error_code |= 0x1;

  // SDM 4.3-4.5: top down, P=0 ends the walk whatever the other bits are;
  // then a reserved bit ends it. The PML4E and PDPTE are present.
  if (mode == PAGING_4LEVEL && reserved(PdpteValue(c), Role::kPdpteTable)) {
    return reserved_bit;
  }
  if ((pde & kP) == 0) return not_present;
  if (reserved(pde, large ? Role::kPdeLarge : Role::kPdeTable)) {
    return reserved_bit;
  }
  if (!large) {
    if ((pte & kP) == 0) return not_present;
    if (reserved(pte, Role::kPte)) return reserved_bit;
  }

  // SDM 4.6: R/W and U/S are ANDed over the levels, XD ORed (PAE and 4-level
  // with NXE only). The PML4E and PDPTE allow everything.
  const bool writable = (pde & kW) && (large || (pte & kW));
  const bool user_page = (pde & kU) && (large || (pte & kU));
  const bool xd = mode != PAGING_32BIT && c.efer_nxe &&
                  ((pde & kNx) || (!large && (pte & kNx)));
  if (c.user && !user_page) return protection;
  if (c.kind == AccessKind::kWrite && !writable && (c.user || c.cr0_wp)) {
    return protection;
  }
  if (c.kind == AccessKind::kFetch && xd) return protection;

  // SDM 4.8: A in every entry used, D in the leaf for a write. Gfn 0x105
  // is host frame 0x1000005, gfn 0x405 host frame 0x2000005 (TwoSlots).
  Outcome ok = {.kind = Kind::kOk,
                .gpa = large ? kLargeGpa : kSmallGpa,
                .hpa = large ? uint64_t{0x2000005008} : uint64_t{0x1000005008},
                .pde_after = pde | kA,
                .pte_after = large ? pte : pte | kA,
                .small_data_after = kSmallData,
                .large_data_after = kLargeData};
  if (c.kind == AccessKind::kRead) ok.value = large ? kLargeData : kSmallData;
  if (c.kind == AccessKind::kWrite) {
    (large ? ok.pde_after : ok.pte_after) |= kD;
    (large ? ok.large_data_after : ok.small_data_after) = kStoreValue;
  }
  return ok;
}

// Every subset of `bits`.
std::vector<uint64_t> Subsets(const std::vector<uint64_t>& bits) {
  std::vector<uint64_t> subsets = {0};
  for (const uint64_t bit : bits) {
    const size_t n = subsets.size();
    for (size_t i = 0; i < n; ++i) subsets.push_back(subsets[i] | bit);
  }
  return subsets;
}

// The extra bits to try with a PDE that does (or does not) map a large page:
// none, then one at a time in the leaf and in the level above.
std::vector<std::optional<ExtraBit>> Extras(PagingMode mode, bool large) {
  std::vector<std::optional<ExtraBit>> extras = {std::nullopt};
  const Role leaf = large ? Role::kPdeLarge : Role::kPte;
  const Role above = large ? Role::kPdpteTable : Role::kPdeTable;
  for (const Role role : {leaf, above}) {
    for (const int bit : CandidateBits(mode, role)) {
      extras.push_back(ExtraBit{role, bit});
    }
  }
  return extras;
}

// `base` under every privilege, access kind, CR0.WP and EFER.NXE.
void AddAccessVariants(Case base, std::vector<Case>& cases) {
  for (const bool user : {false, true}) {
    for (const AccessKind kind :
         {AccessKind::kRead, AccessKind::kWrite, AccessKind::kFetch}) {
      for (const bool cr0_wp : {false, true}) {
        for (const bool efer_nxe : {false, true}) {
          base.user = user;
          base.kind = kind;
          base.cr0_wp = cr0_wp;
          base.efer_nxe = efer_nxe;
          cases.push_back(base);
        }
      }
    }
  }
}

// Every flag combination without an extra bit. With an extra bit, A and D
// stay 0 in both entries: they decide no fault, and the cases without extra
// bits cover how they are updated. That keeps the table in seconds.
std::vector<Case> AllCases() {
  std::vector<Case> cases;
  for (const Layout* layout : {&k32Bit, &kPae, &k4Level}) {
    const PagingMode mode = layout->mode;
    std::vector<uint64_t> pde_bits = {kP, kW, kU, kA, kD, kPs};
    std::vector<uint64_t> pte_bits = {kP, kW, kU, kA, kD};
    // 32-bit entries have no NX bit.
    if (mode != PAGING_32BIT) {
      pde_bits.push_back(kNx);
      pte_bits.push_back(kNx);
    }
    for (const bool cr4_pse : {false, true}) {
      if (mode != PAGING_32BIT && cr4_pse) continue;  // no effect there
      for (const uint64_t pde_flags : Subsets(pde_bits)) {
        Case c = {.layout = layout, .cr4_pse = cr4_pse, .pde_flags = pde_flags};
        const bool large = PdeMapsLargePage(c);
        // The PTE matters only under a present PDE that points to a table.
        std::vector<uint64_t> ptes = Subsets(pte_bits);
        if ((pde_flags & kP) == 0 || large) ptes = {kP | kW | kU};
        for (const uint64_t pte_flags : ptes) {
          for (const std::optional<ExtraBit>& extra : Extras(mode, large)) {
            if (extra.has_value() && ((pde_flags | pte_flags) & (kA | kD))) {
              continue;
            }
            c.pte_flags = pte_flags;
            c.extra = extra;
            AddAccessVariants(c, cases);
          }
        }
      }
    }
  }
  return cases;
}

std::string Describe(const Case& c) {
  std::ostringstream out;
  out << "mode=" << PagingMode_Name(c.layout->mode) << std::hex << " pde=0x"
      << PdeValue(c) << " pte=0x" << PteValue(c);
  if (c.layout->mode == PAGING_4LEVEL) out << " pdpte=0x" << PdpteValue(c);
  out << std::dec << (c.user ? " user" : " supervisor")
      << (c.kind == AccessKind::kRead    ? " read"
          : c.kind == AccessKind::kWrite ? " write"
                                         : " fetch")
      << " wp=" << c.cr0_wp << " nxe=" << c.efer_nxe << " pse=" << c.cr4_pse;
  return out.str();
}

void Store(GuestMemory& memory, int entry_bytes, uint64_t gpa, uint64_t value) {
  PutBytes(memory, gpa, value, entry_bytes);
}

// Runs one case on a freshly built guest.
Outcome RunCase(const Case& c) {
  const Layout& l = *c.layout;
  GuestMemory memory(TwoSlots());
  if (l.pml4e_gpa != 0) Store(memory, l.entry_bytes, l.pml4e_gpa, l.pml4e);
  if (l.pdpte_gpa != 0) {
    Store(memory, l.entry_bytes, l.pdpte_gpa, PdpteValue(c));
  }
  Store(memory, l.entry_bytes, l.pde_gpa, PdeValue(c));
  Store(memory, l.entry_bytes, l.pte_gpa, PteValue(c));
  Put32(memory, kSmallGpa, kSmallData);
  Put32(memory, kLargeGpa, kLargeData);

  Reference ref(memory,
                MakeSetup(l.mode, c.cr0_wp, c.cr4_pse, c.efer_nxe, false));
  EXPECT_TRUE(ref.LoadCr3(l.cr3));
  const AccessResult r = ref.Access(l.gva, c.kind, 4, kStoreValue, c.user);
  return {.kind = r.kind,
          .error_code = r.error_code,
          .cr2 = r.cr2,
          .gpa = r.gpa,
          .hpa = r.hpa,
          .value = r.value,
          .pde_after = GetBytes(memory, l.pde_gpa, l.entry_bytes),
          .pte_after = GetBytes(memory, l.pte_gpa, l.entry_bytes),
          .small_data_after = Get32(memory, kSmallGpa),
          .large_data_after = Get32(memory, kLargeGpa)};
}

TEST(AccessTable, MatchesTheSdm) {
  const std::vector<Case> cases = AllCases();
  ASSERT_GT(cases.size(), 2000u);
  int failures = 0;
  for (const Case& c : cases) {
    const Outcome got = RunCase(c);
    const Outcome want = Expect(c);
    if (got == want) continue;
    if (++failures <= 20) {
      ADD_FAILURE() << Describe(c) << "\n got " << got << "\nwant " << want;
    }
  }
  EXPECT_EQ(failures, 0) << "of " << cases.size() << " cases";
  RecordProperty("cases", static_cast<int>(cases.size()));
}

}  // namespace
}  // namespace shadowdiff::model
