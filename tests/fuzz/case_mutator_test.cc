#include "fuzz/case_mutator.h"

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "proto/normalize.h"
#include "tests/fuzz/seed_cases.h"

namespace shadowdiff {
namespace {

// Stands in for LLVMFuzzerMutate, which only exists inside libFuzzer: a
// deterministic byte change.
size_t FlipBytes(uint8_t* data, size_t size, size_t max_size) {
  for (size_t i = 0; i < size; i += 3)
    data[i] ^= static_cast<uint8_t>(0x5A + i);
  return size;
}

std::string Bytes(const Case& c) { return c.SerializeAsString(); }

TEST(CaseMutator, IsDeterministicForASeed) {
  CaseMutator mutator(FlipBytes);
  for (const Case& seed : testing::SeedCases()) {
    for (uint32_t s = 0; s < 20; ++s) {
      Case a = seed, b = seed;
      mutator.Mutate(a, s, 1 << 16);
      mutator.Mutate(b, s, 1 << 16);
      ASSERT_EQ(Bytes(a), Bytes(b)) << "seed " << s;
    }
  }
}

TEST(CaseMutator, OutputParsesAndNeedsNoNormalizing) {
  CaseMutator mutator(FlipBytes);
  const std::vector<Case> seeds = testing::SeedCases();
  int changed = 0;
  for (size_t i = 0; i < seeds.size(); ++i) {
    Case c = seeds[i];
    // A chain of mutations, as libFuzzer makes them.
    for (uint32_t s = 0; s < 60; ++s) {
      const std::string before = Bytes(c);
      mutator.Mutate(c, static_cast<uint32_t>(i * 1000 + s), 4096);
      const std::string bytes = Bytes(c);
      ASSERT_LE(bytes.size(), 4096u);
      changed += bytes != before;
      Case parsed;
      ASSERT_TRUE(parsed.ParseFromString(bytes));
      Case normalized = parsed;
      Normalize(normalized);
      ASSERT_EQ(Bytes(normalized), bytes) << parsed.DebugString();
    }
  }
  // Nearly every mutation changes something.
  EXPECT_GT(changed, static_cast<int>(seeds.size()) * 60 * 8 / 10);
}

TEST(CaseMutator, CrossOverSplicesOpsOfTheOther) {
  CaseMutator mutator(FlipBytes);
  const std::vector<Case> seeds = testing::SeedCases();
  Case out;
  mutator.CrossOver(seeds[0], seeds[1], 7, 1 << 16, out);
  EXPECT_GT(out.ops_size(), seeds[0].ops_size());
  Case normalized = out;
  Normalize(normalized);
  EXPECT_EQ(Bytes(normalized), Bytes(out));
}

// Where ops [i, i + 4) of c go there and back: `bit` set to !value, an
// access, `bit` set to value again, the same access; -1 if nowhere.
int ThereAndBack(const Case& c, ControlBit bit, bool value) {
  auto is_toggle = [&](const Op& op, bool to) {
    return op.has_set_control() && op.set_control().bit() == bit &&
           op.set_control().value() == to;
  };
  for (int i = 0; i + 3 < c.ops_size(); ++i) {
    if (is_toggle(c.ops(i), !value) && is_toggle(c.ops(i + 2), value) &&
        c.ops(i + 1).SerializeAsString() == c.ops(i + 3).SerializeAsString()) {
      return i;
    }
  }
  return -1;
}

// 32-bit, CR0.WP clear: gvas 0x400000-0x403000 map gfns 0x110-0x113 through
// PDE[1] of the PD at 0x101 and PTEs 0-3 of the PT at 0x102, and are loaded.
// PTEs 1-3 are writable; the test chooses for PTE 0.
Case WpCase(bool pte_writable) {
  Case c;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"(
        setup {
          mode: PAGING_32BIT
          slots { base_gfn: 0x100 pages: 0x100 host_frame: 0x1000000 }
          cr3 { gfn: 0x101 }
          entries { table_gfn: 0x101 index: 1 bits { present: true writable: true user: true target_gfn: 0x102 } }
          entries { table_gfn: 0x102 index: 0 bits { present: true user: true target_gfn: 0x110 } }
          entries { table_gfn: 0x102 index: 1 bits { present: true writable: true user: true target_gfn: 0x111 } }
          entries { table_gfn: 0x102 index: 2 bits { present: true writable: true user: true target_gfn: 0x112 } }
          entries { table_gfn: 0x102 index: 3 bits { present: true writable: true user: true target_gfn: 0x113 } }
        }
        ops { load { gva: 0x400000 width: 4 } }
        ops { load { gva: 0x401000 width: 4 } }
        ops { load { gva: 0x402000 width: 4 } }
        ops { load { gva: 0x403000 width: 4 } }
      )",
      &c));
  c.mutable_setup()->mutable_entries(1)->mutable_bits()->set_writable(
      pte_writable);
  Normalize(c);
  return c;
}

