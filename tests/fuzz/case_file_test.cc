#include "fuzz/case_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fuzz/report.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace shadowdiff {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Case SmallCase() {
  Case c;
  c.mutable_setup()->set_mode(PAGING_4LEVEL);
  c.mutable_setup()->add_slots()->set_pages(3);
  c.add_ops()->mutable_fetch()->set_gva(0x7000);
  return c;
}

std::string Binary(const Case& c) {
  std::string bytes;
  EXPECT_TRUE(c.SerializeToString(&bytes));
  return bytes;
}

// A fresh empty directory for one test.
fs::path TestDir() {
  const fs::path dir =
      fs::path(::testing::TempDir()) /
      absl::StrCat(
          "case_file_",
          ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string WriteBytes(const fs::path& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

std::string MakeFifo(const fs::path& path) {
  EXPECT_EQ(::mkfifo(path.c_str(), 0600), 0) << path;
  return path.string();
}

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

TEST(CaseFile, NamesDecideTheWrittenFormat) {
  EXPECT_TRUE(IsTextCaseName("a/b.textproto"));
  EXPECT_TRUE(IsTextCaseName("b.txtpb"));
  EXPECT_TRUE(IsTextCaseName("b.pbtxt"));
  EXPECT_FALSE(IsTextCaseName("crash-0123abcd"));
  EXPECT_FALSE(IsTextCaseName("case.pb"));
}

TEST(CaseFile, WritesAndReadsBothFormats) {
  const Case c = SmallCase();
  const fs::path dir = TestDir();
  for (const char* name : {"round.textproto", "round.pb", "round.bin"}) {
    const std::string path = (dir / name).string();
    ASSERT_TRUE(WriteCaseFile(path, c).ok());
    absl::StatusOr<Case> back = ReadCaseFile(path);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->SerializeAsString(), c.SerializeAsString()) << name;
  }
  std::ifstream in(dir / "round.bin", std::ios::binary);
  const std::string written{std::istreambuf_iterator<char>(in), {}};
  EXPECT_EQ(written, Binary(c)) << "a .bin name is written in binary";
}

TEST(CaseFile, LooksLikeTextFromTheBytes) {
  EXPECT_TRUE(LooksLikeText("setup {\n\tmode: PAGING_PAE\r\n}\n"));
  EXPECT_TRUE(LooksLikeText("# gva → gpa, 4 KB page, §4.5\n"));
  EXPECT_FALSE(LooksLikeText(""));
  EXPECT_FALSE(LooksLikeText(Binary(SmallCase())));
  EXPECT_FALSE(LooksLikeText(std::string("setup {}\0", 9)));
  EXPECT_FALSE(LooksLikeText("# form\ffeed\n"));
  EXPECT_FALSE(LooksLikeText("# \x7f\n"));
  EXPECT_FALSE(LooksLikeText("# \x80 a stray continuation byte\n"));
  EXPECT_FALSE(LooksLikeText("# \xe2\x86 a cut sequence\n"));
  EXPECT_FALSE(LooksLikeText("# cut at the end \xe2\x86"));
}

TEST(CaseFile, TextWithoutExtensionReadsAsText) {
  // As libFuzzer writes a crash from a text seed.
  const Case c = SmallCase();
  const std::string path =
      WriteBytes(TestDir() / "crash-0123abcd", "# a seed\n" + CaseText(c));
  absl::StatusOr<Case> back = ReadCaseFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->SerializeAsString(), c.SerializeAsString());
}

TEST(CaseFile, BinaryNamedAsTextReadsAsBinary) {
  const Case c = SmallCase();
  const std::string path = WriteBytes(TestDir() / "case.textproto", Binary(c));
  absl::StatusOr<Case> back = ReadCaseFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->SerializeAsString(), c.SerializeAsString());
}

TEST(CaseFile, PrintableBinaryFallsBackToBinary) {
  // setup (tag '\n') of 10 bytes: gbpages (tag '(') = '!' five times, a
  // non-zero varint, so true. Every byte is printable, and it is not text.
  const std::string bytes = "\n\n(!(!(!(!(!";
  ASSERT_TRUE(LooksLikeText(bytes));
  ASSERT_FALSE(ParseTextCase(bytes, "x").ok());
  absl::StatusOr<Case> c = ReadCaseFile(WriteBytes(TestDir() / "crash", bytes));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->setup().gbpages());
}

TEST(CaseFile, TextLookingBytesParseAsTextFirst) {
  // "#$": as text a comment, an empty case; as binary an empty group (field
  // 4), which parses into an unknown field.
  const std::string bytes = "#$";
  absl::StatusOr<Case> binary = ParseBinaryCase(bytes, "x");
  ASSERT_TRUE(binary.ok());
  ASSERT_EQ(binary->SerializeAsString(), bytes);
  absl::StatusOr<Case> c = ReadCaseFile(WriteBytes(TestDir() / "t.pb", bytes));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->SerializeAsString(), "");
}

TEST(CaseFile, WhenBothFailTheContentPicksTheError) {
  const fs::path dir = TestDir();
  absl::StatusOr<Case> text = ReadCaseFile(WriteBytes(
      dir / "crash-1", "setup {\n  mode: PAGING_PAE\n  bogus: 1\n}\n"));
  ASSERT_FALSE(text.ok());
  EXPECT_THAT(std::string(text.status().message()),
              HasSubstr((dir / "crash-1").string() + ":3:"));
  EXPECT_THAT(std::string(text.status().message()), HasSubstr("bogus"));

  const std::string binary = Binary(SmallCase());
  absl::StatusOr<Case> cut = ReadCaseFile(
      WriteBytes(dir / "cut.textproto", binary.substr(0, binary.size() - 1)));
  ASSERT_FALSE(cut.ok());
  EXPECT_THAT(std::string(cut.status().message()),
              HasSubstr("cut.textproto: not a binary shadowdiff.Case: "
                        "malformed or truncated field at byte offset"));
}

