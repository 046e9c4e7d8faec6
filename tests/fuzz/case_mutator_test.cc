#include "fuzz/case_mutator.h"

#include <filesystem>
#include <string>
#include <vector>

#include "fuzz/case_file.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "proto/normalize.h"

namespace shadowdiff {
namespace {

// Stands in for LLVMFuzzerMutate, which only exists inside libFuzzer: a
// deterministic byte change.
size_t FlipBytes(uint8_t* data, size_t size, size_t max_size) {
  for (size_t i = 0; i < size; i += 3)
    data[i] ^= static_cast<uint8_t>(0x5A + i);
  return size;
}

std::vector<Case> Seeds() {
  std::vector<Case> seeds;
  auto files = ListCaseFiles({SHADOWDIFF_SOURCE_DIR "/corpus/seeds"});
  EXPECT_TRUE(files.ok());
  for (const std::string& file : *files) {
    absl::StatusOr<Case> c = ReadCaseFile(file);
    EXPECT_TRUE(c.ok()) << c.status();
    Normalize(*c);
    seeds.push_back(*c);
  }
  EXPECT_GE(seeds.size(), 40u);
  return seeds;
}

std::string Bytes(const Case& c) { return c.SerializeAsString(); }

TEST(CaseMutator, IsDeterministicForASeed) {
  CaseMutator mutator(FlipBytes);
  for (const Case& seed : Seeds()) {
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
  const std::vector<Case> seeds = Seeds();
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
  const std::vector<Case> seeds = Seeds();
  Case out;
  mutator.CrossOver(seeds[0], seeds[1], 7, 1 << 16, out);
  EXPECT_GT(out.ops_size(), seeds[0].ops_size());
  Case normalized = out;
  Normalize(normalized);
  EXPECT_EQ(Bytes(normalized), Bytes(out));
}

// The access of the first ops [i, i + 3) of c that are: an access, the
// toggle, the same access again; nullptr if there are none.
const Op* ToggleBetweenAccesses(const Case& c, ControlBit bit, bool value,
                                Op::KindCase access) {
  for (int i = 0; i + 2 < c.ops_size(); ++i) {
    const Op& before = c.ops(i);
    const Op& toggle = c.ops(i + 1);
    if (before.kind_case() == access && toggle.has_set_control() &&
        toggle.set_control().bit() == bit &&
        toggle.set_control().value() == value &&
        c.ops(i + 2).SerializeAsString() == before.SerializeAsString()) {
      return &before;
    }
  }
  return nullptr;
}

// A control bit left out of the shadow role shows only when shadows the bit
// decides are live at the toggle: the mutator builds such cases, e.g. a
// supervisor write with CR0.WP clear, the toggle, the write again.
TEST(CaseMutator, TogglesAControlBetweenAccessesItDecides) {
  constexpr char kCase[] = R"pb(
    setup {
      mode: PAGING_32BIT
      slots { base_gfn: 0x100 pages: 0x100 host_frame: 0x1000000 }
      cr3 { gfn: 0x101 }
      entries {
        table_gfn: 0x101
        index: 1
        bits { present: true writable: true user: true target_gfn: 0x102 }
      }
      entries {
        table_gfn: 0x102
        index: 0
        bits { present: true user: true target_gfn: 0x110 }
      }
    }
    ops { load { gva: 0x400000 width: 4 } }
  )pb";
  Case seed;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(kCase, &seed));
  Normalize(seed);
  CaseMutator mutator(FlipBytes);
  int found = 0;
  for (uint32_t s = 0; s < 3000; ++s) {
    Case c = seed;
    mutator.Mutate(c, s, 1 << 16);
    const Op* store = ToggleBetweenAccesses(c, CR0_WP, true, Op::kStore);
    if (store == nullptr) continue;
    ++found;
    EXPECT_FALSE(store->store().user()) << "a user write ignores CR0.WP";
  }
  EXPECT_GT(found, 0);
}

// Under -minimize_crash libFuzzer asks for inputs smaller than the crash:
// the mutator must then only delete.
TEST(CaseMutator, ShrinksUnderATightBudget) {
  CaseMutator mutator(FlipBytes);
  for (const Case& seed : Seeds()) {
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