// A control bit left out of the shadow role shows only when shadows the bit
// decides are live across a change: the mutator builds such cases, e.g.
// CR0.WP set, a supervisor write to a read-only page, WP clear again, the
// write again.
TEST(CaseMutator, GoesThereAndBackAcrossAControlBit) {
  CaseMutator mutator(FlipBytes);
  const Case seed = WpCase(/*pte_writable=*/false);
  int found = 0;
  int through_read_only_pte = 0;
  for (uint32_t s = 0; s < 3000; ++s) {
    Case c = seed;
    mutator.Mutate(c, s, 1 << 16);
    const int at = ThereAndBack(c, CR0_WP, false);
    if (at < 0 || !c.ops(at + 1).has_store()) continue;
    ++found;
    const Store& store = c.ops(at + 1).store();
    EXPECT_FALSE(store.user()) << "a user write ignores CR0.WP";
    through_read_only_pte += (store.gva() >> 12) == 0x400;
  }
  EXPECT_GT(found, 0);
  // The read-only page is preferred to the three writable ones.
  EXPECT_GT(through_read_only_pte, found / 2);
}

// Where the case has no entry the bit decides, the move makes one first.
TEST(CaseMutator, MakesAnEntryTheControlBitDecides) {
  CaseMutator mutator(FlipBytes);
  const Case seed = WpCase(/*pte_writable=*/true);
  int made = 0;
  for (uint32_t s = 0; s < 3000; ++s) {
    Case c = seed;
    mutator.Mutate(c, s, 1 << 16);
    // The toggle's own write, not another move's.
    if (mutator.last_moves().size() != 1 ||
        std::string_view(mutator.last_moves()[0]) != "ToggleControl") {
      continue;
    }
    const int at = ThereAndBack(c, CR0_WP, false);
    if (at < 1 || !c.ops(at - 1).has_write_entry()) continue;
    const WriteEntry& w = c.ops(at - 1).write_entry();
    const bool pde = w.table_gfn() == 0x101 && w.index() == 1;
    const bool pte = w.table_gfn() == 0x102 && w.index() < 4;
    if (!pde && !pte) continue;
    ++made;
    EXPECT_EQ(w.raw() & 2, 0u) << "R/W must be clear";
  }
  EXPECT_GT(made, 0);
}

// The moves are a table of names; each one Mutate makes is recorded.
TEST(CaseMutator, RecordsTheMovesItMakes) {
  CaseMutator mutator(FlipBytes);
  std::set<std::string> names;
  for (const CaseMutator::Move& move : CaseMutator::Moves()) {
    EXPECT_GT(move.weight, 0) << move.name;
    EXPECT_TRUE(names.insert(move.name).second) << move.name;
  }
  std::set<std::string> made;
  for (uint32_t s = 0; s < 500; ++s) {
    Case c = WpCase(false);
    mutator.Mutate(c, s, 1 << 16);
    ASSERT_FALSE(mutator.last_moves().empty());
    for (const char* move : mutator.last_moves()) {
      EXPECT_TRUE(names.contains(move)) << move;
      made.insert(move);
    }
  }
  EXPECT_TRUE(made.contains("StaleAccess"));
  EXPECT_TRUE(made.contains("InvalidateSelectively"));
  EXPECT_TRUE(made.contains("MakeGlobal"));
}

// A move that has nothing to work on declines and leaves the case as it was.
TEST(CaseMutator, MovesDeclineWhereTheyDoNotApply) {
  CaseMutator mutator(FlipBytes);
  Rng rng(7);
  Case bare = WpCase(false);
  bare.mutable_setup()->clear_entries();
  bare.clear_ops();
  const std::string before = Bytes(bare);
  EXPECT_FALSE(mutator.StaleAccess(bare, rng));
  EXPECT_FALSE(mutator.InvalidateSelectively(bare, rng));
  EXPECT_FALSE(mutator.MakeGlobal(bare, rng));
  EXPECT_FALSE(mutator.DeleteOps(bare, rng));
  EXPECT_FALSE(mutator.UnsyncAndRewrite(bare, rng));
  EXPECT_FALSE(mutator.LinkTableTwice(bare, rng));
  EXPECT_FALSE(mutator.SwitchCachedRoot(bare, rng));
  Case not_4level = WpCase(false);
  EXPECT_FALSE(mutator.SwitchPcid(not_4level, rng));
  EXPECT_EQ(Bytes(bare), before);
  EXPECT_EQ(Bytes(not_4level), Bytes(WpCase(false)));
}

