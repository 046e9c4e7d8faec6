#include "proto/normalize.h"

#include <random>
#include <string>

#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "proto/limits.h"

namespace shadowdiff {
namespace {

using google::protobuf::util::MessageDifferencer;

// Fills every field of m with random values, whatever its type: enums get
// out-of-range numbers too, repeated fields up to a few hundred elements.
void RandomFill(google::protobuf::Message& m, std::mt19937_64& rng) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Descriptor* d = m.GetDescriptor();
  const google::protobuf::Reflection* r = m.GetReflection();
  auto value = [&rng]() -> uint64_t {
    switch (rng() % 4) {
      case 0:
        return rng() % 16;
      case 1:
        return rng() % 5000;
      case 2:
        return ~uint64_t{0} - rng() % 16;
      default:
        return rng();
    }
  };
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (rng() % 3 == 0) continue;
    const int count = f->is_repeated() ? static_cast<int>(rng() % 300) : 1;
    for (int n = 0; n < count; ++n) {
      switch (f->cpp_type()) {
        case FieldDescriptor::CPPTYPE_MESSAGE: {
          google::protobuf::Message* sub = f->is_repeated()
                                               ? r->AddMessage(&m, f)
                                               : r->MutableMessage(&m, f);
          if (rng() % 4 != 0) RandomFill(*sub, rng);
          break;
        }
        case FieldDescriptor::CPPTYPE_UINT64:
          f->is_repeated() ? r->AddUInt64(&m, f, value())
                           : r->SetUInt64(&m, f, value());
          break;
        case FieldDescriptor::CPPTYPE_UINT32:
          f->is_repeated()
              ? r->AddUInt32(&m, f, static_cast<uint32_t>(value()))
              : r->SetUInt32(&m, f, static_cast<uint32_t>(value()));
          break;
        case FieldDescriptor::CPPTYPE_BOOL:
          r->SetBool(&m, f, rng() % 2);
          break;
        case FieldDescriptor::CPPTYPE_ENUM:
          r->SetEnumValue(&m, f, static_cast<int>(value()));
          break;
        case FieldDescriptor::CPPTYPE_STRING:
          r->SetString(&m, f, std::string(rng() % 600, 'a' + rng() % 26));
          break;
        default:
          FAIL() << "field type the test does not fill: " << f->full_name();
      }
    }
  }
}

TEST(Normalize, IsIdempotentOnArbitraryMessages) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 300; ++i) {
    Case c;
    RandomFill(c, rng);
    Normalize(c);
    Case again = c;
    Normalize(again);
    ASSERT_TRUE(MessageDifferencer::Equals(c, again)) << c.DebugString();
  }
}

TEST(Normalize, IsIdempotentOnStructuredExtremes) {
  Case c;
  shadowdiff::Setup& s = *c.mutable_setup();
  s.set_mode(static_cast<PagingMode>(7));
  s.set_gbpages(true);
  for (int i = 0; i < 6; ++i) {
    MemorySlot& slot = *s.add_slots();
    slot.set_base_gfn(~uint64_t{0} - i);
    slot.set_pages(1000 + i);
    slot.set_host_frame(i);
  }
  for (int i = 0; i < 300; ++i) {
    Op& op = *c.add_ops();
    switch (i % 4) {
      case 0:
        op.mutable_store()->set_gva(~uint64_t{0} - i);
        op.mutable_store()->set_width(i);
        op.mutable_store()->set_value(~uint64_t{0});
        break;
      case 1:
        op.mutable_phys_write()->set_gpa(0xFFF +
                                         (static_cast<uint64_t>(i) << 40));
        op.mutable_phys_write()->set_length(i);
        op.mutable_phys_write()->set_value(~uint64_t{0});
        break;
      case 2:
        op.mutable_write_entry()->set_index(5000 + i);
        op.mutable_write_entry()->mutable_bits()->set_target_gfn(~uint64_t{0});
        break;
      case 3:
        break;  // no kind: dropped
    }
  }
  Normalize(c);
  Case again = c;
  Normalize(again);
  EXPECT_TRUE(MessageDifferencer::Equals(c, again));
}

