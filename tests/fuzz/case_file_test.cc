#include "fuzz/case_file.h"

#include <cstdio>
#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace shadowdiff {
namespace {

using ::testing::HasSubstr;

TEST(CaseFile, TextErrorNamesLineAndColumn) {
  // Line 3, column 9 is where the unknown field name starts.
  const std::string text = "setup {\n  mode: PAGING_PAE\n  bogus: 1\n}\n";
  absl::StatusOr<Case> c = ParseTextCase(text, "broken.textproto");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr("broken.textproto:3:"));
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("bogus"));
}

TEST(CaseFile, TruncatedBinaryNamesTheOffset) {
  Case c;
  c.mutable_setup()->add_slots()->set_pages(3);
  c.add_ops()->mutable_load()->set_gva(0x1234);
  std::string bytes;
  ASSERT_TRUE(c.SerializeToString(&bytes));
  // The setup field is 2 header bytes + its body; cutting inside the second
  // top-level field (the op, which starts right after) leaves it truncated.
  const size_t op_offset = 2 + static_cast<size_t>(bytes[1]);
  absl::StatusOr<Case> parsed =
      ParseBinaryCase(bytes.substr(0, bytes.size() - 1), "cut.pb");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(std::string(parsed.status().message()),
              HasSubstr("cut.pb: not a binary shadowdiff.Case"));
  EXPECT_THAT(std::string(parsed.status().message()),
              HasSubstr("byte offset " + std::to_string(op_offset)));
}

TEST(CaseFile, NamesDecideTheFormat) {
  EXPECT_TRUE(IsTextCaseName("a/b.textproto"));
  EXPECT_TRUE(IsTextCaseName("b.txtpb"));
  EXPECT_FALSE(IsTextCaseName("crash-0123abcd"));
  EXPECT_FALSE(IsTextCaseName("case.pb"));
}

TEST(CaseFile, WritesAndReadsBothFormats) {
  Case c;
  c.mutable_setup()->set_mode(PAGING_4LEVEL);
  c.add_ops()->mutable_fetch()->set_gva(0x7000);
  const std::filesystem::path dir = ::testing::TempDir();
  for (const char* name : {"round.textproto", "round.pb"}) {
    const std::string path = (dir / name).string();
    ASSERT_TRUE(WriteCaseFile(path, c).ok());
    absl::StatusOr<Case> back = ReadCaseFile(path);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->SerializeAsString(), c.SerializeAsString()) << name;
  }
}

TEST(CaseFile, MissingPathIsAnError) {
  EXPECT_FALSE(ListCaseFiles({"/nonexistent/shadowdiff"}).ok());
}

}  // namespace
}  // namespace shadowdiff