// A change used with no invalidation, then after one: access, write, access,
// an invalidating op, access, all of the same page.
TEST(CaseMutator, StaleAccessUsesAChangeBeforeAndAfterAnInvalidation) {
  CaseMutator mutator(FlipBytes);
  for (uint32_t s = 0; s < 50; ++s) {
    Rng rng(s);
    Case c = WpCase(false);
    const int before = c.ops_size();
    ASSERT_TRUE(mutator.StaleAccess(c, rng));
    ASSERT_EQ(c.ops_size(), before + 5);
    int w = 0;
    while (!c.ops(w).has_write_entry()) ++w;  // the only write: the move's
    ASSERT_GE(w, 1);
    ASSERT_LT(w + 3, c.ops_size());
    const Op& inv = c.ops(w + 2);
    EXPECT_TRUE(inv.has_invlpg() || inv.has_load_cr3() || inv.has_invpcid() ||
                (inv.has_set_control() && inv.set_control().bit() == CR4_PGE))
        << inv.DebugString();
    for (int i : {w - 1, w + 1, w + 3}) {
      const Op& a = c.ops(i);
      EXPECT_TRUE(a.has_load() || a.has_store() || a.has_fetch());
    }
  }
}

// The gva where entry `index` of the 32-bit PT 0x102 (under PDE 1) maps
// the PT itself, if a write_entry of the case makes it so.
std::optional<uint64_t> PtAlias(const Case& c) {
  for (const Op& op : c.ops()) {
    if (op.has_write_entry() && op.write_entry().table_gfn() == 0x102 &&
        op.write_entry().raw() >> 12 == 0x102) {
      return 0x400000 + uint64_t{op.write_entry().index()} * 0x1000;
    }
  }
  return std::nullopt;
}

// The guest rewrites live PTEs through its own mapping of the PT (made
// here, as the case has none), each store of a whole entry of PT 0x102.
TEST(CaseMutator, UnsyncAndRewriteStoresThroughAMappingOfThePt) {
  CaseMutator mutator(FlipBytes);
  for (uint32_t s = 0; s < 50; ++s) {
    Rng rng(s);
    Case c = WpCase(false);
    ASSERT_TRUE(mutator.UnsyncAndRewrite(c, rng));
    const std::optional<uint64_t> alias = PtAlias(c);
    ASSERT_TRUE(alias.has_value());
    int stores = 0;
    for (const Op& op : c.ops()) {
      if (!op.has_store() || (op.store().gva() & ~uint64_t{0xFFF}) != *alias) {
        continue;
      }
      ++stores;
      EXPECT_EQ(op.store().width(), 4u);
      EXPECT_LT(op.store().gva() & 0xFFF, 16u) << "a live PTE: 0 to 3";
      EXPECT_EQ(op.store().gva() % 4, 0u);
    }
    EXPECT_GE(stores, 1);
    EXPECT_LE(stores, 3);
  }
}

// The PT gets a second PDE (a copy of PDE 1 at another index), and a gva
// through the new PDE is accessed.
TEST(CaseMutator, LinkTableTwiceCopiesThePdeAndUsesIt) {
  CaseMutator mutator(FlipBytes);
  // PDE 1: PT 0x102, P|RW|US, with A set or not (as the loads before the
  // move's position leave it).
  constexpr uint64_t pde = 0x102007;
  constexpr uint64_t kAccessed = 0x20;
  for (uint32_t s = 0; s < 50; ++s) {
    Rng rng(s);
    Case c = WpCase(false);
    ASSERT_TRUE(mutator.LinkTableTwice(c, rng));
    int link = -1;
    for (int i = 0; i < c.ops_size(); ++i) {
      const Op& op = c.ops(i);
      if (op.has_write_entry() && op.write_entry().table_gfn() == 0x101) {
        link = i;
      }
    }
    ASSERT_GE(link, 0);
    ASSERT_LT(link + 1, c.ops_size());
    EXPECT_EQ(c.ops(link).write_entry().raw() & ~kAccessed, pde);
    const Op& use = c.ops(link + 1);
    const uint64_t gva = use.has_load()    ? use.load().gva()
                         : use.has_store() ? use.store().gva()
                                           : use.fetch().gva();
    EXPECT_EQ(gva >> 22, c.ops(link).write_entry().index());
    EXPECT_LT(gva & 0x3FFFFF, 0x4000u) << "a page a live PTE maps";
  }
}

