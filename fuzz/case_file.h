#ifndef SHADOWDIFF_FUZZ_CASE_FILE_H_
#define SHADOWDIFF_FUZZ_CASE_FILE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/case.pb.h"

namespace shadowdiff {

// Text format for names ending in .textproto, .txtpb or .pbtxt; binary
// otherwise (libFuzzer's crash files have no extension).
bool IsTextCaseName(std::string_view path);

// Parses a case; errors name `source` and the line and column (text) or the
// byte offset (binary) where parsing failed.
absl::StatusOr<Case> ParseTextCase(std::string_view text,
                                   std::string_view source);
absl::StatusOr<Case> ParseBinaryCase(std::string_view bytes,
                                     std::string_view source);

absl::StatusOr<Case> ReadCaseFile(const std::string& path);
// Text files may start with a header of `#` comment lines.
absl::Status WriteCaseFile(const std::string& path, const Case& c,
                           std::string_view text_header = "");

// The case files named by paths: files as they are; in directories,
// recursively and sorted, the files named like cases (text names above, .pb,
// .binpb, or no extension as libFuzzer writes them), hidden ones skipped.
// Fails on a path that does not exist.
absl::StatusOr<std::vector<std::string>> ListCaseFiles(
    const std::vector<std::string>& paths);

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_CASE_FILE_H_