TEST(Normalize, MapsFieldsOntoTheirRanges) {
  Case c;
  shadowdiff::Setup& s = *c.mutable_setup();
  s.set_mode(PAGING_32BIT);
  s.set_gbpages(true);
  MemorySlot& slot = *s.add_slots();
  slot.set_base_gfn(5);
  slot.set_pages(300);          // 1 + 299 % 256 = 44
  slot.set_host_frame(0x1234);  // below 2^24: moved up
  MemorySlot& overlapping = *s.add_slots();
  overlapping.set_base_gfn(10);
  overlapping.set_pages(1);
  overlapping.set_host_frame(0x2000000);
  s.mutable_cr3()->set_gfn(0x1'0000'0123);  // 32-bit CR3: mod 2^20 -> 0x123
  Store& store = *c.add_ops()->mutable_store();
  store.set_gva(0x1'2345'6787);  // 32 bits, then aligned to 4
  store.set_width(4);
  store.set_value(0x1'2345'6789);
  PhysWrite& pw = *c.add_ops()->mutable_phys_write();
  pw.set_gpa(0x5FFE);
  pw.set_length(8);  // would cross the page: moved to 0x5FF8
  c.add_ops();       // empty: dropped
  Normalize(c);
  EXPECT_FALSE(c.setup().gbpages());
  ASSERT_EQ(c.setup().slots_size(), 1);
  EXPECT_EQ(c.setup().slots(0).pages(), 44u);
  EXPECT_GE(c.setup().slots(0).host_frame(), limits::kHostFrameBase);
  EXPECT_EQ(c.setup().cr3().gfn(), 0x123u);
  ASSERT_EQ(c.ops_size(), 2);
  EXPECT_EQ(c.ops(0).store().gva(), 0x2345'6784u);
  EXPECT_EQ(c.ops(0).store().value(), 0x2345'6789u);
  EXPECT_EQ(c.ops(1).phys_write().gpa(), 0x5FF8u);
}

TEST(Normalize, KeepsTheFirstSlotsThatFitInTheirOrder) {
  Case c;
  auto add = [&c](uint64_t gfn, uint32_t pages, uint64_t host_offset) {
    MemorySlot& slot = *c.mutable_setup()->add_slots();
    slot.set_base_gfn(gfn);
    slot.set_pages(pages);
    slot.set_host_frame(limits::kHostFrameBase + host_offset);
  };
  add(0, 4, 0);     // kept
  add(2, 1, 100);   // gfn 2 is the first slot's
  add(10, 2, 200);  // kept
  add(60, 0, 600);  // no pages
  add(50, 1, 201);  // host frame 201 is the third slot's
  add(20, 1, 300);  // kept
  add(30, 1, 400);  // kept
  add(40, 1, 500);  // fits, but four slots are kept already
  Normalize(c);
  ASSERT_EQ(c.setup().slots_size(), limits::kMaxSlots);
  const uint64_t kept_gfns[] = {0, 10, 20, 30};
  for (int i = 0; i < limits::kMaxSlots; ++i) {
    EXPECT_EQ(c.setup().slots(i).base_gfn(), kept_gfns[i]) << "slot " << i;
  }
  EXPECT_EQ(c.setup().slots(0).pages(), 4u);
  EXPECT_EQ(c.setup().slots(1).host_frame(), limits::kHostFrameBase + 200);
}

TEST(Normalize, CanonicalizesFourLevelAddresses) {
  Case c;
  c.mutable_setup()->set_mode(PAGING_4LEVEL);
  c.add_ops()->mutable_fetch()->set_gva(0x0000'8000'0000'1000);
  c.add_ops()->mutable_invlpg()->set_gva(0x1234'7FFF'FFFF'F000);
  Normalize(c);
  EXPECT_EQ(c.ops(0).fetch().gva(), 0xFFFF'8000'0000'1000u);
  EXPECT_EQ(c.ops(1).invlpg().gva(), 0x0000'7FFF'FFFF'F000u);
}

TEST(Normalize, CaseWithoutSlotsIsEmpty) {
  Case c;
  c.mutable_setup()->add_slots()->set_pages(0);
  Normalize(c);
  EXPECT_TRUE(IsEmpty(c));
}

// A case file's recorded run settings are kept, cut to a bounded length; an
// unknown host TLB value reads as the default, tagged.
TEST(Normalize, BoundsTheRecordedRunSettings) {
  Case c;
  c.mutable_run()->set_mmu("shadow");
  c.mutable_run()->set_switches(std::string(300, 'x'));
  c.mutable_run()->set_host_tlb(static_cast<HostTlb>(7));
  Normalize(c);
  EXPECT_EQ(c.run().mmu(), "shadow");
  EXPECT_EQ(c.run().switches(), std::string(limits::kMaxRunConfigString, 'x'));
  EXPECT_EQ(c.run().host_tlb(), HOST_TLB_TAGGED);
  c.mutable_run()->set_host_tlb(HOST_TLB_UNTAGGED);
  Normalize(c);
  EXPECT_EQ(c.run().host_tlb(), HOST_TLB_UNTAGGED);
}

}  // namespace
}  // namespace shadowdiff
