#include "tests/fuzz/seed_cases.h"

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fuzz/case_file.h"
#include "gtest/gtest.h"
#include "proto/normalize.h"

namespace shadowdiff::testing {

std::vector<Case> SeedCases() {
  std::vector<Case> seeds;
  auto files = ListCaseFiles({SHADOWDIFF_SOURCE_DIR "/corpus/seeds"});
  EXPECT_TRUE(files.ok());
  for (const std::string& file : files->files) {
    absl::StatusOr<Case> c = ReadCaseFile(file);
    EXPECT_TRUE(c.ok()) << c.status();
    Normalize(*c);
    seeds.push_back(*c);
  }
  EXPECT_GE(seeds.size(), 40u);
  return seeds;
}

}  // namespace shadowdiff::testing