// A copy of the root: switched to, back, a PTE rewritten through the PT's
// own mapping, and the copy (now cached by an MMU) switched to again.
TEST(CaseMutator, SwitchCachedRootGoesThereBackAndThereAgain) {
  CaseMutator mutator(FlipBytes);
  int made = 0;
  for (uint32_t s = 0; s < 50; ++s) {
    Rng rng(s);
    Case c = WpCase(false);
    if (!mutator.SwitchCachedRoot(c, rng)) continue;  // a live table drawn
    ++made;
    std::vector<uint64_t> cr3s;
    for (const Op& op : c.ops()) {
      if (op.has_load_cr3()) cr3s.push_back(op.load_cr3().gfn());
    }
    ASSERT_EQ(cr3s.size(), 3u);
    EXPECT_NE(cr3s[0], 0x101u);
    EXPECT_EQ(cr3s[1], 0x101u);
    EXPECT_EQ(cr3s[2], cr3s[0]);
    bool copied = false;
    for (const Op& op : c.ops()) {
      copied = copied || (op.has_write_entry() &&
                          op.write_entry().table_gfn() == cr3s[0] &&
                          op.write_entry().index() == 1);
    }
    EXPECT_TRUE(copied) << "the new root has PDE 1";
    EXPECT_TRUE(PtAlias(c).has_value() || c.ops_size() > 0);
  }
  EXPECT_GT(made, 40);
}

// 4-level: PCIDs go on with CR3[11:0] cleared first (else #GP, SDM 4.10.1).
TEST(CaseMutator, SwitchPcidClearsCr3LowBitsBeforeSettingPcide) {
  CaseMutator mutator(FlipBytes);
  Case c;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"(setup { mode: PAGING_4LEVEL
                 slots { base_gfn: 0x100 pages: 0x10 host_frame: 0x1000000 }
                 cr3 { gfn: 0x101 low_bits: 0x18 } })",
      &c));
  Rng rng(1);
  ASSERT_TRUE(mutator.SwitchPcid(c, rng));
  ASSERT_GE(c.ops_size(), 2);
  EXPECT_EQ(c.ops(0).load_cr3().low_bits(), 0u);
  EXPECT_EQ(c.ops(1).set_control().bit(), CR4_PCIDE);
  EXPECT_TRUE(c.ops(1).set_control().value());
}

// With PCIDs on, SwitchPcid may enter a new address space (a copy of the
// root) under another PCID, using one gva before and after the CR3 load: the
// pattern a host TLB kept across that load shows up in.
TEST(CaseMutator, SwitchPcidEntersANewAddressSpaceAroundOneGva) {
  CaseMutator mutator(FlipBytes);
  int entered = 0;
  for (uint32_t s = 0; s < 60; ++s) {
    Case c;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
        R"(setup { mode: PAGING_4LEVEL cr4_pcide: true
                   slots { base_gfn: 0x100 pages: 0x100 host_frame: 0x1000000 }
                   cr3 { gfn: 0x101 low_bits: 1 }
                   entries { table_gfn: 0x101 bits { present: true writable: true user: true target_gfn: 0x102 } }
                   entries { table_gfn: 0x102 bits { present: true writable: true user: true target_gfn: 0x103 } }
                   entries { table_gfn: 0x103 bits { present: true writable: true user: true target_gfn: 0x104 } }
                   entries { table_gfn: 0x104 bits { present: true writable: true user: true target_gfn: 0x110 } } }
           ops { load { gva: 0 width: 4 } })",
        &c));
    Normalize(c);
    Rng rng(s);
    ASSERT_TRUE(mutator.SwitchPcid(c, rng));
    for (int i = 1; i + 1 < c.ops_size(); ++i) {
      const Op& load = c.ops(i);
      if (!load.has_load_cr3() || load.load_cr3().gfn() == 0x101) continue;
      EXPECT_NE(load.load_cr3().low_bits(), 1u) << "another PCID";
      auto gva_of = [](const Op& op) {
        return op.has_load()    ? op.load().gva()
               : op.has_store() ? op.store().gva()
                                : op.fetch().gva();
      };
      const Op& before = c.ops(i - 1);
      const Op& after = c.ops(i + 1);
      ASSERT_TRUE(before.has_load() || before.has_store() ||
                  before.has_fetch());
      ASSERT_TRUE(after.has_load() || after.has_store() || after.has_fetch());
      EXPECT_EQ(gva_of(before) >> 12, gva_of(after) >> 12);
      ++entered;
    }
  }
  EXPECT_GT(entered, 10);
}

// Under -minimize_crash libFuzzer asks for inputs smaller than the crash:
// the mutator must then only delete.
TEST(CaseMutator, ShrinksUnderATightBudget) {
  CaseMutator mutator(FlipBytes);
  for (const Case& seed : testing::SeedCases()) {
    const size_t size = Bytes(seed).size();
    Case c = seed;
    mutator.Mutate(c, 99, size - 1);
    const std::string bytes = Bytes(c);
    ASSERT_LT(bytes.size(), size);
    // Only deletions: the remaining ops are a subsequence of the original.
    int next = 0;
    for (const Op& op : c.ops()) {
      while (next < seed.ops_size() &&
             seed.ops(next).SerializeAsString() != op.SerializeAsString()) {
        ++next;
      }
      ASSERT_LT(next, seed.ops_size()) << "op not in the original";
      ++next;
    }
  }
}

}  // namespace
}  // namespace shadowdiff