TEST(CaseFile, FifoIsRefusedWithoutWaitingForAWriter) {
  const std::string fifo = MakeFifo(TestDir() / "fifo");
  auto read =
      std::async(std::launch::async, [&] { return ReadCaseFile(fifo); });
  if (read.wait_for(std::chrono::seconds(10)) == std::future_status::timeout) {
    ADD_FAILURE() << "ReadCaseFile blocks on a FIFO";
    // Lets the blocked open return, so that the test ends.
    ::close(::open(fifo.c_str(), O_WRONLY));
  }
  const absl::StatusOr<Case> c = read.get();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(), fifo + ": is not a regular file (a FIFO)");
}

TEST(CaseFile, DirectoryAndDevicesAreRefused) {
  const std::string dir = TestDir().string();
  absl::StatusOr<Case> c = ReadCaseFile(dir);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(), dir + ": is a directory");

  c = ReadCaseFile("/dev/zero");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(),
            "/dev/zero: is not a regular file (a character device)");
}

TEST(CaseFile, MissingFileIsNotFound) {
  const std::string path = (TestDir() / "missing").string();
  absl::StatusOr<Case> c = ReadCaseFile(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(c.status().message(), path + ": no such file or directory");
}

TEST(CaseFile, SymlinkToACaseIsFollowed) {
  const fs::path dir = TestDir();
  ASSERT_TRUE(WriteCaseFile((dir / "case.pb").string(), SmallCase()).ok());
  fs::create_symlink("case.pb", dir / "link");
  absl::StatusOr<Case> c = ReadCaseFile((dir / "link").string());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->SerializeAsString(), SmallCase().SerializeAsString());
}

TEST(CaseFile, SizeLimit) {
  const fs::path dir = TestDir();
  // Whitespace is an empty text case: the largest file read is the limit.
  absl::StatusOr<Case> at_limit = ReadCaseFile(
      WriteBytes(dir / "at_limit", std::string(kMaxCaseFileBytes, ' ')));
  EXPECT_TRUE(at_limit.ok()) << at_limit.status();

  const std::string over =
      WriteBytes(dir / "over", std::string(kMaxCaseFileBytes + 1, ' '));
  absl::StatusOr<Case> c = ReadCaseFile(over);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(),
            over + ": 1048577 bytes, over the 1 MiB limit for a case file");
}

TEST(CaseFile, MissingPathIsAnError) {
  absl::StatusOr<CaseFileList> list =
      ListCaseFiles({"/nonexistent/shadowdiff"});
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().code(), absl::StatusCode::kNotFound);
}

TEST(CaseFile, WalkTakesEveryRegularFileSortedAndListsWhatItSkips) {
  const fs::path dir = TestDir();
  const std::string d = dir.string();
  // Made in sorted order: tmpfs and ext4 list a directory in another order.
  for (const char* name : {"a.bin", "b", "c.textproto", "d.txt", "e.pb"}) {
    WriteBytes(dir / name, "");
  }
  fs::create_directories(dir / "sub" / "deeper");
  WriteBytes(dir / "sub" / "deeper" / "f", "");
  WriteBytes(dir / "sub" / "g", "");
  fs::create_directories(dir / ".git" / "objects");
  WriteBytes(dir / ".git" / "HEAD", "");
  WriteBytes(dir / ".hidden.textproto", "");
  MakeFifo(dir / "fifo");
  fs::create_symlink("a.bin", dir / "link_to_file");
  fs::create_symlink("sub", dir / "link_to_dir");
  fs::create_symlink("missing", dir / "broken_link");

  absl::StatusOr<CaseFileList> list = ListCaseFiles({d});
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_THAT(list->files,
              ElementsAre(d + "/a.bin", d + "/b", d + "/c.textproto",
                          d + "/d.txt", d + "/e.pb", d + "/link_to_file",
                          d + "/sub/deeper/f", d + "/sub/g"));
  EXPECT_THAT(list->skipped,
              ElementsAre(d + "/.git: hidden", d + "/.hidden.textproto: hidden",
                          d + "/broken_link: broken symbolic link",
                          d + "/fifo: not a regular file (a FIFO)",
                          d + "/link_to_dir: symbolic link to a directory, "
                              "not followed"));
}

TEST(CaseFile, ExplicitPathsKeepTheirOrderAndMustBeCaseFiles) {
  const fs::path dir = TestDir();
  const std::string z = WriteBytes(dir / "z", "");
  const std::string hidden = WriteBytes(dir / ".hidden", "");
  absl::StatusOr<CaseFileList> list = ListCaseFiles({z, hidden});
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_THAT(list->files, ElementsAre(z, hidden));
  EXPECT_THAT(list->skipped, ElementsAre());

  const std::string fifo = MakeFifo(dir / "fifo");
  list = ListCaseFiles({z, fifo});
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(list.status().message(), fifo + ": is not a regular file (a FIFO)");

  list = ListCaseFiles({"/dev/zero"});
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CaseFile, EmptyDirectoryListsNothing) {
  absl::StatusOr<CaseFileList> list = ListCaseFiles({TestDir().string()});
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_THAT(list->files, ElementsAre());
  EXPECT_THAT(list->skipped, ElementsAre());
}

}  // namespace
}  // namespace shadowdiff
